"""The gateway's long-lived parts, built once at start-up and shared by requests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.sdk import Adapter
from gateway.audit import AuditStore
from gateway.auth import Authenticator, load_dev_key
from gateway.config import GatewayConfig
from gateway.persisted import PersistedQueries
from gateway.policy import PolicyEngine
from gateway.policy.embedded import EmbeddedEngine
from gateway.purposes import Purpose, load_purposes
from gateway.ratelimit import CallerRateLimiter
from gateway.resilience import make_resilient
from resolvers.policy_filter import PolicyFilter
from resolvers.schema import GatewaySchema, build_schema


@dataclass
class Gateway:
    config: GatewayConfig
    adapters: Mapping[str, Adapter]
    purposes: Mapping[str, Purpose]
    schema: GatewaySchema
    policy: PolicyEngine
    policy_filter: PolicyFilter
    authenticator: Authenticator
    rate_limiter: CallerRateLimiter
    persisted_queries: PersistedQueries
    audit: AuditStore

    @classmethod
    def start(cls, config: GatewayConfig) -> Gateway:
        agencies = config.agencies
        adapters = make_resilient(
            {
                "council": CouncilAdapter(
                    agencies.council_db, timeout_s=config.timeout_for("council")
                ),
                "benefits": BenefitsAdapter(
                    agencies.benefits_url, timeout_s=config.timeout_for("benefits")
                ),
            },
            config.resilience,
            config.timeout_for,
        )
        purposes = load_purposes(config.policy_dir)
        schema = build_schema(adapters, purposes)
        return cls(
            config=config,
            adapters=adapters,
            purposes=purposes,
            schema=schema,
            policy=EmbeddedEngine(config.policy_dir),
            policy_filter=PolicyFilter(schema.governed_types, schema.agency_of),
            authenticator=Authenticator(
                config.auth, None if config.production else load_dev_key(config.state_dir)
            ),
            rate_limiter=CallerRateLimiter(config.limits.rate_limit),
            persisted_queries=PersistedQueries.load(
                config.persisted_queries, allow_list_only=config.production
            ),
            audit=AuditStore(config.audit_db),
        )

    async def stop(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
        await self.policy.aclose()
        self.audit.close()
