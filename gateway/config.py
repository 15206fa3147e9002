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
class ObservabilityConfig:
    """How the gateway reports on itself: logs, traces and metrics.

    Nothing here may carry personal data: spans, metrics and logs name agencies,
    operations and outcomes, never people, identifiers or field values.
    """

    log_format: str = "text"  # "text" | "json"
    log_level: str = "INFO"
    traces: str = "none"  # "none" | "console" | "otlp"
    otlp_endpoint: str | None = None
    service_name: str = "joinedup"
    metrics: bool = True


@dataclass(frozen=True)
class GatewayConfig:
    state_dir: Path
    agencies: AgencyEndpoints
    policy_dir: Path = REPO_ROOT / "policies"
    policy_timeout_s: float = 1.0
    agency_timeout_s: float = 2.0
    graphiql: bool = True
    introspection: bool = True
    # Agencies whose outage makes /readyz fail; the others only show as degraded.
    ready_requires_agencies: tuple[str, ...] = ()
    observability: ObservabilityConfig = ObservabilityConfig()

    @property
    def audit_db(self) -> Path:
        return self.state_dir / "audit.sqlite"
