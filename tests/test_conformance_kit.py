"""The conformance kit catches broken adapters, and says what to fix.

Each test breaks one part of the contract in a copy of a real adapter (the
benefits adapter, on the session's benefits simulator) and checks the kit fails
it with the right explanation. Without these, a kit that passed everything
would look the same as a kit that works.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.benefits import BenefitsAdapter
from adapters.benefits.adapter import SECTION
from adapters.sdk import (
    Adapter,
    Candidate,
    Demographics,
    EventSpec,
    FieldSpec,
    Identifier,
    Match,
    SectionSpec,
)
from adapters.sdk.conformance import ConformanceFailure, ConformanceTarget, SimulatorFaults
from adapters.sdk.conformance.checks import (
    check_batch_lookup,
    check_batch_search,
    check_batching,
    check_deadline,
    check_lookup,
    check_no_retention,
    check_read,
    check_read_on_lookup,
    check_search,
    check_search_by_block_keys,
    check_section_spec,
)
from simulators.launcher import DemoWorld


class PerPersonReads(BenefitsAdapter):
    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for local_id in local_ids:
            found.update(await super().read((local_id,), fields))
        return found


class PerPersonLookups(BenefitsAdapter):
    """Declares batch_lookup (as BenefitsAdapter does) but looks people up one by one."""

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        return [await self.lookup(identifiers) for identifiers in identifier_sets]


class PerPersonSearches(BenefitsAdapter):
    """Declares batch_search (as BenefitsAdapter does) but searches one by one."""

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        return [await self.search(who) for who in demographics_list]


class BatchSearchUndeclared(BenefitsAdapter):
    def discover(self) -> SectionSpec:
        return dataclasses.replace(SECTION, batch_search=False)


class LeaksFieldsOnLookup(BenefitsAdapter):
    """Reads every field on lookup, whatever it is asked for."""

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        every = frozenset(f.name for f in SECTION.fields)
        return await super().lookup_and_read_many(identifier_sets, every)


class LooksUpThenReads(BenefitsAdapter):
    """Declares read_on_lookup (as BenefitsAdapter does) but makes the two calls it saves."""

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        found = await self.lookup_many(identifier_sets)
        records = await self.read(tuple(m.local_id for m in found if m is not None), fields)
        return [None if m is None else (m, records[m.local_id]) for m in found]


class ReadOnLookupUndeclared(BenefitsAdapter):
    def discover(self) -> SectionSpec:
        return dataclasses.replace(SECTION, read_on_lookup=False)


class ReadOnLookupUnimplemented(BenefitsAdapter):
    lookup_and_read_many = Adapter.lookup_and_read_many


class LeaksFields(BenefitsAdapter):
    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return await super().read(local_ids, frozenset(f.name for f in SECTION.fields))


@dataclass
class KeepsRecords(BenefitsAdapter):
    _cache: dict[str, Mapping[str, Any]] = field(default_factory=dict, init=False)

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        found = await super().read(local_ids, fields)
        self._cache.update(found)
        return found


class IgnoresDeadline(BenefitsAdapter):
    def __post_init__(self) -> None:
        super().__post_init__()
        self._upstream.timeout_s = 5.0

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        from adapters.sdk import deadline

        original = deadline._DEADLINE.set(None)  # forgets the request's deadline
        try:
            return await super().read(local_ids, fields)
        finally:
            deadline._DEADLINE.reset(original)


class SearchFindsNobody(BenefitsAdapter):
    async def search(self, demographics: Demographics) -> list[Candidate]:
        return []


class SearchOffersEveryone(BenefitsAdapter):
    async def search(self, demographics: Demographics) -> list[Candidate]:
        found = await super().search(demographics)
        return [*found, Candidate("QQ000000A", Demographics("Un", "Related", "1980-01-01"))]


class SearchFiltersByGivenName(BenefitsAdapter):
    """Declares search_by_block_keys but keeps only the candidates of the given name searched:
    a search with the same blocking keys and another given name finds other records."""

    def discover(self) -> SectionSpec:
        return dataclasses.replace(SECTION, search_by_block_keys=True)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        found = await super().search(demographics)
        return [c for c in found if c.demographics.given_name == demographics.given_name]


class BlockKeysWithoutSearch(BenefitsAdapter):
    def discover(self) -> SectionSpec:
        return dataclasses.replace(SECTION, demographic_search=False, search_by_block_keys=True)


class CarriesUndeclaredScheme(BenefitsAdapter):
    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        found = await super().lookup(identifiers)
        if found is None:
            return None
        passport = Identifier("PASSPORT_NUMBER", "123456789")
        return dataclasses.replace(found, identifiers=(*found.identifiers, passport))


class SearchUndeclared(BenefitsAdapter):
    def discover(self) -> SectionSpec:
        return dataclasses.replace(SECTION, demographic_search=False)


def target_for(
    adapter: type[Adapter], demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> ConformanceTarget:
    url = demo_world.systems["benefits"].url
    people = [p for p in ground_truth if p["known_to_all"]][:3]
    return ConformanceTarget(
        make_adapter=lambda timeout_s: adapter(url, timeout_s=timeout_s),
        known=tuple((Identifier("NI_NUMBER", p["ni_number"]),) for p in people),
        faults=SimulatorFaults(url),
    )


@pytest.mark.parametrize(
    ("adapter", "check", "problem"),
    [
        (PerPersonReads, check_batching, "the adapter calls the upstream per person"),
        (PerPersonLookups, check_batch_lookup, "the adapter looks people up one by one"),
        (PerPersonSearches, check_batch_search, "the adapter searches one by one"),
        (LeaksFieldsOnLookup, check_read_on_lookup, "also returned"),
        (LooksUpThenReads, check_read_on_lookup, "took 2 upstream calls"),
        (ReadOnLookupUndeclared, check_read_on_lookup, "does not declare read_on_lookup"),
        (ReadOnLookupUnimplemented, check_read_on_lookup, "is not implemented"),
        (BatchSearchUndeclared, check_batch_search, "does not declare batch_search"),
        (LeaksFields, check_read, "asked only for"),
        (KeepsRecords, check_no_retention, "adapter._cache"),
        (IgnoresDeadline, check_deadline, "read() ran although the request's deadline had passed"),
        (SearchFindsNobody, check_search, "did not find it"),
        (SearchOffersEveryone, check_search, "for a person no one holds returned candidates"),
        (SearchUndeclared, check_search, "does not declare it"),
        (SearchFiltersByGivenName, check_search_by_block_keys, "found different records"),
        (BlockKeysWithoutSearch, check_search_by_block_keys, "demographic_search is not"),
        (CarriesUndeclaredScheme, check_lookup, "a scheme the section does not declare"),
    ],
    ids=[
        "per-person-reads",
        "per-person-lookups",
        "per-person-searches",
        "leaks-fields-on-lookup",
        "looks-up-then-reads",
        "read-on-lookup-undeclared",
        "read-on-lookup-unimplemented",
        "batch-search-undeclared",
        "leaks-fields",
        "keeps-records",
        "ignores-deadline",
        "search-finds-nobody",
        "search-offers-everyone",
        "search-undeclared",
        "search-filters-by-given-name",
        "block-keys-without-search",
        "carries-undeclared-scheme",
    ],
)
def test_kit_fails_a_broken_adapter_saying_what_to_fix(
    adapter: type[Adapter],
    check: Any,
    problem: str,
    demo_world: DemoWorld,
    ground_truth: list[dict[str, Any]],
) -> None:
    with pytest.raises(ConformanceFailure) as failure:
        asyncio.run(check(target_for(adapter, demo_world, ground_truth)))
    assert problem in failure.value.problem
    assert failure.value.fix
    assert "how to fix:" in str(failure.value)


def test_the_unbroken_adapter_passes_the_same_checks(
    demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    target = target_for(BenefitsAdapter, demo_world, ground_truth)
    for check in (
        check_batching,
        check_batch_lookup,
        check_batch_search,
        check_read,
        check_read_on_lookup,
        check_no_retention,
        check_deadline,
        check_search,
        check_search_by_block_keys,
        check_lookup,
    ):
        asyncio.run(check(target))


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (dataclasses.replace(SECTION, labels=("top_secret",)), "'top_secret' is not one"),
        (
            dataclasses.replace(SECTION, events=(EventSpec("claims", "status", "x", ()),)),
            "which is not a date field",
        ),
        (
            dataclasses.replace(SECTION, events=(EventSpec("workCoach", "startDate", "x", ()),)),
            "which is not a list field",
        ),
        (
            dataclasses.replace(
                SECTION, fields=(*SECTION.fields, FieldSpec("claims", "list", "Again."))
            ),
            "declared twice",
        ),
        (
            dataclasses.replace(SECTION, fields=(FieldSpec("cases", "list", "No items."),)),
            "does not describe its items",
        ),
        (dataclasses.replace(SECTION, lookup_schemes=()), "names no lookup scheme"),
        (
            dataclasses.replace(SECTION, other_identifier_schemes=("NI_NUMBER",)),
            "in both lookup_schemes and other_identifier_schemes",
        ),
        (dataclasses.replace(SECTION, agency="Benefits Agency"), "is not lower_snake_case"),
        (dataclasses.replace(SECTION, max_batch=0), "max_batch is 0"),
    ],
)
def test_inconsistent_self_description_is_explained(broken: SectionSpec, problem: str) -> None:
    with pytest.raises(ConformanceFailure) as failure:
        check_section_spec(broken)
    assert problem in failure.value.problem


def test_the_demo_section_descriptions_are_consistent() -> None:
    check_section_spec(SECTION)


def test_a_section_with_labels_needs_someone_labelled_to_check(
    demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    from adapters.housing import HousingAdapter
    from adapters.sdk.conformance.checks import check_labels

    url = demo_world.systems["housing"].url
    person = next(p for p in ground_truth if p["known_to_all"])
    target = ConformanceTarget(
        make_adapter=lambda timeout_s: HousingAdapter(url, timeout_s=timeout_s),
        known=((Identifier("HOUSING_REF", person["records"]["housing"]),),),
    )

    with pytest.raises(ConformanceFailure, match="names nobody whose record carries one"):
        asyncio.run(check_labels(target))
