"""Embedded Rego engine: the policies evaluated in-process with regopy (rego-cpp).

The policy folder is compiled once into a bundle; each decision evaluates the
bundle's entrypoint. regopy interpreters are not thread-safe, so this engine
is only used from the event-loop thread.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import regopy

from gateway.policy.decision import Decision, DecisionInput

ENTRYPOINT = "joinedup/decision"


def policy_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The Rego modules (tests excluded) and JSON data files under ``folder``."""
    modules = sorted(p for p in folder.rglob("*.rego") if not p.name.endswith("_test.rego"))
    data = sorted(folder.rglob("data.json"))
    return modules, data


def policy_revision(folder: Path) -> str:
    """A content hash of the policy folder: the revision recorded with each decision."""
    digest = hashlib.sha256()
    modules, data = policy_files(folder)
    for path in modules + data:
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.revision = policy_revision(folder)
        builder = regopy.Interpreter()
        modules, data_files = policy_files(folder)
        if not modules:
            raise ValueError(f"no Rego policies found in {folder}")
        for module in modules:
            builder.add_module(str(module.relative_to(folder)), module.read_text())
        for data_file in data_files:
            document: Any = json.loads(data_file.read_text())
            for part in reversed(data_file.parent.relative_to(folder).parts):
                document = {part: document}
            builder.add_data(document)
        self._bundle = builder.build(None, [ENTRYPOINT])
        self._interpreter = regopy.Interpreter()

    async def decide(self, request: DecisionInput) -> Decision:
        self._interpreter.set_input(request.as_json())
        output = self._interpreter.query_bundle_entrypoint(self._bundle, ENTRYPOINT)
        expressions = json.loads(str(output)).get("expressions", [])
        if len(expressions) != 1:
            raise ValueError("policy decision is undefined")
        result = dict(expressions[0])
        result.setdefault("revision", self.revision)
        if result["revision"] == "unversioned":
            result["revision"] = self.revision
        return Decision.from_policy_result(result)

    async def aclose(self) -> None:
        return None
