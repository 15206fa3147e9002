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
from gateway.documents import DocumentCache
from gateway.policy import PolicyEngine
from gateway.policy.embedded import EmbeddedEngine
from gateway.purposes import Purpose, load_purposes
from resolvers.policy_filter import PolicyFilter
from resolvers.schema import GatewaySchema, build_schema


@dataclass
class Gateway:
    config: GatewayConfig
    adapters: Mapping[str, Adapter]
    purposes: Mapping[str, Purpose]
    schema: GatewaySchema
    documents: DocumentCache
    policy: PolicyEngine
    policy_filter: PolicyFilter
    authenticator: Authenticator
    audit: AuditStore

    @classmethod
    def start(cls, config: GatewayConfig) -> Gateway:
        timeout = config.agency_timeout_s
        adapters: dict[str, Adapter] = {
            "council": CouncilAdapter(config.agencies.council_db, timeout_s=timeout),
            "benefits": BenefitsAdapter(config.agencies.benefits_url, timeout_s=timeout),
        }
        purposes = load_purposes(config.policy_dir)
        schema = build_schema(adapters, purposes)
        return cls(
            config=config,
            adapters=adapters,
            purposes=purposes,
            schema=schema,
            documents=DocumentCache(schema),
            policy=EmbeddedEngine(config.policy_dir),
            policy_filter=PolicyFilter(schema.governed_types, schema.agency_of),
            authenticator=Authenticator(load_dev_key(config.state_dir)),
            audit=AuditStore(config.audit_db),
        )

    async def stop(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
        await self.policy.aclose()
        self.audit.close()
