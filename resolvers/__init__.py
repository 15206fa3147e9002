"""The GraphQL schema, composed from the enabled adapters, and its resolvers."""

from resolvers.context import RequestContext
from resolvers.schema import GatewaySchema, build_schema

__all__ = ["GatewaySchema", "RequestContext", "build_schema"]
