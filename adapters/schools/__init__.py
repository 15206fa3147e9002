"""Schools: a REST/JSON pupil service. The UPN is education-use only and never leaves it."""

from adapters.schools.adapter import SchoolsAdapter

__all__ = ["SchoolsAdapter"]
