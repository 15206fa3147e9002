"""The conformance checks: each one part of the adapter contract, against a running upstream.

Each check is an ``async`` function of a :class:`ConformanceTarget` that
returns quietly or raises :class:`ConformanceFailure`, whose message says what
is wrong and how to fix it. :class:`adapters.sdk.conformance.AdapterConformance`
runs them all as pytest tests; they can also be called one by one.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields as dataclass_fields
from dataclasses import is_dataclass, replace
from typing import Any, get_args

from adapters.sdk.conformance.target import ConformanceTarget, Fault
from adapters.sdk.contract import (
    LABELS_KEY,
    SENSITIVITY_LABELS,
    Adapter,
    FieldKind,
    FieldSpec,
    Health,
    HouseholdLink,
    Identifier,
    Match,
    SectionSpec,
)
from adapters.sdk.deadline import request_deadline
from adapters.sdk.demographics import Candidate, Demographics, block_keys
from adapters.sdk.errors import AdapterError, UpstreamBadReply, UpstreamTimeout, UpstreamUnavailable

AGENCY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FIELD_NAME = re.compile(r"^[a-z][A-Za-z0-9]*$")
SCHEME_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
KINDS: frozenset[str] = frozenset(get_args(FieldKind))
CHECK_TIMEOUT_S = 0.5
"""The adapter's own timeout in the fault checks: short, so the kit stays fast."""
LATE_S = 3.0
"""How late replies come under the ``latency`` fault: well past :data:`CHECK_TIMEOUT_S`."""
SLACK_S = 1.0
"""How long past its budget an adapter may take to give up before the kit calls it hung."""


class ConformanceFailure(AssertionError):
    """The adapter breaks the contract: ``problem`` says how, ``fix`` what to change."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}\n  how to fix: {fix}")
        self.problem = problem
        self.fix = fix


class NotApplicable(Exception):
    """The target cannot run this check (e.g. its upstream cannot be made slow)."""


def fail_if(condition: bool, problem: str, fix: str) -> None:
    if condition:
        raise ConformanceFailure(problem, fix)


@asynccontextmanager
async def connected(target: ConformanceTarget, timeout_s: float = 5.0) -> AsyncIterator[Adapter]:
    """A fresh adapter on the target's upstream, closed afterwards."""
    adapter = target.make_adapter(timeout_s)
    fail_if(
        not isinstance(adapter, Adapter),
        f"make_adapter returned {type(adapter).__name__}, not an adapters.sdk.Adapter",
        "subclass adapters.sdk.Adapter and return an instance from make_adapter",
    )
    try:
        yield adapter
    finally:
        await adapter.aclose()


# --- self-description -------------------------------------------------------------------


def check_section_spec(spec: SectionSpec) -> None:
    """The section description is complete and consistent (no upstream needed)."""
    fail_if(
        not isinstance(spec, SectionSpec),
        f"discover() returned {type(spec).__name__}, not a SectionSpec",
        "return an adapters.sdk.SectionSpec from discover()",
    )
    fail_if(
        not AGENCY_NAME.match(spec.agency),
        f"agency name {spec.agency!r} is not lower_snake_case",
        "name the agency in lower_snake_case (it becomes the GraphQL field Person.<agency> "
        "and the policy folder policies/agencies/<agency>/)",
    )
    fail_if(not spec.title.strip(), "the section has no title", "give SectionSpec a title")
    fail_if(
        not spec.lookup_schemes,
        "the section names no lookup scheme, so nobody can ever be found in it",
        "list the identifier schemes lookup() accepts in SectionSpec.lookup_schemes",
    )
    for scheme in spec.lookup_schemes + spec.other_identifier_schemes:
        fail_if(
            not SCHEME_NAME.match(scheme),
            f"identifier scheme {scheme!r} is not UPPER_SNAKE_CASE",
            "name identifier schemes like NI_NUMBER or NHS_NUMBER",
        )
    fail_if(
        bool(set(spec.lookup_schemes) & set(spec.other_identifier_schemes)),
        "a scheme is in both lookup_schemes and other_identifier_schemes",
        "other_identifier_schemes lists only schemes lookup() cannot find people by",
    )
    fail_if(not spec.fields, "the section has no fields", "declare its fields as FieldSpecs")
    _check_fields(spec.fields, "the section", nested=False)
    fail_if(
        isinstance(spec.max_batch, bool)
        or not isinstance(spec.max_batch, int)
        or spec.max_batch < 1,
        f"max_batch is {spec.max_batch!r}",
        "set max_batch to the most local ids one read() call accepts (1 if the upstream "
        "only reads one person per call)",
    )
    for label in spec.labels:
        fail_if(
            label not in SENSITIVITY_LABELS,
            f"label {label!r} is not one the policies know, so records carrying it are denied",
            f"use labels from adapters.sdk.SENSITIVITY_LABELS {SENSITIVITY_LABELS}, or add the "
            "new label to the SDK and the policies together",
        )
    fail_if(
        len(set(spec.labels)) != len(spec.labels),
        "a label is declared twice",
        "list each label once in SectionSpec.labels",
    )
    by_name = {f.name: f for f in spec.fields}
    for event in spec.events:
        source = by_name.get(event.list_field)
        fail_if(
            source is None or source.kind != "list",
            f"event {event.kind!r} is built from {event.list_field!r}, which is not a list field",
            f"point EventSpec.list_field at one of the list fields {_list_fields(spec)}",
        )
        assert source is not None
        items = {f.name: f for f in source.item_fields}
        date = items.get(event.date_field)
        fail_if(
            date is None or date.kind != "date",
            f"event {event.kind!r} dates its items by {event.date_field!r}, which is not a date "
            f"field of {event.list_field!r}",
            f"name a date item field of {event.list_field!r} in EventSpec.date_field",
        )
        for name in event.summary_fields:
            fail_if(
                name not in items,
                f"event {event.kind!r} summarises by {name!r}, which {event.list_field!r} items "
                "do not have",
                f"use item fields of {event.list_field!r}: {sorted(items)}",
            )
        fail_if(not event.kind.strip(), "an event has no kind", "say what the event is")


