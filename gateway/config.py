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
    # sqlite:///path (default: audit.sqlite in the state folder) or postgresql://...
    audit_dsn: str | None = None
    audit_checkpoint_every: int = 1000
    # Where OPA-format decision log lines go: a file path, "-" for stdout, None for nowhere.
    decision_log: str | None = None

    @property
    def audit_store_dsn(self) -> str:
        return self.audit_dsn or "sqlite:///" + str((self.state_dir / "audit.sqlite").resolve())
