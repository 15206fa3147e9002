"""Embedded Rego engine: the policies evaluated in-process with regopy (rego-cpp).

The policy folder is checked by OPA (``opa check --strict``: rego-cpp silently
accepts some v0 syntax) and compiled once into a bundle; each decision
evaluates a bundle entrypoint. regopy interpreters are not thread-safe, so
this engine is only used from the event-loop thread.

A request decision is assembled from parts the policy decided before
(``gateway/policy/memo.py``): each field's decision per caller roles and
purpose, each gate per request context and agency view of a person (the class
of its match confidence, relationship, consent), the request-wide parts
(obligations, search limits) per request context. Only what is not yet known
is evaluated: the first request of a roles/purpose context evaluates the whole
field catalogue (``joinedup.decision`` without persons); a match confidence
not seen before is classed (``joinedup.confidence``); a new agency view or
break-glass/override evaluates only the gates (``joinedup.gates``). The label
decision is assembled the same way from each labelled record's part, per
roles/purpose and (agency, labels): only label sets not seen before are
evaluated (``joinedup.labels``). The memo belongs to the compiled revision, so
a reload starts afresh.

Hot reload: before a decision the folder's file times are compared with the
loaded ones (a stat per file, see ``bench/policy_decision.py``), at most once
per reload interval (``FolderWatch``); a changed folder is recompiled. A
folder that fails to compile or check is rejected with a log line and the
previous policy stays in force.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regopy

from gateway.policy.bundle import (
    DEFAULT_RELOAD_INTERVAL_S,
    FolderWatch,
    OpaCheck,
    PolicyRejected,
    data_document,
    policy_files,
    policy_revision,
)
from gateway.policy.decision import (
    Decision,
    DecisionInput,
    FieldDecision,
    LabelDecision,
    LabelInput,
    LabelledRecord,
    read_field_decision,
)
from gateway.policy.memo import (
    DecisionMemo,
    FieldKey,
    LabelPart,
    RequestWide,
    field_context,
    gate_context,
    key_of,
    label_part_key,
    match_key,
    shared_view,
)

log = logging.getLogger(__name__)

OPA_CHECK = OpaCheck()
DECISION = "joinedup/decision"
GATES = "joinedup/gates"
LABELS = "joinedup/labels"
CONFIDENCE = "joinedup/confidence"


@dataclass
class _Compiled:
    bundle: Any
    revision: str
    catalogue: tuple[FieldKey, ...]
    """Every catalogued field and agency section: decided at once for a new context."""
    memo: DecisionMemo = field(default_factory=DecisionMemo)


def field_catalogue(folder: Path) -> tuple[FieldKey, ...]:
    agencies = data_document(folder).get("agencies", {})
    return tuple(
        key
        for agency, document in sorted(agencies.items())
        for key in [
            (f"Person.{agency}", agency),
            *((coordinate, agency) for coordinate in document.get("fields", {})),
        ]
    )


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
        return builder.build(None, [DECISION, GATES, LABELS, CONFIDENCE])
    except regopy.RegoError as exc:
        raise PolicyRejected(str(exc).splitlines()[0][:500]) from exc


class EmbeddedEngine:
    name = "embedded"

    def __init__(
        self,
        folder: Path,
        check: Callable[[Path], None] = OPA_CHECK,
        hot_reload: bool = True,
        reload_interval_s: float = DEFAULT_RELOAD_INTERVAL_S,
    ) -> None:
        self.folder = folder
        self._check = check
        self._watch = FolderWatch(folder, reload_interval_s) if hot_reload else None
        self._compiled = self._load()
        self._interpreter = regopy.Interpreter()

    @property
    def revision(self) -> str:
        return self._compiled.revision

    def _load(self) -> _Compiled:
        self._check(self.folder)
        return _Compiled(
            compile_folder(self.folder),
            policy_revision(self.folder),
            field_catalogue(self.folder),
        )

    def reload_if_changed(self) -> None:
        if self._watch is None or not self._watch.changed():
            return
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
        self.reload_if_changed()
        compiled = self._compiled
        document = request.as_json()
        fields = self._fields(compiled, document)
        request_wide, persons = self._persons(compiled, document)
        return Decision(
            fields,
            persons,
            request_wide.obligations,
            request_wide.revision,
            search=request_wide.search,
        )

    def _fields(self, compiled: _Compiled, document: dict[str, Any]) -> dict[str, FieldDecision]:
        """Each requested field's decision; the unknown ones evaluated in one go."""
        context = field_context(document)
        key = key_of(context)
        known = compiled.memo.fields_of(key) or {}
        wanted = [(f["coordinate"], f["agency"]) for f in document["fields"]]
        missing = [k for k in dict.fromkeys(wanted) if k not in known]
        if missing:
            if not known:
                missing = list(dict.fromkeys([*missing, *compiled.catalogue]))
            decided = self._decide_fields(compiled, context, missing)
            compiled.memo.remember_fields(key, decided)
            known = known | decided
        return {coordinate: known[(coordinate, agency)] for coordinate, agency in wanted}

    def _decide_fields(
        self, compiled: _Compiled, context: dict[str, Any], fields: list[FieldKey]
    ) -> dict[FieldKey, FieldDecision]:
        document = context | {
            "fields": [{"coordinate": c, "agency": a} for c, a in fields],
            "persons": [],
        }
        entries = self._evaluate(compiled, DECISION, document).get("fields")
        if not isinstance(entries, list) or len(entries) != len(fields):
            raise ValueError("policy result 'fields' does not answer each field once")
        decided = {}
        for key, entry in zip(fields, entries, strict=True):
            if not isinstance(entry, Mapping) or entry.get("coordinate") != key[0]:
                raise ValueError("policy result 'fields' is not in the order asked")
            decided[key] = read_field_decision(entry)
        return decided

    def _persons(
        self, compiled: _Compiled, document: dict[str, Any]
    ) -> tuple[RequestWide, dict[str, dict[str, FieldDecision]]]:
        """The request-wide parts and each person's gates; unknown ones evaluated in one go."""
        context = gate_context(document)
        key = key_of(context)
        memo = compiled.memo
        classes = self._classes(compiled, document["persons"])
        views: dict[str, dict[str, str]] = {}
        view_inputs: dict[str, dict[str, Any]] = {}
        for person in document["persons"]:
            shared = shared_view(person, document["purpose"])
            per_agency = views.setdefault(person["key"], {})
            for agency, confidence in person["match_confidence"].items():
                match_class = classes[match_key(agency, confidence)]
                view = key_of(shared | {"agency": agency, "class": match_class})
                per_agency[agency] = view
                view_inputs.setdefault(view, shared | {"match_confidence": {agency: confidence}})
        gates = {view: memo.gate_of(key, view) for view in view_inputs}
        missing = [view for view, gate in gates.items() if gate is None]
        request_wide = memo.request_wide_of(key)
        if request_wide is None or missing:
            asked = [view_inputs[view] | {"key": str(n)} for n, view in enumerate(missing)]
            decided = Decision.from_policy_result(
                self._evaluate(compiled, GATES, context | {"persons": asked})
            )
            request_wide = RequestWide(decided.obligations, decided.search, decided.revision)
            memo.remember_request_wide(key, request_wide)
            for n, view in enumerate(missing):
                gate = _only_gate(decided.persons.get(str(n)), asked[n]["match_confidence"])
                gates[view] = gate
                memo.remember_gate(key, view, gate)
        persons = {
            person: {agency: _decided(gates[view]) for agency, view in per_agency.items()}
            for person, per_agency in views.items()
        }
        return request_wide, persons

    def _classes(self, compiled: _Compiled, persons: list[dict[str, Any]]) -> dict[str, str]:
        """The class of each (agency, match confidence) of the persons (joinedup.confidence)."""
        matches = {
            match_key(agency, confidence): {"agency": agency, "confidence": confidence}
            for person in persons
            for agency, confidence in person["match_confidence"].items()
        }
        known = {match: compiled.memo.class_of(match) for match in matches}
        classes = {match: found for match, found in known.items() if found is not None}
        unknown = [match for match in matches if match not in classes]
        if unknown:
            result = self._evaluate(
                compiled, CONFIDENCE, {"matches": [matches[m] for m in unknown]}
            ).get("classes")
            if not isinstance(result, list) or len(result) != len(unknown):
                raise ValueError("policy result 'classes' does not answer each match once")
            for match, found in zip(unknown, result, strict=True):
                if not isinstance(found, str):
                    raise ValueError("policy result 'classes' holds a class that is no name")
                classes[match] = found
                compiled.memo.remember_class(match, found)
        return classes

    async def decide_labels(self, request: LabelInput) -> LabelDecision:
        """Put together from each labelled record's part; the unknown parts evaluated in one go."""
        self.reload_if_changed()
        compiled = self._compiled
        memo = compiled.memo
        context = field_context({"caller": request.caller, "purpose": request.purpose})
        key = key_of(context)
        asked = {label_part_key(record): record for record in request.records}
        known = {part: memo.label_part_of(key, part) for part in asked}
        missing = [part for part, found in known.items() if found is None]
        revision = memo.label_revision
        if missing or revision is None:
            decided, revision = self._decide_label_parts(
                compiled, context, [asked[part] for part in missing]
            )
            memo.label_revision = revision
            for part, found in zip(missing, decided, strict=True):
                known[part] = found
                memo.remember_label_part(key, part, found)
        return _labels_of(request.records, known, revision)

    def _decide_label_parts(
        self, compiled: _Compiled, context: dict[str, Any], records: list[LabelledRecord]
    ) -> tuple[list[LabelPart], str]:
        """Each record's part, asked as a record of its own person with a made-up id, so the
        answer holds nothing of the request but what the part is keyed by."""
        ids = [str(n) for n in range(len(records))]
        document = context | {
            "records": [
                {"id": id_, "person": id_, "agency": record.agency, "labels": list(record.labels)}
                for id_, record in zip(ids, records, strict=True)
            ]
        }
        decided = LabelDecision.from_policy_result(self._evaluate(compiled, LABELS, document))
        if list(decided.records) != ids or not decided.persons.keys() <= set(ids):
            raise ValueError("policy result 'records' does not answer each record asked once")
        parts = [LabelPart(decided.records[id_], decided.persons.get(id_)) for id_ in ids]
        return parts, decided.revision

    async def aclose(self) -> None:
        return None


