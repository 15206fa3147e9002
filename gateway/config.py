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
    # Demo mode: tokens come from the local dev key, and the caseworker page may
    # sign in as a demo user (gateway/demo_login.py). Production mode turns it off.
    demo_mode: bool = True

    @property
    def audit_db(self) -> Path:
        return self.state_dir / "audit.sqlite"