def _list_fields(spec: SectionSpec) -> list[str]:
    return [f.name for f in spec.fields if f.kind == "list"]


def _check_fields(specs: tuple[FieldSpec, ...], where: str, nested: bool) -> None:
    seen: set[str] = set()
    for spec in specs:
        fail_if(
            not FIELD_NAME.match(spec.name),
            f"field {spec.name!r} of {where} is not a lowerCamelCase name",
            "name fields in lowerCamelCase (they become GraphQL fields and policy coordinates)",
        )
        fail_if(
            spec.name in seen,
            f"field {spec.name!r} of {where} is declared twice",
            "declare each field once",
        )
        seen.add(spec.name)
        fail_if(
            spec.kind not in KINDS,
            f"field {spec.name!r} has kind {spec.kind!r}",
            f"use one of {sorted(KINDS)}",
        )
        fail_if(
            not spec.description.strip(),
            f"field {spec.name!r} of {where} has no description",
            "describe every field: it is the schema's documentation for caseworkers' systems",
        )
        if spec.kind == "list":
            fail_if(
                nested,
                f"list field {spec.name!r} is inside a list item",
                "keep list items flat: a list field's items cannot hold lists of objects",
            )
            fail_if(
                not spec.item_fields,
                f"list field {spec.name!r} does not describe its items",
                "give it item_fields, or make it kind 'string_list' for a list of strings",
            )
            _check_fields(spec.item_fields, f"the items of {spec.name!r}", nested=True)
        else:
            fail_if(
                bool(spec.item_fields),
                f"field {spec.name!r} has item_fields but kind {spec.kind!r}",
                "only kind 'list' has item_fields",
            )


async def check_self_description(target: ConformanceTarget) -> None:
    """discover() is complete, consistent, and the same on every call."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        check_section_spec(spec)
        fail_if(
            adapter.discover() != spec,
            "discover() describes a different section on a second call",
            "return one fixed SectionSpec (a module constant): the schema is built once",
        )


# --- lookups and reads -------------------------------------------------------------------


async def find_known(adapter: Adapter, target: ConformanceTarget) -> list[Match]:
    """Look up every known person; each must be found, as a well-formed Match."""
    spec = adapter.discover()
    fail_if(
        len(target.known) < 1,
        "the conformance target names nobody the upstream holds",
        "put identifiers of two or more people in ConformanceTarget.known",
    )
    found = []
    for identifiers in target.known:
        match = await adapter.lookup(identifiers)
        schemes = sorted({i.scheme for i in identifiers})
        fail_if(
            match is None,
            f"lookup by {schemes} found nobody, though the upstream holds this person",
            "check lookup() queries the upstream by each identifier in a scheme from "
            "lookup_schemes, and that ConformanceTarget.known names people it holds",
        )
        assert match is not None
        fail_if(
            not isinstance(match, Match),
            f"lookup() returned {type(match).__name__}, not a Match",
            "return adapters.sdk.Match (or None when nobody is found)",
        )
        fail_if(
            match.agency != spec.agency,
            f"the Match names agency {match.agency!r}, not {spec.agency!r}",
            "build Match(AGENCY, local_id, identifiers) with the agency from discover()",
        )
        fail_if(
            not isinstance(match.local_id, str) or not match.local_id,
            "the Match has no local id",
            "set Match.local_id to the upstream's own key for the person, as a string",
        )
        fail_if(
            not 0.0 <= match.confidence <= 1.0,
            f"match confidence {match.confidence} is outside 0..1",
            "use 1.0 for an exact identifier match, less for a fuzzier one",
        )
        for held in match.identifiers:
            fail_if(
                not isinstance(held, Identifier) or not SCHEME_NAME.match(held.scheme),
                f"the Match carries {held!r}, not an Identifier(SCHEME, value)",
                "carry only identifiers (Identifier('NI_NUMBER', ...)), never other data",
            )
            fail_if(
                held.scheme not in spec.identifier_schemes,
                f"the Match carries a {held.scheme} identifier, a scheme the section does "
                "not declare",
                "list schemes the agency holds but cannot be looked up by in "
                "SectionSpec.other_identifier_schemes",
            )
        found.append(match)
    return found


async def check_lookup(target: ConformanceTarget) -> None:
    """Known people are found; unknown ones and foreign identifier schemes find nobody."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        await find_known(adapter, target)
        unknown = target.unknown or (Identifier(spec.lookup_schemes[0], "CONFORMANCE0UNKNOWN"),)
        fail_if(
            await adapter.lookup(unknown) is not None,
            "lookup found someone for an identifier nobody holds",
            "return None when the upstream finds no record; never guess",
        )
        foreign = (Identifier("CONFORMANCE_FOREIGN_SCHEME", "X1"),)
        with target.count_calls() as calls:
            found = await adapter.lookup(foreign)
        fail_if(
            found is not None,
            "lookup found someone by an identifier scheme it does not hold",
            "ignore identifiers whose scheme is not in lookup_schemes",
        )
        fail_if(
            calls.count > 0,
            f"lookup called the upstream {calls.count} time(s) for an identifier scheme it "
            "does not hold",
            "skip identifiers whose scheme is not in lookup_schemes before calling the upstream",
        )


