"""NHS: a FHIR R4 REST server keyed by NHS number."""

from adapters.nhs.adapter import NhsAdapter

__all__ = ["NhsAdapter"]
