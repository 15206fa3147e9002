"""Gateway configuration: where policy, audit and each agency system are.

Kept to one dataclass so every component receives its settings explicitly;
file and environment loading build this object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AgencyEndpoints:
    council_db: Path
    benefits_url: str


@dataclass(frozen=True)
class GatewayConfig:
    state_dir: Path
    agencies: AgencyEndpoints
    policy_dir: Path = REPO_ROOT / "policies"
    policy_timeout_s: float = 1.0
    agency_timeout_s: float = 2.0
    policy_engine: str = "embedded"
    """``embedded`` (regopy, in-process) or ``opa`` (an OPA server over its REST API)."""
    opa_url: str | None = None
    """With ``policy_engine="opa"``: use this OPA server; unset, the gateway starts its own."""

    @property
    def audit_db(self) -> Path:
        return self.state_dir / "audit.sqlite"