def _field_names(spec: SectionSpec) -> frozenset[str]:
    return frozenset(f.name for f in spec.fields)


async def check_read(target: ConformanceTarget) -> None:
    """read() returns each person's record, only the fields asked for, in their declared kinds."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        matches = await find_known(adapter, target)
        ids = tuple(dict.fromkeys(m.local_id for m in matches))[: spec.max_batch]
        records = await adapter.read(ids, _field_names(spec))
        for local_id in ids:
            fail_if(
                local_id not in records,
                f"read() returned no record for local id {local_id!r}, which lookup() found",
                "key read()'s result by the same local ids lookup() returns in Match.local_id",
            )
        fail_if(
            bool(set(records) - set(ids)),
            "read() returned records for local ids it was not asked for",
            "return only the records asked for",
        )
        for record in records.values():
            _check_record(record, spec.fields, spec, "the section")
        one = next(f.name for f in spec.fields if f.kind != "list")
        narrow = await adapter.read(ids[:1], frozenset({one}))
        for record in narrow.values():
            extra = set(record) - {one, LABELS_KEY}
            fail_if(
                bool(extra),
                f"read() asked only for {one!r} also returned {sorted(extra)}",
                "drop every field not in `fields` before returning: fields the policy "
                "withheld must never leave the adapter",
            )
        missing = await adapter.read(("conformance-no-such-id",), _field_names(spec))
        fail_if(
            bool(missing),
            "read() returned a record for a local id that does not exist",
            "leave ids the upstream does not hold out of the result",
        )


_PYTHON_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "date": (str,),
    "address": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "string_list": (list, tuple),
}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _check_record(
    record: Mapping[str, Any], specs: tuple[FieldSpec, ...], section: SectionSpec, where: str
) -> None:
    fail_if(
        not isinstance(record, Mapping),
        f"a record of {where} is a {type(record).__name__}, not a mapping",
        "return each record as a dict of field name to value",
    )
    by_name = {s.name: s for s in specs}
    for name, value in record.items():
        if name == LABELS_KEY:
            _check_labels(value, section, where)
            continue
        spec = by_name.get(name)
        fail_if(
            spec is None,
            f"a record of {where} has {name!r}, which the section does not declare",
            f"declare {name!r} as a FieldSpec, or stop returning it",
        )
        assert spec is not None
        if value is None:
            continue
        wanted = _PYTHON_TYPES[spec.kind]
        fail_if(
            not isinstance(value, wanted) or (spec.kind in ("int", "float") and value is True),
            f"{where} field {name!r} (kind {spec.kind}) holds a {type(value).__name__}",
            f"convert {name!r} to {' or '.join(t.__name__ for t in wanted)} in read()",
        )
        if spec.kind == "date":
            fail_if(
                not ISO_DATE.match(value),
                f"{where} field {name!r} (kind date) is not an ISO 8601 date",
                "return dates as 'YYYY-MM-DD' strings",
            )
        if spec.kind == "string_list":
            fail_if(
                not all(isinstance(v, str) for v in value),
                f"{where} field {name!r} (kind string_list) holds something other than strings",
                "return a list of strings",
            )
        if spec.kind == "list":
            for item in value:
                _check_record(item, spec.item_fields, section, f"the items of {name!r}")


def _check_labels(value: Any, section: SectionSpec, where: str) -> None:
    fail_if(
        not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value),
        f"{LABELS_KEY} of a record of {where} is not a list of label names",
        f"set {LABELS_KEY} to a list such as ['refuge_address'] (or leave it out)",
    )
    for label in value:
        fail_if(
            label not in section.labels,
            f"a record of {where} carries label {label!r}, which the section does not declare",
            "declare every label the upstream can emit in SectionSpec.labels "
            "(and keep to adapters.sdk.SENSITIVITY_LABELS)",
        )


def _labels_in(record: Mapping[str, Any]) -> Iterator[str]:
    yield from record.get(LABELS_KEY, ())
    for value in record.values():
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _labels_in(item)


async def check_labels(target: ConformanceTarget) -> None:
    """A record the upstream marks sensitive reaches the gateway with its label."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        if not spec.labels:
            raise NotApplicable("the section declares no sensitivity labels")
        fail_if(
            target.labelled is None,
            f"the section declares labels {list(spec.labels)}, but the conformance target "
            "names nobody whose record carries one",
            "put the identifiers of someone with a sensitive record in "
            "ConformanceTarget.labelled, so the kit can check the label reaches the gateway",
        )
        assert target.labelled is not None
        match = await adapter.lookup(target.labelled)
        fail_if(
            match is None,
            "lookup found nobody for ConformanceTarget.labelled",
            "name someone the upstream holds in ConformanceTarget.labelled",
        )
        assert match is not None
        records = await adapter.read((match.local_id,), _field_names(spec))
        labels = list(_labels_in(records.get(match.local_id, {})))
        fail_if(
            not labels,
            "a record the upstream marks sensitive came back without a label",
            f"copy the upstream's sensitivity markers into {LABELS_KEY} on the record (or the "
            "list item) they apply to: without it the policy cannot protect the record",
        )


