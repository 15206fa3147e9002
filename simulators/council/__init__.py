"""The council's case-management database: one schema, on SQLite or PostgreSQL."""

from simulators.council.schema import SCHEMA, TABLES, copy_to_postgres

__all__ = ["SCHEMA", "TABLES", "copy_to_postgres"]
