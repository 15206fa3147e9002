"""Operator configuration: one TOML file plus ``JOINEDUP_…`` environment overrides.

The file and the environment are validated together at start-up and turned into
the :class:`~gateway.config.GatewayConfig` every component receives. Precedence,
highest first: environment variables, the file, the defaults below. Nested keys
use ``__`` in the environment, e.g. ``JOINEDUP_SERVER__PORT=9000`` or
``JOINEDUP_AGENCIES__BENEFITS__URL=http://benefits:8080``.

Some options are validated and documented here before the gateway can honour
them (OPA server engine, PostgreSQL audit, JWKS, limits, per-agency switches).
Setting one of those to anything but its default is refused with a clear
"not supported yet in this build" error instead of being silently ignored.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.config import REPO_ROOT, AgencyEndpoints, GatewayConfig, ObservabilityConfig

CONFIG_FILE_ENV = "JOINEDUP_CONFIG_FILE"
ENV_PREFIX = "JOINEDUP_"
KNOWN_AGENCIES = ("council", "benefits")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"invalid configuration ({source}):\n" + "\n".join(f"  - {p}" for p in problems)
        )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="Worker processes (uvicorn --workers).")
    shutdown_grace_s: float = Field(
        30.0, gt=0, description="How long in-flight requests may take to finish on SIGTERM."
    )
    graphiql: bool = Field(True, description="Serve GraphiQL to browsers on GET /graphql.")
    introspection: bool = Field(True, description="Allow GraphQL schema introspection.")


class PolicySettings(_Section):
    engine: Literal["embedded", "opa"] = "embedded"
    dir: Path = REPO_ROOT / "policies"
    timeout_s: float = Field(1.0, gt=0)
    opa_url: HttpUrl | None = Field(None, description="OPA server, for engine = 'opa'.")


class AuditSettings(_Section):
    dsn: str | None = Field(
        None,
        description="sqlite:///path or postgresql://…; unset means STATE_DIR/audit.sqlite.",
    )

    @field_validator("dsn")
    @classmethod
    def _known_scheme(cls, dsn: str | None) -> str | None:
        if dsn is not None and not dsn.startswith(("sqlite:///", "postgresql://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return dsn


class AuthSettings(_Section):
    dev_tokens: bool = Field(True, description="Accept HS256 dev tokens (demo only).")
    jwks_url: HttpUrl | None = None
    issuer: str | None = None
    audience: str | None = None


class AgencySettings(_Section):
    enabled: bool = True
    url: str = Field(description="Where the agency system is: a URL, or a SQLite file path.")
    timeout_s: float | None = Field(None, gt=0, description="Overrides agency_timeout_s.")


class LimitsSettings(_Section):
    requests_per_minute: int | None = Field(None, ge=1, description="Per caller.")
    max_depth: int | None = Field(None, ge=1, description="GraphQL query depth.")
    max_people: int | None = Field(None, ge=1, description="References in one people() query.")


class ReadinessSettings(_Section):
    require_agencies: list[str] = Field(
        default_factory=list,
        description="Agencies whose outage makes /readyz fail (others show as degraded).",
    )


class ObservabilitySettings(_Section):
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    traces: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: HttpUrl | None = Field(
        None, description="OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces."
    )
    service_name: str = "joinedup"
    metrics: bool = Field(True, description="Serve Prometheus metrics on /metrics.")


class Settings(BaseSettings):
    """Everything an operator can set. ``joinedup config check`` validates a file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    profile: Literal["demo", "production"] = "demo"
    state_dir: Path = Path(".joinedup")
    agency_timeout_s: float = Field(2.0, gt=0)
    server: ServerSettings = ServerSettings()
    policy: PolicySettings = PolicySettings()
    audit: AuditSettings = AuditSettings()
    auth: AuthSettings = AuthSettings()
    agencies: dict[str, AgencySettings] = Field(default_factory=dict)
    limits: LimitsSettings = LimitsSettings()
    readiness: ReadinessSettings = ReadinessSettings()
    observability: ObservabilitySettings = ObservabilitySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init arguments; the environment overrides them.
        return (env_settings, init_settings)


def load_settings(path: Path | None = None) -> Settings:
    """Read ``path`` (or ``$JOINEDUP_CONFIG_FILE``) and the environment; validate both."""
    if path is None and os.environ.get(CONFIG_FILE_ENV):
        path = Path(os.environ[CONFIG_FILE_ENV])
    source = f"{path} + environment" if path else "environment"
    from_file: dict[str, Any] = {}
    if path is not None:
        try:
            from_file = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(source, [f"cannot read {path}: {exc.strerror}"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, [f"{path} is not valid TOML: {exc}"]) from None
    try:
        settings = Settings(**from_file)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(error) for error in exc.errors()]) from None
    problems = profile_problems(settings) + unsupported_options(settings)
    if problems:
        raise ConfigError(source, problems)
    return settings


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    env_name = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
    return f"{where} (or {env_name}): {error['msg']}"


