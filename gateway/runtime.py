"""The gateway's long-lived parts, built once at start-up and shared by requests."""

from __future__ import annotations

import gc
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.sdk import Adapter
from gateway.adapters import build_adapters
from gateway.audit import AuditStore, open_store
from gateway.audit.decision_log import DecisionLog, new_instance_id
from gateway.auth import Authenticator, load_dev_key
from gateway.config import GatewayConfig
from gateway.documents import DocumentCache
from gateway.field_catalogue import warn_about_gaps
from gateway.identity.link_cache import LinkCache
from gateway.identity.match_token import MatchTokens
from gateway.persisted import PersistedQueries
from gateway.person_context import CaseRegister
from gateway.policy import PolicyEngine
from gateway.policy.embedded import EmbeddedEngine
from gateway.policy.opa_server import OpaServerEngine
from gateway.purposes import Purpose, load_purposes
from gateway.ratelimit import CallerRateLimiter
from gateway.resilience import make_resilient
from resolvers.schema import GatewaySchema, build_schema


@dataclass
class Gateway:
    config: GatewayConfig
    adapters: Mapping[str, Adapter]
    purposes: Mapping[str, Purpose]
    schema: GatewaySchema
    documents: DocumentCache
    policy: PolicyEngine
    authenticator: Authenticator
    rate_limiter: CallerRateLimiter
    persisted_queries: PersistedQueries
    audit: AuditStore
    decision_log: DecisionLog | None
    register: CaseRegister
    links: LinkCache | None = None
    match_tokens: MatchTokens | None = None

    @classmethod
    def start(cls, config: GatewayConfig) -> Gateway:
        direct = build_adapters(config.agencies, config.agency_timeout_s)
        adapters = make_resilient(direct, config.resilience, config.timeout_for)
        purposes = load_purposes(config.policy_dir)
        schema = build_schema(adapters, purposes)
        # Fields with no policy catalogue entry are denied; say so, rather than silently.
        warn_about_gaps((adapter.discover() for adapter in direct.values()), config.policy_dir)
        return cls(
            config=config,
            adapters=adapters,
            purposes=purposes,
            schema=schema,
            documents=DocumentCache(),
            policy=_policy_engine(config),
            authenticator=Authenticator(
                config.auth, None if config.production else load_dev_key(config.state_dir)
            ),
            rate_limiter=CallerRateLimiter(config.limits.rate_limit),
            persisted_queries=PersistedQueries.load(
                config.persisted_queries, allow_list_only=config.production
            ),
            audit=open_store(
                config.audit_store_dsn,
                config.state_dir,
                config.policy_dir,
                config.audit_checkpoint_every,
            ),
            decision_log=(
                DecisionLog(config.decision_log, new_instance_id(), _version())
                if config.decision_log
                else None
            ),
            register=CaseRegister.for_adapters(adapters),
            links=LinkCache(config.link_cache_ttl_s) if config.link_cache_ttl_s else None,
            match_tokens=MatchTokens.from_state_dir(
                config.state_dir, config.match_token_ttl_min * 60
            ),
        )

    async def stop(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
        await self.policy.aclose()
        self.audit.close()
        if self.decision_log is not None:
            self.decision_log.close()


def freeze_start_up_objects() -> None:
    """Put every object alive now out of the cyclic garbage collector's reach.

    A worker builds ~120,000 objects at start-up that live as long as it does
    (modules, the schema, the compiled policy, adapters). Every full collection
    walked all of them again: ~50 ms with the worker's event loop stopped, about
    every 150 full person views, so one request in 150 waited 50 ms more, and ~3 %
    of the worker's CPU went on it (``bench/README.md``, eleventh pass). Frozen
    objects are still freed when their last reference goes; only cycles among them
    would never be collected, and these objects are kept for the process's life.
    """
    gc.collect()
    gc.freeze()


def _version() -> str:
    return importlib.metadata.version("joinedup")


def _policy_engine(config: GatewayConfig) -> PolicyEngine:
    if config.policy_engine == "embedded":
        return EmbeddedEngine(config.policy_dir, reload_interval_s=config.policy_reload_interval_s)
    if config.policy_engine == "opa":
        if config.opa_url:
            return OpaServerEngine.connect(
                config.opa_url,
                config.policy_dir,
                reload_interval_s=config.policy_reload_interval_s,
            )
        from simulators.launcher import free_port

        return OpaServerEngine.start(
            config.policy_dir, free_port(), reload_interval_s=config.policy_reload_interval_s
        )
    raise ValueError(f"unknown policy engine '{config.policy_engine}' (embedded or opa)")
