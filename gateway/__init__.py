"""The gateway: HTTP edge, authentication, policy engines, audit, configuration and CLI."""