async def check_batching(target: ConformanceTarget) -> None:
    """Reading N people costs no more upstream calls than reading one."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        if spec.max_batch < 2:
            raise NotApplicable("the section declares max_batch = 1")
        ids = tuple(dict.fromkeys(m.local_id for m in await find_known(adapter, target)))
        fail_if(
            len(ids) < 2,
            "the conformance target names fewer than two distinct people",
            "put two or more people in ConformanceTarget.known so batching can be checked",
        )
        ids = ids[: spec.max_batch]
        fields = _field_names(spec)
        with target.count_calls() as single:
            await adapter.read(ids[:1], fields)
        with target.count_calls() as batch:
            await adapter.read(ids, fields)
        fail_if(
            single.count == 0,
            "the kit counted no upstream calls for a read",
            "set ConformanceTarget.count_calls to the counter for your upstream's client "
            "(count_http_requests for aiohttp or httpx, count_sqlite_statements for sqlite3)",
        )
        fail_if(
            batch.count > single.count,
            f"reading {len(ids)} people took {batch.count} upstream calls, reading one took "
            f"{single.count}: the adapter calls the upstream per person",
            "fetch the whole batch of local ids in one upstream request (a batch endpoint, "
            "an IN (...) query, a search on several ids), or declare max_batch = 1",
        )


def declared_exactly_when_implemented(
    adapter: Adapter, method: str, capability: str, why: str
) -> None:
    """Fail unless the SectionSpec declares ``capability`` exactly when the adapter
    overrides ``method`` (the gateway calls an optional method only where declared)."""
    implemented = getattr(type(adapter), method) is not getattr(Adapter, method)
    declared = getattr(adapter.discover(), capability)
    fail_if(
        implemented != declared,
        f"the adapter implements {method}() but its SectionSpec does not declare {capability}"
        if implemented
        else f"{capability} is declared but {method}() is not implemented",
        f"declare SectionSpec.{capability} = True exactly when the adapter implements "
        f"{method}(): {why}",
    )


async def check_household(target: ConformanceTarget) -> None:
    """Household links: declared if and only if implemented; per local id, identifiers only,
    in one batch."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        declared_exactly_when_implemented(
            adapter,
            "household",
            "household_links",
            "the gateway asks only adapters that declare it",
        )
        if not spec.household_links:
            return
        ids = tuple(dict.fromkeys(m.local_id for m in await find_known(adapter, target)))
        ids = ids[: spec.max_batch]
        with target.count_calls() as single:
            await adapter.household(ids[:1])
        with target.count_calls() as batch:
            links = await adapter.household(ids)
        fail_if(
            not set(links) <= set(ids),
            "household() answered for local ids it was not asked about",
            "return links only for the local ids passed in",
        )
        for local_id, found in links.items():
            for link in found:
                fail_if(
                    not isinstance(link, HouseholdLink),
                    f"household() gave {type(link).__name__} for {local_id}, not a HouseholdLink",
                    "return adapters.sdk.HouseholdLink(relationship, identifiers)",
                )
                fail_if(
                    not isinstance(link.relationship, str) or not link.relationship,
                    "a household link has no relationship",
                    "say what the linked person is to the person: parent, child, partner...",
                )
                fail_if(
                    not link.identifiers and link.demographics is None,
                    "a household link names nobody",
                    "name the linked person by the identifiers the agency holds, or by "
                    "Demographics (name and date of birth) when it holds none",
                )
                for held in link.identifiers:
                    fail_if(
                        not isinstance(held, Identifier) or not SCHEME_NAME.match(held.scheme),
                        f"a household link carries {held!r}, not an Identifier(SCHEME, value)",
                        "carry only identifiers (and demographics), never agency data",
                    )
        fail_if(
            batch.count > single.count,
            f"household links of {len(ids)} people took {batch.count} upstream calls, of one "
            f"took {single.count}: the adapter calls the upstream per person",
            "fetch the links of the whole batch in one upstream request",
        )


