"""Council social care: a case-management SQL database keyed by council person id."""

from adapters.council.adapter import CouncilAdapter

__all__ = ["CouncilAdapter"]
