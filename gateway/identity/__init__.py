"""Identity resolution: one person across agency systems, by identifiers and demographics.

Strong identifiers held by two agencies link records deterministically; where
they are missing, demographics are compared with a Fellegi-Sunter model whose
output is a calibrated match probability. Nothing here stores agency data.
"""

from adapters.sdk.demographics import Demographics
from gateway.identity.model import MatchModel, MatchScore

__all__ = ["Demographics", "MatchModel", "MatchScore"]