async def check_batch_lookup(target: ConformanceTarget) -> None:
    """A declared batch lookup answers as one lookup per person does, in one upstream call."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        if not spec.batch_lookup:
            fail_if(
                type(adapter).lookup_many is not Adapter.lookup_many,
                "the adapter implements lookup_many() but its SectionSpec does not declare "
                "batch_lookup",
                "set batch_lookup=True in SECTION (the gateway then batches its lookups), or "
                "remove lookup_many(): the default looks people up one by one",
            )
            return
        sets = tuple(target.known[: spec.max_batch])
        one_by_one = [await adapter.lookup(identifiers) for identifiers in sets]
        with target.count_calls() as batch:
            batched = await adapter.lookup_many(sets)
        fail_if(
            list(batched) != one_by_one,
            f"lookup_many() of {len(sets)} people answered differently from one lookup() each",
            "return one Match or None per identifier set, in order, the first identifier "
            "found winning per person as in lookup()",
        )
        fail_if(
            batch.count > 1,
            f"looking up {len(sets)} people with lookup_many() took {batch.count} upstream "
            "calls: the adapter looks people up one by one",
            "find the whole batch in one upstream request (an IN (...) query, a batch "
            "endpoint, a search on several values), or do not declare batch_lookup",
        )


async def check_read_on_lookup(target: ConformanceTarget) -> None:
    """Read on lookup is declared exactly when implemented; it finds people as lookup_many()
    does and reads them as read() does, only the fields asked for, in one upstream call."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        declared_exactly_when_implemented(
            adapter,
            "lookup_and_read_many",
            "read_on_lookup",
            "when it finds and reads a batch of people in one upstream request the gateway "
            "reads a section with the lookup; otherwise leave both out: it is never called",
        )
        if not spec.read_on_lookup:
            return
        sets = tuple(target.known[: spec.max_batch])
        found = await adapter.lookup_many(sets)
        for fields in _field_sets(spec):
            with target.count_calls() as calls:
                both = await adapter.lookup_and_read_many(sets, fields)
            fail_if(
                calls.count == 0,
                "the kit counted no upstream calls for lookup_and_read_many()",
                "set ConformanceTarget.count_calls to the counter for your upstream's client "
                "(count_http_requests for aiohttp or httpx, count_sqlite_statements for sqlite3)",
            )
            fail_if(
                calls.count > 1,
                f"finding and reading {len(sets)} people with lookup_and_read_many() took "
                f"{calls.count} upstream calls",
                "find the whole batch and read what is found in one upstream request (a lookup "
                "that also answers the records), or do not declare read_on_lookup",
            )
            await _check_found_and_read(adapter, sets, fields, found, both)
        unknown = target.unknown or (Identifier(spec.lookup_schemes[0], "CONFORMANCE0UNKNOWN"),)
        fail_if(
            await adapter.lookup_and_read_many((unknown,), _field_names(spec)) != [None],
            "lookup_and_read_many() found someone for an identifier nobody holds",
            "answer None for a person the upstream finds no record of, as lookup_many() does",
        )


def _field_sets(spec: SectionSpec) -> tuple[frozenset[str], ...]:
    """The field sets read on lookup is checked with: every field, one, all but that one
    (the gateway asks for whatever the policy allows, often not everything)."""
    every = _field_names(spec)
    one = next((f.name for f in spec.fields if f.kind != "list"), spec.fields[0].name)
    return tuple(dict.fromkeys(s for s in (every, frozenset({one}), every - {one}) if s))


async def _check_found_and_read(
    adapter: Adapter,
    sets: tuple[tuple[Identifier, ...], ...],
    fields: frozenset[str],
    found: list[Match | None],
    both: list[tuple[Match, Mapping[str, Any]] | None],
) -> None:
    """``both``, what lookup_and_read_many(sets, fields) gave, is ``found`` (lookup_many's
    answer) with each match's read() record for ``fields``."""
    fail_if(
        not isinstance(both, list) or len(both) != len(sets),
        f"lookup_and_read_many() of {len(sets)} people did not give one answer per person",
        "return a list of one (Match, record) or None per identifier set, in order",
    )
    for answer in both:
        fail_if(
            answer is not None
            and not (
                isinstance(answer, tuple)
                and len(answer) == 2
                and isinstance(answer[0], Match)
                and isinstance(answer[1], Mapping)
            ),
            f"lookup_and_read_many() gave {type(answer).__name__}, not (Match, record) or None",
            "return (match, record) for each person found and None for each not found",
        )
    fail_if(
        [None if answer is None else answer[0] for answer in both] != found,
        f"lookup_and_read_many() of {len(sets)} people found them differently from lookup_many()",
        "pick each person's match exactly as lookup_many() does (the first identifier found "
        "winning), and None where it finds nobody",
    )
    for answer in both:
        if answer is None:
            continue
        match, record = answer
        fail_if(
            match.confidence != 1.0,
            f"lookup_and_read_many() gave a match of confidence {match.confidence}",
            "it finds people by their identifiers only: an exact match, confidence 1.0",
        )
        extra = set(record) - fields - {LABELS_KEY}
        fail_if(
            bool(extra),
            f"lookup_and_read_many() asked for {sorted(fields)} also returned {sorted(extra)}",
            "drop every field not in `fields` before returning, as read() does: fields the "
            "policy withheld must never leave the adapter",
        )
        read = await adapter.read((match.local_id,), fields)
        fail_if(
            record != read.get(match.local_id),
            f"lookup_and_read_many() gave local id {match.local_id!r} a record other than "
            f"read() gives it for {sorted(fields)}",
            "build the record with the code read() uses: the gateway must get the same "
            "section whichever way it reads",
        )


