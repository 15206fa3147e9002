"""Police: a legacy SOAP 1.1/XML nominal-record service keyed by PNC id."""

from adapters.police.adapter import PoliceAdapter

__all__ = ["PoliceAdapter"]
