"""Decision log: one JSON line per policy decision, in OPA's decision-log format.

Fields follow OPA's decision log event (``decision_id``, ``path``, ``input``,
``result``, ``timestamp``, ``labels``, ``erased``), so tools that read OPA's
logs read these. Sensitive input is erased before writing, as OPA's
``system.log.mask`` would: the JSON pointers removed are listed in ``erased``.
The log is operational; the audit store remains the record of disclosure.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TextIO

from gateway.audit.store import timestamp
from gateway.policy import Decision, DecisionInput

DECISION_PATH = "joinedup/decision"

Governs = Literal["disclosure", "reads"]

# Input that may identify a person or carry free text about them: never logged.
ERASED_POINTERS: tuple[str, ...] = (
    "/input/person",
    "/input/persons",  # each person's key is an identifier; consent travels with it
    "/input/identifiers",
    "/input/break_glass/reason",
    "/input/consent_override/reason",
    "/input/consent",
)


class DecisionLog:
    """Append decision events to a file (``path``) or to standard output (``"-"``)."""

    def __init__(self, target: str, instance_id: str, version: str) -> None:
        self.target = target
        self.labels = {"id": instance_id, "version": version, "app": "joinedup"}
        self._lock = threading.Lock()
        self._out: TextIO = (
            sys.stdout if target == "-" else Path(target).open("a", encoding="utf-8")
        )

    def write(
        self, request_id: str, request: DecisionInput, decision: Decision, governs: Governs
    ) -> None:
        """Append one decision; ``governs`` says what it was taken for.

        A request's ``disclosure`` decision governs its response and is the one the
        audit names. A ``reads`` decision only lets agencies be read sooner: taken while
        demographic searches still run (on the people as identifiers found them), or to
        plan what lookups may read (on exact matches assumed where agencies read on
        lookup).
        """
        document, erased = erase({"input": request.as_json()}, ERASED_POINTERS)
        event: dict[str, Any] = {
            "decision_id": decision.decision_id,
            "path": DECISION_PATH,
            "input": document["input"],
            "result": _result(decision),
            "timestamp": timestamp().replace("+00:00", "Z"),
            "labels": self.labels,
            "request_id": request_id,  # not an OPA field: joins the line to the audit
            "governs": governs,  # not an OPA field either
        }
        if erased:
            event["erased"] = erased
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n"
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def close(self) -> None:
        if self._out is not sys.stdout:
            self._out.close()


def _result(decision: Decision) -> dict[str, Any]:
    fields = {
        coordinate: {
            key: value
            for key, value in (("effect", d.effect), ("mask", d.mask), ("reason", d.reason))
            if value is not None
        }
        for coordinate, d in decision.fields.items()
    }
    return {
        "fields": fields,
        "obligations": dict(decision.obligations),
        "revision": decision.revision,
    }


def erase(
    document: Mapping[str, Any], pointers: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``document`` without the values at ``pointers``; and which were present."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    erased = []
    for pointer in pointers:
        *parents, leaf = pointer.strip("/").split("/")
        node: Any = copy
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            del node[leaf]
            erased.append(pointer)
    return copy, erased


def new_instance_id() -> str:
    return uuid.uuid4().hex
