"""Purposes of use: every request declares one, and it must be a known purpose.

The catalogue is policy data (``policies/data.json``), so policy teams add a
purpose in one place and the gateway accepts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PURPOSE_HEADER = "X-Purpose-Of-Use"
BREAK_GLASS_HEADER = "X-Break-Glass-Reason"
"""Emergency access: the reason is mandatory; policy decides whether it is granted."""
CONSENT_OVERRIDE_HEADER = "X-Consent-Override-Reason"
"""Overriding refused consent where the purpose allows it (safeguarding), with the reason."""


@dataclass(frozen=True)
class Purpose:
    id: str
    title: str
    lawful_basis: str


def load_purposes(policy_dir: Path) -> dict[str, Purpose]:
    catalogue = json.loads((policy_dir / "data.json").read_text())["access"]["purposes"]
    return {
        key: Purpose(key, value["title"], value["lawful_basis"]) for key, value in catalogue.items()
    }