def profile_problems(settings: Settings) -> list[str]:
    """What the production profile requires and this configuration lacks."""
    if settings.profile != "production":
        return []
    problems = []
    if settings.auth.dev_tokens:
        problems.append("production: auth.dev_tokens must be false")
    if settings.auth.jwks_url is None:
        problems.append("production: auth.jwks_url is required (callers' tokens are verified)")
    if settings.server.graphiql:
        problems.append("production: server.graphiql must be false")
    if settings.server.introspection:
        problems.append("production: server.introspection must be false")
    if settings.policy.engine != "opa" or settings.policy.opa_url is None:
        problems.append("production: policy.engine must be 'opa' with policy.opa_url set")
    if not (settings.audit.dsn or "").startswith("postgresql://"):
        problems.append("production: audit.dsn must be a postgresql:// DSN (a shared store)")
    return problems


def _not_yet(option: str, value: object, note: str) -> str:
    return f"{option} = {value!r} is not supported yet in this build ({note})"


def unsupported_options(settings: Settings) -> list[str]:
    """Options that are documented and validated but that this build cannot honour yet."""
    problems = []
    if settings.policy.engine != "embedded" or settings.policy.opa_url is not None:
        problems.append(_not_yet("policy.engine", settings.policy.engine, "embedded engine only"))
    if settings.audit.dsn is not None:
        problems.append(
            _not_yet("audit.dsn", settings.audit.dsn, "audit is STATE_DIR/audit.sqlite")
        )
    if not settings.auth.dev_tokens:
        problems.append(_not_yet("auth.dev_tokens", False, "dev tokens are the only verifier"))
    for option in ("jwks_url", "issuer", "audience"):
        value = getattr(settings.auth, option)
        if value is not None:
            problems.append(_not_yet(f"auth.{option}", str(value), "no JWKS verification yet"))
    for option, value in settings.limits.model_dump().items():
        if value is not None:
            problems.append(_not_yet(f"limits.{option}", value, "no limits enforced yet"))
    for name, agency in settings.agencies.items():
        if name not in KNOWN_AGENCIES:
            problems.append(f"agencies.{name}: unknown agency; known: {', '.join(KNOWN_AGENCIES)}")
        if not agency.enabled:
            problems.append(_not_yet(f"agencies.{name}.enabled", False, "all agencies are on"))
        if agency.timeout_s is not None:
            problems.append(
                _not_yet(f"agencies.{name}.timeout_s", agency.timeout_s, "use agency_timeout_s")
            )
    for name in settings.readiness.require_agencies:
        if name not in KNOWN_AGENCIES:
            problems.append(f"readiness.require_agencies: unknown agency '{name}'")
    if settings.observability.traces == "otlp" and settings.observability.otlp_endpoint is None:
        problems.append("observability.traces = 'otlp' needs observability.otlp_endpoint")
    return problems


def missing_agencies(settings: Settings) -> list[str]:
    return [name for name in KNOWN_AGENCIES if name not in settings.agencies]


def gateway_config(settings: Settings) -> GatewayConfig:
    """The runtime configuration; every agency must be configured by now."""
    missing = missing_agencies(settings)
    if missing:
        raise ConfigError(
            "settings",
            [
                f"agencies.{name}.url is not set (or {ENV_PREFIX}AGENCIES__{name.upper()}__URL)"
                for name in missing
            ],
        )
    council_db = settings.agencies["council"].url.removeprefix("sqlite:///")
    observability = settings.observability
    return GatewayConfig(
        state_dir=settings.state_dir,
        agencies=AgencyEndpoints(
            council_db=Path(council_db), benefits_url=settings.agencies["benefits"].url
        ),
        policy_dir=settings.policy.dir,
        policy_timeout_s=settings.policy.timeout_s,
        agency_timeout_s=settings.agency_timeout_s,
        graphiql=settings.server.graphiql,
        introspection=settings.server.introspection,
        ready_requires_agencies=tuple(settings.readiness.require_agencies),
        observability=ObservabilityConfig(
            log_format=observability.log_format,
            log_level=observability.log_level,
            traces=observability.traces,
            otlp_endpoint=str(observability.otlp_endpoint) if observability.otlp_endpoint else None,
            service_name=observability.service_name,
            metrics=observability.metrics,
        ),
    )