def _labels_of(
    records: tuple[LabelledRecord, ...], parts: Mapping[str, LabelPart | None], revision: str
) -> LabelDecision:
    """The label decision of the records from their parts: the coordinates of a person a
    label protects are the union over the person's records (one reason per coordinate, as
    the whole evaluation's object would require)."""
    decisions: dict[str, FieldDecision] = {}
    persons: dict[str, dict[str, str]] = {}
    for record in records:
        part = parts[label_part_key(record)]
        if part is None:
            raise ValueError("a labelled record's part was not decided")
        decisions[record.id] = part.record
        if part.protects is not None:
            protected = persons.setdefault(record.person, {})
            for coordinate, reason in part.protects.items():
                if protected.setdefault(coordinate, reason) != reason:
                    raise ValueError("labels protect a coordinate of a person for two reasons")
    return LabelDecision(decisions, persons, revision)


def _only_gate(
    agencies: Mapping[str, FieldDecision] | None, asked: Mapping[str, Any]
) -> FieldDecision:
    if agencies is None or agencies.keys() != asked.keys():
        raise ValueError("policy result 'persons' does not gate each agency asked once")
    return next(iter(agencies.values()))


def _decided(gate: FieldDecision | None) -> FieldDecision:
    if gate is None:
        raise ValueError("a person's gate was not decided")
    return gate
