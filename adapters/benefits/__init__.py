"""Benefits agency: a REST/JSON service keyed by National Insurance number."""

from adapters.benefits.adapter import BenefitsAdapter

__all__ = ["BenefitsAdapter"]
