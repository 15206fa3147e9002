"""How the gateway reports on itself: traces, metrics, structured logs, request ids.

One module per concern. Everything recorded names agencies, operations,
engines and outcomes only: never a person, an identifier or a field value.
"""
