"""The benchmark's allow-all baseline policy (``bench/policy_allow_all``).

Kept apart from :mod:`bench.stack` so the test suite can check the baseline without
the bench extra (psutil) installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gateway.config import REPO_ROOT

ALLOW_ALL_POLICY = Path(__file__).resolve().parent / "policy_allow_all"


def allow_all_policy_dir(scratch: Path) -> Path:
    """The bench-only allow-all policy beside a copy of the real purpose catalogue."""
    folder = scratch / "policy-allow-all"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ALLOW_ALL_POLICY, folder)
    shutil.copy(REPO_ROOT / "policies" / "data.json", folder / "data.json")
    return folder
