"""Probation: a GraphQL API (graphene) over offender case records."""
