"""Gateway configuration: where policy, audit and each agency system are, and how hard
the gateway defends itself.

Kept to a few dataclasses so every component receives its settings explicitly;
file and environment loading build these objects. ``mode`` switches between the
demo (dev signing key, GraphiQL, introspection) and production (JWKS only, no
GraphiQL, no introspection, persisted queries if a manifest is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parent.parent

Mode = Literal["demo", "production"]


class ConfigError(ValueError):
    """The configuration cannot be served; the message says which setting is wrong."""


@dataclass(frozen=True)
class AgencyEndpoints:
    council_db: Path
    benefits_url: str


@dataclass(frozen=True)
class ResilienceSettings:
    """How the gateway treats each agency system (see ``gateway/resilience.py``).

    ``agency_timeouts_s`` overrides ``GatewayConfig.agency_timeout_s`` per agency.
    """

    agency_timeouts_s: Mapping[str, float] = field(default_factory=dict)
    request_deadline_s: float = 5.0
    retry_attempts: int = 3
    retry_initial_s: float = 0.05
    retry_max_s: float = 0.5
    retry_jitter_s: float = 0.05
    breaker_threshold: int = 5
    breaker_reset_s: float = 5.0
    max_concurrent_per_agency: int = 32


@dataclass(frozen=True)
class RequestLimits:
    """Limits on one GraphQL request; each rejection names the limit it hit."""

    max_body_bytes: int = 1_000_000
    max_tokens: int = 5_000
    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 2_000
    rate_limit: str = "600/minute"  # per caller, in the `limits` library's notation


@dataclass(frozen=True)
class AuthSettings:
    """Where bearer tokens' keys come from. ``jwks_url`` is required in production."""

    jwks_url: str | None = None
    issuer: str | None = None
    audience: str = "joinedup"
    clock_skew_s: int = 30
    jwks_cache_s: int = 300
    jwks_min_refresh_s: float = 10.0


@dataclass(frozen=True)
class GatewayConfig:
    state_dir: Path
    agencies: AgencyEndpoints
    policy_dir: Path = REPO_ROOT / "policies"
    policy_timeout_s: float = 1.0
    agency_timeout_s: float = 2.0
    mode: Mode = "demo"
    resilience: ResilienceSettings = field(default_factory=ResilienceSettings)
    limits: RequestLimits = field(default_factory=RequestLimits)
    auth: AuthSettings = field(default_factory=AuthSettings)
    persisted_queries: Path | None = None  # JSON manifest {sha256 hex: query}

    def __post_init__(self) -> None:
        if self.mode not in ("demo", "production"):
            raise ConfigError(f"mode must be 'demo' or 'production', not {self.mode!r}")
        if self.mode == "production":
            if not self.auth.jwks_url or not self.auth.issuer:
                raise ConfigError("production mode needs a JWKS URL and a token issuer")

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def audit_db(self) -> Path:
        return self.state_dir / "audit.sqlite"

    def timeout_for(self, agency: str) -> float:
        return self.resilience.agency_timeouts_s.get(agency, self.agency_timeout_s)
