"""Gateway configuration: where policy, audit and each agency system are, and how hard
the gateway defends itself.

Agency systems are registered by configuration, not code: each entry names
the adapter class (``module:Class``), the upstream's endpoint (URL, DSN or
file path) and optionally its own timeout. :func:`load_agencies` reads them
from a TOML file::

    [agencies.nhs]
    endpoint = "http://127.0.0.1:9002"
    # adapter = "adapters.nhs:NhsAdapter"   (or an installed adapter's entry-point name;
    #                                        default: the demo adapter, or the installed
    #                                        adapter named like the agency)
    # timeout_s = 2.0                       (default: the gateway's agency timeout)
    # enabled = true

Kept to a few dataclasses so every component receives its settings explicitly;
file and environment loading build these objects. ``mode`` switches between the
demo (dev signing key, GraphiQL, introspection) and production (JWKS only, no
GraphiQL, no introspection, persisted queries if a manifest is given).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.adapter_registry import ENTRY_POINT_GROUP, installed_adapters

REPO_ROOT = Path(__file__).resolve().parent.parent

Mode = Literal["demo", "production"]

DEMO_AGENCIES = ("council", "benefits", "nhs", "schools", "police", "probation", "housing")
"""The demo world's agencies: joinedup installs an adapter entry point of each name."""


class ConfigError(ValueError):
    """The agency configuration is missing or invalid."""


@dataclass(frozen=True)
class AgencySettings:
    """How to reach one agency system."""

    endpoint: str
    adapter: str
    timeout_s: float | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ResilienceSettings:
    """How the gateway treats each agency system (see ``gateway/resilience.py``).

    Per-agency timeouts live with each agency's settings (``AgencySettings.timeout_s``).
    """

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
    agencies: Mapping[str, AgencySettings] = field(default_factory=dict)
    policy_dir: Path = REPO_ROOT / "policies"
    policy_timeout_s: float = 1.0
    policy_reload_interval_s: float = 1.0
    """Policy edits are looked for at most this often (seconds; 0: before every decision)."""
    agency_timeout_s: float = 2.0
    # sqlite:///path (default: audit.sqlite in the state folder) or postgresql://...
    audit_dsn: str | None = None
    audit_checkpoint_every: int = 1000
    # Where OPA-format decision log lines go: a file path, "-" for stdout, None for nowhere.
    decision_log: str | None = None
    policy_engine: str = "embedded"
    """``embedded`` (regopy, in-process) or ``opa`` (an OPA server over its REST API)."""
    opa_url: str | None = None
    """With ``policy_engine="opa"``: use this OPA server; unset, the gateway starts its own."""

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

    graphiql: bool = True
    introspection: bool = True
    # Agencies whose outage makes /readyz fail; the others only show as degraded.
    ready_requires_agencies: tuple[str, ...] = ()
    observability: ObservabilityConfig = ObservabilityConfig()
    link_cache_ttl_s: float | None = None
    """Keep resolved identity links (identifiers only) this long; None: no link cache."""
    match_token_ttl_min: float = 15.0
    """How long a findPerson candidate's MATCH token may be used to open the person."""

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql and not self.production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection and not self.production

    @property
    def audit_store_dsn(self) -> str:
        return self.audit_dsn or "sqlite:///" + str((self.state_dir / "audit.sqlite").resolve())

    def timeout_for(self, agency: str) -> float:
        settings = self.agencies.get(agency)
        if settings is not None and settings.timeout_s is not None:
            return settings.timeout_s
        return self.agency_timeout_s


def default_adapter(name: str) -> str | None:
    """The adapter agency ``name`` gets when its settings name none: the installed adapter
    (``joinedup.adapters`` entry point) of the same name, as the demo world's are."""
    return name if name in installed_adapters() else None


def agency_settings(name: str, endpoint: str, **options: Any) -> AgencySettings:
    """Settings for agency ``name``, with its default adapter unless ``adapter`` is given."""
    adapter = options.pop("adapter", None) or default_adapter(name)
    if adapter is None:
        raise ConfigError(
            f"agency {name!r}: no default adapter, give adapter = 'module:Class' or the name "
            f"of an installed adapter ({ENTRY_POINT_GROUP!r} entry point)"
        )
    unknown = set(options) - {"timeout_s", "enabled"}
    if unknown:
        raise ConfigError(f"agency {name!r}: unknown setting(s) {sorted(unknown)}")
    timeout = options.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ConfigError(f"agency {name!r}: timeout_s must be a positive number of seconds")
    if not isinstance(options.get("enabled", True), bool):
        raise ConfigError(f"agency {name!r}: enabled must be true or false")
    return AgencySettings(endpoint=endpoint, adapter=adapter, **options)


def load_agencies(path: Path) -> dict[str, AgencySettings]:
    """Read the ``[agencies.NAME]`` tables of a TOML file."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read agency configuration {path}: {exc}") from exc
    tables = document.get("agencies")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [agencies.NAME] tables")
    agencies = {}
    for name, table in tables.items():
        if not isinstance(table, dict) or not isinstance(table.get("endpoint"), str):
            raise ConfigError(f"{path}: agency {name!r} needs endpoint = '...'")
        options = {k: v for k, v in table.items() if k != "endpoint"}
        agencies[name] = agency_settings(name, table["endpoint"], **options)
    return agencies


def agencies_toml(agencies: Mapping[str, AgencySettings]) -> str:
    """Write settings back as TOML (for the demo world's generated configuration)."""
    lines = []
    for name, settings in agencies.items():
        lines.append(f"[agencies.{name}]")
        lines.append(f"endpoint = {_toml_string(settings.endpoint)}")
        lines.append(f"adapter = {_toml_string(settings.adapter)}")
        if settings.timeout_s is not None:
            lines.append(f"timeout_s = {settings.timeout_s!r}")
        lines.append(f"enabled = {'true' if settings.enabled else 'false'}")
        lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string
