"""Drive Debian's Chromium headless against pages the gateway serves.

Flags follow this machine's closed network: no background networking, no
component updates, a fresh profile per run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("Chromium is not installed: `apt-get install chromium` (.ci/run does)")
    return path


def rendered_dom(url: str, budget_ms: int = 15000) -> str:
    """The page's DOM after its scripts ran (virtual time lets them finish)."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    return result.stdout