async def check_batch_search(target: ConformanceTarget) -> None:
    """Batch search is declared exactly when implemented; it answers as one search per
    person does, in one upstream call."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        declared_exactly_when_implemented(
            adapter,
            "search_many",
            "batch_search",
            "when it runs a batch of searches in one upstream request the gateway batches its "
            "searches; otherwise leave both out: the default searches one by one",
        )
        if not spec.batch_search:
            return
        fail_if(
            not spec.demographic_search,
            "batch_search is declared but demographic_search is not",
            "declare demographic_search too: the gateway searches only adapters that offer it",
        )
        matches = await find_known(adapter, target)
        wanted = tuple(
            dict.fromkeys(m.demographics for m in matches if m.demographics is not None)
        )[: spec.max_batch - 1]
        wanted = (*wanted, Demographics("Conformance", "Nobody", "1900-01-01", None))
        one_by_one = [await adapter.search(who) for who in wanted]
        with target.count_calls() as batch:
            batched = await adapter.search_many(wanted)
        fail_if(
            list(batched) != one_by_one,
            f"search_many() of {len(wanted)} people answered differently from one search() each",
            "return one list of candidates per Demographics, in order, each exactly what "
            "search() returns for it",
        )
        fail_if(
            batch.count > 1,
            f"searching for {len(wanted)} people with search_many() took {batch.count} "
            "upstream calls: the adapter searches one by one",
            "run the whole batch in one upstream request (a batch endpoint, one query of "
            "several subqueries, a document of several aliases), or do not declare "
            "batch_search",
        )


# --- failures ------------------------------------------------------------------------------


async def _expect_error(
    target: ConformanceTarget, fault: Fault, expected: type[AdapterError], budget_s: float
) -> None:
    if target.faults is None or fault not in target.faults.supported:
        raise NotApplicable(f"the target's upstream cannot be given the fault {fault!r}")
    async with connected(target, timeout_s=CHECK_TIMEOUT_S) as adapter:
        spec = adapter.discover()
        matches = await find_known(adapter, target)
        fields = _field_names(spec)
        healthy = await adapter.read((matches[0].local_id,), fields)
        values = set(_values_in(healthy))
        await target.faults.inject(fault, latency_s=LATE_S)
        try:
            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "read": lambda: adapter.read((matches[0].local_id,), fields),
                "lookup": lambda: adapter.lookup(target.known[0]),
            }
            for name, call in calls.items():
                started = time.monotonic()
                try:
                    await call()
                except AdapterError as exc:
                    error: AdapterError | None = exc
                except Exception as exc:  # the contract: only AdapterErrors escape
                    raise ConformanceFailure(
                        f"{name}() raised {type(exc).__name__} when the upstream had the fault "
                        f"{fault!r}",
                        f"catch it and raise adapters.sdk.{expected.__name__} (the SDK's "
                        "HttpUpstream does this for HTTP upstreams)",
                    ) from exc
                else:
                    error = None
                took = time.monotonic() - started
                fail_if(
                    error is None,
                    f"{name}() returned normally when the upstream had the fault {fault!r}",
                    f"raise adapters.sdk.{expected.__name__} when the upstream answers like this",
                )
                assert error is not None
                fail_if(
                    not isinstance(error, expected),
                    f"{name}() raised {type(error).__name__} for the fault {fault!r}",
                    f"raise adapters.sdk.{expected.__name__} for this failure",
                )
                fail_if(
                    error.agency != spec.agency,
                    f"the error names agency {error.agency!r}, not {spec.agency!r}",
                    "construct errors with the agency name from discover()",
                )
                leaked = sorted(v for v in values if v in str(error))
                fail_if(
                    bool(leaked),
                    f"the {type(error).__name__} message contains agency data",
                    "keep errors to what went wrong (status, timing), never record values: "
                    "error messages reach callers and logs",
                )
                fail_if(
                    took > budget_s + SLACK_S,
                    f"{name}() took {took:.1f}s to fail with the fault {fault!r}, its budget "
                    f"was {budget_s:.1f}s",
                    "give every upstream call a timeout no longer than the adapter's timeout_s",
                )
        finally:
            await target.faults.clear()


async def check_timeout(target: ConformanceTarget) -> None:
    """An upstream slower than the adapter's timeout gives UpstreamTimeout, on time."""
    await _expect_error(target, "latency", UpstreamTimeout, CHECK_TIMEOUT_S)


async def check_outage(target: ConformanceTarget) -> None:
    """An upstream that is down or answers 5xx gives UpstreamUnavailable."""
    await _expect_error(target, "outage", UpstreamUnavailable, CHECK_TIMEOUT_S)


async def check_malformed(target: ConformanceTarget) -> None:
    """An upstream reply that does not parse gives UpstreamBadReply."""
    await _expect_error(target, "malformed", UpstreamBadReply, CHECK_TIMEOUT_S)


