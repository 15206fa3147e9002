"""The conformance kit's pytest plugin (entry point ``pytest11``: loaded by any pytest
run where joinedup is installed).

It registers the ``conformance`` marker (``pytest -m conformance`` runs only the
kit) and a ``conformance_target`` fixture that, until an adapter package
overrides it, fails with instructions instead of a bare "fixture not found".
"""

from __future__ import annotations

import pytest

from adapters.sdk.conformance.target import ConformanceTarget


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance: the joinedup adapter conformance kit (adapters.sdk.conformance)"
    )


@pytest.fixture
def conformance_target() -> ConformanceTarget:
    raise pytest.UsageError(
        "the conformance kit needs to know your adapter and its running upstream: define a "
        "`conformance_target` fixture in your AdapterConformance subclass (or conftest.py) "
        "returning adapters.sdk.conformance.ConformanceTarget(make_adapter=..., known=...); "
        "see docs/adapters.md"
    )
