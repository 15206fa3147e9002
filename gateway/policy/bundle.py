"""The policy folder as a bundle: its files, data document, revision and checks.

Both engines load the same folder: Rego modules (``*_test.rego`` excluded) and
JSON data files, each data file placed at the path of its folder
(``policies/agencies/council/data.json`` becomes ``data.agencies.council``),
as OPA itself does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config import REPO_ROOT

DEFAULT_OPA = REPO_ROOT / ".tools" / "bin" / "opa"


class PolicyRejected(Exception):
    """The policy folder does not compile or fails OPA's checks; the message says why."""


def policy_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The Rego modules (tests excluded) and JSON data files under ``folder``."""
    modules = sorted(p for p in folder.rglob("*.rego") if not p.name.endswith("_test.rego"))
    data = sorted(folder.rglob("*.json"))
    return modules, data


def fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of every file the engines load (Rego tests are
    not): a stat per file (scandir costs half of os.walk), taken at most once per
    ``FolderWatch`` interval."""
    found: list[tuple[str, int, int]] = []
    folders = [str(folder)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.name.endswith((".rego", ".json")) and not entry.name.endswith(
                    "_test.rego"
                ):
                    stat = entry.stat()
                    found.append((entry.path, stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


DEFAULT_RELOAD_INTERVAL_S = 1.0
"""How often, at most, the engines look for policy edits (``policy.reload_interval_s``)."""


@dataclass
class FolderWatch:
    """Whether the policy folder changed since it was last looked at.

    Looking costs a stat per policy file (~0.2 ms for this repository's folder);
    done before every decision it was two looks per request. So the folder is
    looked at no more than once per ``interval_s`` (0: on every call): an edit
    takes effect on the first decision at least that long after the previous look.
    """

    folder: Path
    interval_s: float = DEFAULT_RELOAD_INTERVAL_S
    clock: Callable[[], float] = time.monotonic
    _seen: tuple[tuple[str, int, int], ...] = field(init=False)
    _next_look: float = field(init=False)

    def __post_init__(self) -> None:
        self._seen = fingerprint(self.folder)
        self._next_look = self.clock() + self.interval_s

    def changed(self) -> bool:
        now = self.clock()
        if now < self._next_look:
            return False
        self._next_look = now + self.interval_s
        current = fingerprint(self.folder)
        if current == self._seen:
            return False
        self._seen = current
        return True


def policy_revision(folder: Path) -> str:
    """A content hash of the policy folder: the revision recorded with each decision."""
    digest = hashlib.sha256()
    modules, data = policy_files(folder)
    for path in modules + data:
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def data_document(folder: Path) -> dict[str, Any]:
    """Every data file merged into one document at its folder's path."""
    merged: dict[str, Any] = {}
    for path in policy_files(folder)[1]:
        try:
            document = json.loads(path.read_text())
        except ValueError as exc:
            raise PolicyRejected(f"{path.relative_to(folder)} is not valid JSON: {exc}") from exc
        target = merged
        for part in path.parent.relative_to(folder).parts:
            target = target.setdefault(part, {})
        target.update(document)
    return merged


@dataclass(frozen=True)
class OpaCheck:
    """``opa check --strict`` on the folder: rejects Rego v0 syntax (which rego-cpp accepts)
    and everything else OPA would refuse, so both engines run only what OPA accepts."""

    opa: Path = DEFAULT_OPA

    def __call__(self, folder: Path) -> None:
        if not self.opa.exists():
            raise PolicyRejected(f"OPA is not installed at {self.opa} (run 'make opa')")
        result = subprocess.run(  # noqa: S603 - the project's own OPA binary, fixed arguments
            [str(self.opa), "check", "--strict", str(folder)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise PolicyRejected((result.stderr or result.stdout).strip()[:2000])
