"""The adapter conformance kit: checks an adapter against the contract on a running upstream.

Use it from an adapter package's tests by subclassing :class:`AdapterConformance`
and giving it a ``conformance_target`` fixture (see ``docs/adapters.md``). The
pytest plugin (:mod:`adapters.sdk.conformance.plugin`) is loaded automatically
where joinedup is installed.
"""

from adapters.sdk.conformance.calls import CallCount, count_http_requests, count_sqlite_statements
from adapters.sdk.conformance.checks import (
    ALL_CHECKS,
    ConformanceFailure,
    NotApplicable,
    check_section_spec,
)
from adapters.sdk.conformance.suite import AdapterConformance, run_check
from adapters.sdk.conformance.target import (
    ConformanceTarget,
    DatabaseFileFaults,
    Fault,
    FaultInjector,
    SimulatorFaults,
)

__all__ = [
    "ALL_CHECKS",
    "AdapterConformance",
    "CallCount",
    "ConformanceFailure",
    "ConformanceTarget",
    "DatabaseFileFaults",
    "Fault",
    "FaultInjector",
    "NotApplicable",
    "SimulatorFaults",
    "check_section_spec",
    "count_http_requests",
    "count_sqlite_statements",
    "run_check",
]
