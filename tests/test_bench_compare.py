"""bench.compare's summary: medians over rounds per revision, and the working tree's ratio."""

from __future__ import annotations

import pytest

from bench.compare import WORKING_TREE, summary, table


def test_medians_over_rounds_and_the_ratio_to_the_base() -> None:
    rounds = {
        "full_person_0ms": {
            "abc123": [
                {"rps": 100.0, "cpu_ms_per_request": 10.0, "fanout_efficiency": None},
                {"rps": 120.0, "cpu_ms_per_request": 11.0, "fanout_efficiency": None},
                {"rps": 90.0, "cpu_ms_per_request": 12.0, "fanout_efficiency": None},
            ],
            WORKING_TREE: [
                {"rps": 130.0, "cpu_ms_per_request": 9.0, "fanout_efficiency": None},
                {"rps": 110.0, "cpu_ms_per_request": 9.9, "fanout_efficiency": None},
                {"rps": 125.0, "cpu_ms_per_request": 8.0, "fanout_efficiency": None},
            ],
        }
    }

    result = summary(rounds, "abc123")["full_person_0ms"]

    assert result["medians"]["abc123"]["rps"] == 100.0
    assert result["medians"][WORKING_TREE]["rps"] == 125.0
    assert result["ratio"]["rps"] == pytest.approx(1.25)
    assert result["ratio"]["cpu_ms_per_request"] == pytest.approx(9.0 / 11.0)
    assert result["medians"][WORKING_TREE]["p50_ms"] is None, "a figure no round has"
    assert result["ratio"]["fanout_efficiency"] is None
    assert "| full_person_0ms | ratio (working tree ÷ abc123) | 1.25 |" in table(
        summary(rounds, "abc123"), "abc123"
    )