async def check_deadline(target: ConformanceTarget) -> None:
    """The request's deadline cuts the adapter's own timeout, before and during a call."""
    async with connected(target, timeout_s=5.0) as adapter:
        spec = adapter.discover()
        matches = await find_known(adapter, target)
        fields = _field_names(spec)
        with target.count_calls() as calls, request_deadline(0.0):
            try:
                await adapter.read((matches[0].local_id,), fields)
            except UpstreamTimeout:
                pass
            else:
                raise ConformanceFailure(
                    "read() ran although the request's deadline had passed",
                    "start every upstream call with budget = adapters.sdk.deadline.remaining_s("
                    "self.timeout_s) and raise UpstreamTimeout when it is 0",
                )
        fail_if(
            calls.count > 0,
            "read() called the upstream after the request's deadline had passed",
            "check remaining_s() before calling the upstream",
        )
        if target.faults is None or "latency" not in target.faults.supported:
            return  # the deadline was checked before the call; it cannot be checked during one
        await target.faults.inject("latency", latency_s=LATE_S)
        try:
            started = time.monotonic()
            with request_deadline(0.3):
                try:
                    await adapter.read((matches[0].local_id,), fields)
                except UpstreamTimeout:
                    pass
                except AdapterError as exc:
                    raise ConformanceFailure(
                        f"read() past the request's deadline raised {type(exc).__name__}",
                        "raise UpstreamTimeout when the call's time budget runs out",
                    ) from exc
                else:
                    raise ConformanceFailure(
                        "read() waited for a slow upstream past the request's deadline",
                        "give each call remaining_s(self.timeout_s) as its timeout",
                    )
            took = time.monotonic() - started
            fail_if(
                took > 0.3 + SLACK_S,
                f"read() gave up {took:.1f}s into a request with a 0.3s deadline (its own "
                "timeout was 5s)",
                "cut each call's timeout to adapters.sdk.deadline.remaining_s(self.timeout_s)",
            )
        finally:
            await target.faults.clear()


# --- health and retention -----------------------------------------------------------------


async def check_health(target: ConformanceTarget) -> None:
    """check() says ok for a healthy upstream and not ok, without raising, for a broken one."""
    async with connected(target, timeout_s=CHECK_TIMEOUT_S) as adapter:
        health = await adapter.check()
        fail_if(
            not isinstance(health, Health) or not health.ok,
            f"check() reported {health!r} for a healthy upstream",
            "return Health(True) when the upstream answers a cheap request",
        )
        if target.faults is None or "outage" not in target.faults.supported:
            return
        await target.faults.inject("outage")
        try:
            try:
                broken = await adapter.check()
            except Exception as exc:
                raise ConformanceFailure(
                    f"check() raised {type(exc).__name__} for an upstream that is down",
                    "catch AdapterError in check() and return Health(False, exc.detail)",
                ) from exc
            fail_if(
                broken.ok,
                "check() reported ok for an upstream that is down",
                "make check() call the upstream (e.g. GET /health) and report what it saw",
            )
            fail_if(
                not broken.detail,
                "check() gave no detail for an upstream that is down",
                "say what failed in Health.detail (without agency data)",
            )
        finally:
            await target.faults.clear()


def _values_in(records: Mapping[str, Mapping[str, Any]]) -> Iterator[str]:
    """Record values distinctive enough to spot if an adapter kept them (no short codes)."""

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if key != LABELS_KEY:
                    yield from walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                yield from walk(inner)
        elif isinstance(value, str) and len(value) >= 6:
            yield value

    for record in records.values():
        yield from walk(record)


def _held_strings(root: object, depth: int = 5) -> Iterator[tuple[str, str]]:
    """(path, string) for strings the adapter object holds, following its own attributes
    and containers (not into library objects such as HTTP clients)."""
    seen: set[int] = set()

    def walk(value: object, path: str, depth: int) -> Iterator[tuple[str, str]]:
        if depth < 0 or id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                yield from walk(key, f"{path}[key]", depth - 1)
                yield from walk(inner, f"{path}[{key!r}]", depth - 1)
        elif isinstance(value, list | tuple | set | frozenset):
            for index, inner in enumerate(value):
                yield from walk(inner, f"{path}[{index}]", depth - 1)
        elif is_dataclass(value) and not isinstance(value, type):
            for f in dataclass_fields(value):
                yield from walk(getattr(value, f.name, None), f"{path}.{f.name}", depth - 1)
        elif type(value).__module__.split(".")[0] in _own_packages(root):
            for name, inner in vars(value).items() if hasattr(value, "__dict__") else ():
                yield from walk(inner, f"{path}.{name}", depth - 1)

    yield from walk(root, "adapter", depth)


def _own_packages(root: object) -> set[str]:
    return {type(root).__module__.split(".")[0], "adapters"}


async def _known_demographics(
    adapter: Adapter, target: ConformanceTarget
) -> list[tuple[Match, Demographics]]:
    """The known people's matches, each with the demographics it must carry."""
    known = []
    for match in await find_known(adapter, target):
        fail_if(
            match.demographics is None,
            f"lookup() gave no demographics for local id {match.local_id!r}",
            "return Match.demographics (name, date of birth, postcode as recorded) from "
            "lookup(): the gateway searches other agencies by them",
        )
        assert match.demographics is not None
        known.append((match, match.demographics))
    return known


