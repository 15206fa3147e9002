"""The demo world: a synthetic population and the agency systems that hold it.

Nothing here is part of the gateway: these are stand-ins for real agency
systems, each run as its own process or database, so that adapters talk to
something real over their own protocol.
"""
