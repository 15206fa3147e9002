"""The adapter contract: check, discover, lookup, read.

Why ``lookup`` and ``read`` are separate: the gateway first finds the person in
every agency (identity resolution, which may only exchange identifiers), then
reads sections only from agencies whose fields the policy lets the caller see.
An agency whose section is wholly withheld is never asked for data.

An agency may also offer both in one call (``read_on_lookup``): the gateway uses
it only once the policy's decision for an exact identifier match there is known
before the lookup (it depends on the caller, the purpose and the person's
relationship and consent, not on which record matches), and asks for exactly
the fields that decision allows, so the agency is asked for no more than the two
calls would ask, one round trip sooner.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from adapters.sdk.demographics import Candidate, Demographics

FieldKind = Literal["string", "date", "int", "float", "bool", "address", "list", "string_list"]
"""``list`` is a list of objects described by ``item_fields``; ``string_list`` a list of strings."""

LABELS_KEY = "@labels"
"""Reserved key on any record object an adapter returns (a section or a list item):
the record's sensitivity labels, e.g. ``{"address": ..., "@labels": ["refuge_address"]}``.
The gateway asks the policy about labelled records in one batched decision and
strips the key before anything reaches a caller."""


def requested_only(
    records: Mapping[str, Mapping[str, Any]], fields: frozenset[str]
) -> dict[str, dict[str, Any]]:
    """Each record cut to the fields asked for (plus its labels): what ``read`` returns.

    The policy withheld the other fields, so they never leave the adapter.
    """
    return {
        local_id: {k: v for k, v in record.items() if k in fields or k == LABELS_KEY}
        for local_id, record in records.items()
    }


SENSITIVITY_LABELS = (
    "refuge_address",
    "sealed_adoption",
    "sexual_health",
    "substance_misuse",
    "mappa_level_1",
    "mappa_level_2",
    "mappa_level_3",
    "safeguarding_flag",
)
"""The labels the policies know. An adapter that emits any other label gets it denied."""


@dataclass(frozen=True)
class Identifier:
    """An identifier in one scheme, e.g. ``Identifier("NI_NUMBER", "QQ123456C")``."""

    scheme: str
    value: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of a section: its name in the section, kind, and description."""

    name: str
    kind: FieldKind
    description: str
    item_fields: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class EventSpec:
    """How the items of one list field of a section become chronology events.

    E.g. council cases: ``EventSpec("cases", "openedOn", "case opened", ("caseType",))``.
    Events pass through the same field-level policy as the fields they are built from.
    """

    list_field: str
    date_field: str
    kind: str
    summary_fields: tuple[str, ...]


@dataclass(frozen=True)
class SectionSpec:
    """What an adapter contributes to a person.

    ``labels`` are the sensitivity labels its records may carry (see
    :data:`LABELS_KEY`); ``max_batch`` is the most local ids one :meth:`Adapter.read`
    call accepts; ``events`` say which list items belong on the multi-agency timeline.
    """

    agency: str
    title: str
    lookup_schemes: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    labels: tuple[str, ...] = ()
    max_batch: int = 100
    events: tuple[EventSpec, ...] = ()
    demographic_search: bool = False
    """Whether :meth:`Adapter.search` finds records by name and date of birth."""
    household_links: bool = False
    """Whether :meth:`Adapter.household` says who lives with or is family of a person."""
    batch_lookup: bool = False
    """Whether :meth:`Adapter.lookup_many` finds a batch of people in one upstream call
    (at most ``max_batch``). The gateway then coalesces the lookups of a query about
    many people into one call per agency for the lookups that become possible together."""
    batch_search: bool = False
    """Whether :meth:`Adapter.search_many` runs a batch of demographic searches in one
    upstream call (at most ``max_batch``). The gateway then coalesces the searches of a
    query about many people into one call per agency."""
    search_by_block_keys: bool = False
    """Whether :meth:`Adapter.search` answers depend only on the search's blocking keys
    (``adapters/sdk/demographics.py``: its date of birth, that date with day and month
    swapped, its family-name initial and year of birth): the same records for any two
    searches with the same keys, whatever their given names or postcodes. The gateway
    then searches such an agency once per distinct set of keys rather than once per
    spelling of a person's details, and, for a request about one person, as soon as no
    lookup still running could give it an identifier: the details other agencies answer
    with later almost always share the keys already searched. The conformance kit
    checks it."""
    other_identifier_schemes: tuple[str, ...] = ()
    """Schemes of identifiers its matches carry (``Match.identifiers``) that it cannot be
    looked up by. A query that does not need this agency's section asks it only when a
    match could teach an identifier a needed agency looks people up by, so a scheme
    left undeclared would go unlearnt by such queries; the conformance kit checks it."""

    read_on_lookup: bool = False
    """Whether :meth:`Adapter.lookup_and_read_many` finds a batch of people by identifiers
    and reads the given fields of the records found in one upstream call (at most
    ``max_batch``). The gateway then reads a person's section with the lookup where the
    fields the policy allows are known before it (see the module docstring)."""

    @property
    def identifier_schemes(self) -> frozenset[str]:
        """Every scheme a match here may carry: the lookup schemes and the others."""
        return frozenset(self.lookup_schemes + self.other_identifier_schemes)