async def check_search(target: ConformanceTarget) -> None:
    """Demographic search, when declared, finds the known people by what their own records
    say, returns well-formed candidates and nobody for a person no one holds."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        implemented = type(adapter).search is not Adapter.search
        if not spec.demographic_search:
            fail_if(
                implemented,
                "the adapter implements search() but its SectionSpec does not declare it",
                "set demographic_search=True in SECTION, or remove search(): the gateway "
                "only calls search() on adapters that declare it",
            )
            return
        for match, person in await _known_demographics(adapter, target):
            candidates = await adapter.search(person)
            fail_if(
                not isinstance(candidates, list)
                or not all(isinstance(c, Candidate) for c in candidates),
                "search() did not return a list of adapters.sdk.Candidate",
                "return [Candidate(local_id, demographics, identifiers), ...]",
            )
            for candidate in candidates:
                fail_if(
                    not isinstance(candidate.local_id, str)
                    or not isinstance(candidate.demographics, Demographics)
                    or not all(isinstance(i, Identifier) for i in candidate.identifiers),
                    "a search candidate is malformed",
                    "give each Candidate a str local_id, Demographics and a tuple of Identifiers",
                )
            fail_if(
                match.local_id not in {c.local_id for c in candidates},
                f"search() by the demographics of local id {match.local_id!r} did not find it",
                "search the upstream by name and date of birth (allowing the usual noise) and "
                "key candidates by the same local ids lookup() returns",
            )
        nobody = Demographics("Conformance", "Nobody", "1900-01-01", None)
        fail_if(
            bool(await adapter.search(nobody)),
            "search() for a person no one holds returned candidates",
            "block on date of birth (exactly, or with day and month swapped) so that "
            "unrelated people are never offered as candidates",
        )


def _same_block_keys(person: Demographics) -> list[tuple[str, Demographics]]:
    """Searches with other details than ``person`` but the same blocking keys, each with
    what changed.

    A different given name, a different family name with the same initial (the first
    letter, as :func:`block_keys` takes it), a different or no postcode and no former
    names; then the same with the family name after a non-letter (an apostrophe, as in
    't Hooft, whose initial is its first letter), and the same with day and month of
    birth swapped, where that is another date (the keys hold the date both ways round).
    """
    letters = "".join(ch for ch in (person.family_name or "").lower() if ch.isalpha())
    family = person.family_name  # without a letter, no initial is a key: kept as it is
    if letters:
        initial = letters[0].upper() if letters[0].upper().lower() == letters[0] else letters[0]
        family = next(
            name
            for name in (f"{initial}onformancevariant", f"{initial}ariantconformance")
            if name != person.family_name
        )
    variant = replace(
        person,
        given_name=next(n for n in ("Kitvariant", "Otherkit") if n != person.given_name),
        family_name=family,
        postcode=None if person.postcode else "ZZ99 9ZZ",
        former_family_names=(),
    )
    changed = "another given name, family name after the initial and postcode"
    variants = [(changed, variant)]
    if letters:  # the initial is the first letter, not the first character
        quoted = replace(variant, family_name=f"'{family}")
        variants.append((f"{changed}, and an apostrophe before the family name", quoted))
    dob = person.date_of_birth or ""
    swapped = replace(variant, date_of_birth=f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}")
    if swapped.date_of_birth != dob and block_keys(swapped) == block_keys(person):
        variants.append((f"{changed}, and day and month of birth swapped", swapped))
    return variants


async def check_search_by_block_keys(target: ConformanceTarget) -> None:
    """When ``search_by_block_keys`` is declared, search() finds the same records for any
    two searches with the same blocking keys (adapters/sdk/demographics.py), whatever the
    given names, the rest of the family names or the postcodes."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        if not spec.search_by_block_keys:
            return
        fail_if(
            not spec.demographic_search,
            "search_by_block_keys is declared but demographic_search is not",
            "declare demographic_search too (search_by_block_keys says how search() answers, "
            "and the gateway searches only adapters that offer search), or leave both out",
        )
        for match, person in await _known_demographics(adapter, target):
            found = {c.local_id for c in await adapter.search(person)}
            for what, variant in _same_block_keys(person):
                # The kit's own precondition: a variant that changed the keys proves nothing.
                assert block_keys(variant) == block_keys(person), what
                other = {c.local_id for c in await adapter.search(variant)}
                fail_if(
                    other != found,
                    f"search() by the demographics of local id {match.local_id!r} and by the "
                    f"same with {what} (the same blocking keys) found different records: "
                    f"{len(found - other)} only by the first, {len(other - found)} only by the "
                    "second",
                    "search by the blocking keys alone (adapters/sdk/demographics.py: date of "
                    "birth, that date with day and month swapped, family-name initial (its first "
                    "letter, not character) and year of birth), never filtering on given name, the "
                    "rest of the family name or postcode, and cut a long answer the same way for "
                    "the same keys; or do not declare search_by_block_keys",
                )


async def check_no_retention(target: ConformanceTarget) -> None:
    """No agency data is left in the adapter after a call: it holds connections, not records."""
    async with connected(target) as adapter:
        spec = adapter.discover()
        matches = await find_known(adapter, target)
        records = await adapter.read(
            tuple(dict.fromkeys(m.local_id for m in matches))[: spec.max_batch],
            _field_names(spec),
        )
        values = set(_values_in(records))
        fail_if(
            not values,
            "the known people's records hold no values long enough to trace",
            "name people with fuller records in ConformanceTarget.known",
        )
        for path, held in _held_strings(adapter):
            fail_if(
                held in values,
                f"after read() returned, {path} still holds a value from a record",
                "do not cache or keep records on the adapter: the gateway must hold no agency "
                "data beyond the life of a request (keep only configuration and connection pools)",
            )


ALL_CHECKS = (
    check_self_description,
    check_lookup,
    check_read,
    check_labels,
    check_batching,
    check_batch_lookup,
    check_read_on_lookup,
    check_outage,
    check_malformed,
    check_timeout,
    check_deadline,
    check_health,
    check_search,
    check_batch_search,
    check_search_by_block_keys,
    check_household,
    check_no_retention,
)
"""Every check, in the order a newcomer meets the contract."""
