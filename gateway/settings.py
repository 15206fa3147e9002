"""Operator configuration: one TOML file plus ``JOINEDUP_…`` environment overrides.

The file and the environment are validated together at start-up and turned into
the :class:`~gateway.config.GatewayConfig` every component receives. Precedence,
highest first: environment variables, the file, the defaults below. Nested keys
use ``__`` in the environment, e.g. ``JOINEDUP_SERVER__PORT=9000`` or
``JOINEDUP_AGENCIES__BENEFITS__ENDPOINT=http://benefits:8080``.

``joinedup serve`` options are one more layer on top: it exports them as these
environment variables, which is also how they reach worker processes.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway import config as runtime
from gateway.config import (
    DEMO_AGENCIES,
    REPO_ROOT,
    GatewayConfig,
    ObservabilityConfig,
    agency_settings,
    default_adapter,
)

CONFIG_FILE_ENV = "JOINEDUP_CONFIG_FILE"
ENV_PREFIX = "JOINEDUP_"


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
    reload_interval_s: float = Field(
        1.0, ge=0, description="Seconds between looks for policy edits (0: every decision)."
    )
    opa_url: HttpUrl | None = Field(None, description="OPA server, for engine = 'opa'.")


class AuditSettings(_Section):
    dsn: str | None = Field(
        None,
        description="sqlite:///path or postgresql://…; unset means STATE_DIR/audit.sqlite.",
    )
    checkpoint_every: int = Field(1000, ge=1, description="Records between signed checkpoints.")
    decision_log: str | None = Field(
        None, description="OPA-format decision log: a file path, or '-' for standard output."
    )

    @field_validator("dsn")
    @classmethod
    def _known_scheme(cls, dsn: str | None) -> str | None:
        if dsn is not None and not dsn.startswith(("sqlite:///", "postgresql://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return dsn


class AuthSettings(_Section):
    dev_tokens: bool = Field(True, description="Accept HS256 dev tokens (demo profile only).")
    jwks_url: HttpUrl | None = None
    issuer: str | None = None
    audience: str = runtime.AuthSettings.audience


class AgencySettings(_Section):
    enabled: bool = True
    endpoint: str = Field(description="Where the agency system is: URL, DSN or file path.")
    adapter: str | None = Field(
        None, description="module:Class of the adapter; default for the seven known agencies."
    )
    timeout_s: float | None = Field(None, gt=0, description="Overrides agency_timeout_s.")


class LimitsSettings(_Section):
    max_body_bytes: int = Field(runtime.RequestLimits.max_body_bytes, ge=1)
    max_tokens: int = Field(runtime.RequestLimits.max_tokens, ge=1)
    max_depth: int = Field(runtime.RequestLimits.max_depth, ge=1)
    max_aliases: int = Field(runtime.RequestLimits.max_aliases, ge=0)
    max_cost: int = Field(runtime.RequestLimits.max_cost, ge=1)
    rate_limit: str = Field(runtime.RequestLimits.rate_limit, description="Per caller.")


class ResilienceSettings(_Section):
    request_deadline_s: float = Field(runtime.ResilienceSettings.request_deadline_s, gt=0)
    retry_attempts: int = Field(runtime.ResilienceSettings.retry_attempts, ge=1)
    breaker_threshold: int = Field(runtime.ResilienceSettings.breaker_threshold, ge=1)
    breaker_reset_s: float = Field(runtime.ResilienceSettings.breaker_reset_s, gt=0)
    max_concurrent_per_agency: int = Field(
        runtime.ResilienceSettings.max_concurrent_per_agency, ge=1
    )


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


class IdentitySettings(_Section):
    link_cache_ttl_s: float | None = Field(
        None, gt=0, description="Keep identity links (identifiers only) this long; unset: off."
    )
    match_token_ttl_min: float = Field(
        15.0, gt=0, description="Minutes a findPerson candidate's MATCH token stays valid."
    )


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
    resilience: ResilienceSettings = ResilienceSettings()
    persisted_queries: Path | None = Field(
        None, description="JSON manifest {sha256: query}; in production the only queries run."
    )
    readiness: ReadinessSettings = ReadinessSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    identity: IdentitySettings = IdentitySettings()

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


def unsupported_options(settings: Settings) -> list[str]:
    """Settings that are valid alone but cannot be served together."""
    problems = []
    for name, agency in settings.agencies.items():
        if agency.adapter is None and default_adapter(name) is None:
            problems.append(
                f"agencies.{name}: unknown agency; name its adapter = 'module:Class' "
                "or an installed adapter's entry-point name"
            )
    for name in settings.readiness.require_agencies:
        if name not in settings.agencies and name not in DEMO_AGENCIES:
            problems.append(f"readiness.require_agencies: unknown agency '{name}'")
    if settings.observability.traces == "otlp" and settings.observability.otlp_endpoint is None:
        problems.append("observability.traces = 'otlp' needs observability.otlp_endpoint")
    if settings.profile == "demo" and not settings.auth.dev_tokens:
        problems.append("auth.dev_tokens = false needs the production profile (JWKS tokens)")
    return problems


def gateway_config(settings: Settings) -> GatewayConfig:
    """The runtime configuration; the agencies must be configured by now."""
    if not settings.agencies:
        raise ConfigError(
            "settings",
            [
                f"no agencies configured ([agencies.NAME] endpoint = ..., or {ENV_PREFIX}AGENCIES__"
                "NAME__ENDPOINT)"
            ],
        )
    observability = settings.observability
    try:
        agencies = {
            name: agency_settings(
                name,
                agency.endpoint,
                adapter=agency.adapter,
                timeout_s=agency.timeout_s,
                enabled=agency.enabled,
            )
            for name, agency in settings.agencies.items()
        }
        return GatewayConfig(
            state_dir=settings.state_dir,
            agencies=agencies,
            policy_dir=settings.policy.dir,
            policy_timeout_s=settings.policy.timeout_s,
            policy_reload_interval_s=settings.policy.reload_interval_s,
            policy_engine=settings.policy.engine,
            opa_url=str(settings.policy.opa_url).rstrip("/") if settings.policy.opa_url else None,
            agency_timeout_s=settings.agency_timeout_s,
            audit_dsn=settings.audit.dsn,
            audit_checkpoint_every=settings.audit.checkpoint_every,
            decision_log=settings.audit.decision_log,
            mode=settings.profile,
            resilience=runtime.ResilienceSettings(**settings.resilience.model_dump()),
            limits=runtime.RequestLimits(**settings.limits.model_dump()),
            auth=runtime.AuthSettings(
                jwks_url=str(settings.auth.jwks_url) if settings.auth.jwks_url else None,
                issuer=settings.auth.issuer,
                audience=settings.auth.audience,
            ),
            persisted_queries=settings.persisted_queries,
            graphiql=settings.server.graphiql,
            introspection=settings.server.introspection,
            ready_requires_agencies=tuple(settings.readiness.require_agencies),
            link_cache_ttl_s=settings.identity.link_cache_ttl_s,
            match_token_ttl_min=settings.identity.match_token_ttl_min,
            observability=ObservabilityConfig(
                log_format=observability.log_format,
                log_level=observability.log_level,
                traces=observability.traces,
                otlp_endpoint=(
                    str(observability.otlp_endpoint) if observability.otlp_endpoint else None
                ),
                service_name=observability.service_name,
                metrics=observability.metrics,
            ),
        )
    except runtime.ConfigError as exc:
        raise ConfigError("settings", [str(exc)]) from None
