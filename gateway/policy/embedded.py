"""Embedded Rego engine: the policies evaluated in-process with regopy (rego-cpp).

The policy folder is checked by OPA (``opa check --strict``: rego-cpp silently
accepts some v0 syntax) and compiled once into a bundle; each decision
evaluates a bundle entrypoint. regopy interpreters are not thread-safe, so
this engine is only used from the event-loop thread.

The field decisions of a request never depend on its persons (see
``policies/joinedup/decision.rego``), so they are kept per request-without-
persons (for the loaded revision only); a request asking the same fields
again evaluates just the person gates and obligations (``joinedup.gates``).

Hot reload: before each decision the folder's file times are compared with
the loaded ones (a stat per file, see ``bench/policy_decision.py``); a changed
folder is recompiled. A folder that fails to compile or check is rejected
with a log line and the previous policy stays in force.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regopy

from gateway.policy.bundle import (
    OpaCheck,
    PolicyRejected,
    data_document,
    fingerprint,
    policy_files,
    policy_revision,
)
from gateway.policy.decision import Decision, DecisionInput, LabelDecision, LabelInput

log = logging.getLogger(__name__)

OPA_CHECK = OpaCheck()
DECISION = "joinedup/decision"
GATES = "joinedup/gates"
LABELS = "joinedup/labels"
FIELD_CACHE_SIZE = 1024


@dataclass
class _Compiled:
    bundle: Any
    revision: str
    fields: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    """Field decisions by request-without-persons: they never depend on the persons
    (decision.rego), so a request asking the same again evaluates only the gates."""


def compile_folder(folder: Path) -> Any:
    """Compile the folder's modules and data into a regopy bundle; raise PolicyRejected."""
    modules, _ = policy_files(folder)
    if not modules:
        raise PolicyRejected(f"no Rego policies found in {folder}")
    builder = regopy.Interpreter()
    try:
        for module in modules:
            builder.add_module(str(module.relative_to(folder)), module.read_text())
        builder.add_data(data_document(folder))
        return builder.build(None, [DECISION, GATES, LABELS])
    except regopy.RegoError as exc:
        raise PolicyRejected(str(exc).splitlines()[0][:500]) from exc


class EmbeddedEngine:
    name = "embedded"

    def __init__(
        self, folder: Path, check: Callable[[Path], None] = OPA_CHECK, hot_reload: bool = True
    ) -> None:
        self.folder = folder
        self._check = check
        self._hot_reload = hot_reload
        self._seen = fingerprint(folder)
        self._compiled = self._load()
        self._interpreter = regopy.Interpreter()

    @property
    def revision(self) -> str:
        return self._compiled.revision

    def _load(self) -> _Compiled:
        self._check(self.folder)
        return _Compiled(compile_folder(self.folder), policy_revision(self.folder))

    def reload_if_changed(self) -> None:
        current = fingerprint(self.folder)
        if current == self._seen:
            return
        self._seen = current
        try:
            self._compiled = self._load()
        except PolicyRejected as exc:
            log.error(
                "policy change in %s rejected; revision %s stays in force: %s",
                self.folder,
                self._compiled.revision,
                exc,
            )
            return
        log.info("policy reloaded from %s: revision %s", self.folder, self._compiled.revision)

    def evaluate(self, entrypoint: str, document: dict[str, Any]) -> dict[str, Any]:
        """The raw policy result at an entrypoint (used by explain and tests)."""
        if self._hot_reload:
            self.reload_if_changed()
        return self._evaluate(self._compiled, entrypoint, document)

    def _evaluate(
        self, compiled: _Compiled, entrypoint: str, document: dict[str, Any]
    ) -> dict[str, Any]:
        self._interpreter.set_input(document)
        output = self._interpreter.query_bundle_entrypoint(compiled.bundle, entrypoint)
        expressions = json.loads(str(output)).get("expressions", [])
        if len(expressions) != 1 or not isinstance(expressions[0], dict):
            raise ValueError(f"policy entrypoint {entrypoint} is undefined")
        result = dict(expressions[0])
        if result.get("revision", "unversioned") == "unversioned":
            result["revision"] = compiled.revision
        return result

    async def decide(self, request: DecisionInput) -> Decision:
        document = request.as_json()
        if self._hot_reload:
            self.reload_if_changed()
        compiled = self._compiled
        key = json.dumps({k: v for k, v in document.items() if k != "persons"}, sort_keys=True)
        fields = compiled.fields.get(key)
        if fields is None:
            result = self._evaluate(compiled, DECISION, document)
            compiled.fields[key] = result.get("fields")
            if len(compiled.fields) > FIELD_CACHE_SIZE:
                compiled.fields.popitem(last=False)
        else:
            compiled.fields.move_to_end(key)
            gates_input = {k: v for k, v in document.items() if k != "fields"}
            result = self._evaluate(compiled, GATES, gates_input) | {"fields": fields}
        return Decision.from_policy_result(result)

    async def decide_labels(self, request: LabelInput) -> LabelDecision:
        return LabelDecision.from_policy_result(self.evaluate(LABELS, request.as_json()))

    async def aclose(self) -> None:
        return None