@dataclass(frozen=True)
class Match:
    """A person found in an agency: its local key and the identifiers it holds.

    ``identifiers`` lets the gateway find the same person in other agencies;
    it carries identifiers only, never agency data.
    """

    agency: str
    local_id: str
    identifiers: tuple[Identifier, ...] = ()
    confidence: float = 1.0
    """How sure the adapter is this record is the person (1.0: an exact identifier match).
    Policy sets the threshold below which nothing from the agency is disclosed."""
    demographics: Demographics | None = None
    """Who the agency records the person as (for demographic matching elsewhere), if it says."""
    method: str = "identifier"
    """How the gateway found the record: ``identifier`` or ``demographics``."""


@dataclass(frozen=True)
class HouseholdLink:
    """Someone an agency records as the person's household or family member.

    ``relationship`` is what the linked person is to the person (parent, child,
    partner, sibling). The link names them by the identifiers the agency holds
    or, when it holds none (e.g. children on a tenancy), by ``demographics``,
    which the gateway matches like any demographic search: never agency data.
    """

    relationship: str
    identifiers: tuple[Identifier, ...] = ()
    demographics: Demographics | None = None


@dataclass(frozen=True)
class Health:
    """Result of :meth:`Adapter.check`."""

    ok: bool
    detail: str = ""


@dataclass
class Adapter(abc.ABC):
    """One agency system, seen by the gateway.

    Implementations must be safe to call concurrently and must raise only
    :class:`adapters.sdk.errors.AdapterError` subclasses for upstream failure.
    The gateway builds an adapter from configuration as
    ``AdapterClass(endpoint, timeout_s=...)``: ``endpoint`` is the upstream's URL,
    DSN or file path.
    """

    timeout_s: float = field(default=2.0, kw_only=True)

    @abc.abstractmethod
    def discover(self) -> SectionSpec:
        """Describe the section this adapter contributes."""

    @abc.abstractmethod
    async def check(self) -> Health:
        """Cheaply tell whether the upstream answers."""

    @abc.abstractmethod
    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        """Find the person by any identifier in a scheme this agency holds."""

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """:meth:`lookup` for several people at once: one result per set, in order.

        This default makes one lookup per person; an adapter whose upstream can find
        many people in one request overrides it and declares ``batch_lookup``.
        """
        return list(await asyncio.gather(*(self.lookup(ids) for ids in identifier_sets)))

    @abc.abstractmethod
    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        """Read the named top-level fields of the sections of a batch of people.

        Returns a record per local id found (ids not found are simply absent).
        Only ``fields`` (plus :data:`LABELS_KEY`) are returned: withheld fields
        never leave the adapter. One call should be one upstream request where
        the upstream allows it.
        """

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many` and :meth:`read` of the records found, in one upstream call
        (only if ``read_on_lookup``): one (match, record) or None per set, in order.

        The match is the one :meth:`lookup_many` gives (an exact identifier match:
        confidence 1.0) and the record the one :meth:`read` gives for ``fields``.
        Adapters that do not offer it are never asked; this default says so.
        """
        raise NotImplementedError(f"{type(self).__name__} does not read on lookup")

    async def search(self, demographics: Demographics) -> list[Candidate]:
        """Records that could be the person described (only if ``demographic_search``).

        Adapters that do not offer search are never asked; this default says so.
        """
        raise NotImplementedError(f"{type(self).__name__} does not offer demographic search")

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """:meth:`search` for several people at once: one candidate list per person, in order.

        This default makes one search per person; an adapter whose upstream can run many
        searches in one request overrides it and declares ``batch_search``.
        """
        return list(await asyncio.gather(*(self.search(who) for who in demographics_list)))

    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        """The household links of a batch of people (only if ``household_links``).

        One call per request for all the people asked about; a local id with no
        links may be absent. Adapters that do not offer links are never asked.
        """
        raise NotImplementedError(f"{type(self).__name__} does not offer household links")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release pooled connections."""
