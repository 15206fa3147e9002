"""The conformance checks as a pytest test class an adapter package subclasses.

::

    from adapters.sdk.conformance import AdapterConformance, ConformanceTarget

    class TestMyAgencyConformance(AdapterConformance):
        @pytest.fixture
        def conformance_target(self, my_running_upstream) -> ConformanceTarget:
            return ConformanceTarget(make_adapter=..., known=(...), faults=...)

Each check is its own test, named after the part of the contract it covers.
The tests are synchronous (each runs its check in a fresh event loop), so the
kit needs no asyncio configuration from the package that uses it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from adapters.sdk.conformance.checks import (
    NotApplicable,
    check_batch_lookup,
    check_batch_search,
    check_batching,
    check_deadline,
    check_health,
    check_household,
    check_labels,
    check_lookup,
    check_malformed,
    check_no_retention,
    check_outage,
    check_read,
    check_read_on_lookup,
    check_search,
    check_search_by_block_keys,
    check_self_description,
    check_timeout,
)
from adapters.sdk.conformance.target import ConformanceTarget

Check = Callable[[ConformanceTarget], Coroutine[Any, Any, None]]


def run_check(check: Check, target: ConformanceTarget) -> None:
    """Run one check; a check the target cannot support is skipped, saying why."""
    try:
        asyncio.run(check(target))
    except NotApplicable as exc:
        pytest.skip(f"not applicable to this adapter: {exc}")


@pytest.mark.conformance
class AdapterConformance:
    """Subclass this and provide a ``conformance_target`` fixture."""

    def test_self_description(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_self_description, conformance_target)

    def test_lookup(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_lookup, conformance_target)

    def test_read_returns_only_requested_fields(
        self, conformance_target: ConformanceTarget
    ) -> None:
        run_check(check_read, conformance_target)

    def test_sensitive_records_carry_labels(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_labels, conformance_target)

    def test_batched_read(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_batching, conformance_target)

    def test_household_links(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_household, conformance_target)

    def test_batched_lookup(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_batch_lookup, conformance_target)

    def test_read_on_lookup(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_read_on_lookup, conformance_target)

    def test_outage_is_upstream_unavailable(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_outage, conformance_target)

    def test_malformed_reply_is_upstream_bad_reply(
        self, conformance_target: ConformanceTarget
    ) -> None:
        run_check(check_malformed, conformance_target)

    def test_slow_upstream_is_upstream_timeout(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_timeout, conformance_target)

    def test_request_deadline_cancels(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_deadline, conformance_target)

    def test_health_check(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_health, conformance_target)

    def test_demographic_search(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_search, conformance_target)

    def test_batched_search(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_batch_search, conformance_target)

    def test_search_by_block_keys(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_search_by_block_keys, conformance_target)

    def test_no_agency_data_retained(self, conformance_target: ConformanceTarget) -> None:
        run_check(check_no_retention, conformance_target)
