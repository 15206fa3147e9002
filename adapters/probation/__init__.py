"""Probation: a GraphQL API keyed by case reference number (CRN)."""

from adapters.probation.adapter import ProbationAdapter

__all__ = ["ProbationAdapter"]
