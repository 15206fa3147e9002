"""Housing: a REST/JSON tenancy and homelessness service keyed by housing reference."""

from adapters.housing.adapter import HousingAdapter

__all__ = ["HousingAdapter"]
