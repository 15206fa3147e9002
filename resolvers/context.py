"""Per-request state shared by the resolvers: who asks, why, what policy decided.

Also the disclosure ledger: every governed field the response carries, and
how (disclosed, masked or withheld), which the audit step records before the
response leaves. The ledger holds coordinates and outcomes, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from adapters.sdk import Identifier
from gateway.audit import AuditStore
from gateway.auth import Caller
from gateway.policy import Decision, LabelDecision
from resolvers.fanout import FanOut, PersonFetch

if TYPE_CHECKING:
    from resolvers.household import HouseholdFetch

Outcome = Literal["disclosed", "masked", "withheld"]


def person_key(path: list[str | int]) -> str:
    """The response path of the Person object a field belongs to.

    ``person`` fields live at ``[alias, ...]``; ``people`` items at ``[alias, index, ...]``.
    """
    if len(path) > 1 and isinstance(path[1], int):
        return f"{path[0]}.{path[1]}"
    return str(path[0])


@dataclass
class Disclosure:
    """What one person's section from one agency contributed to a response."""

    reference: Identifier
    agency: str
    disclosed: set[str] = field(default_factory=set)
    masked: set[str] = field(default_factory=set)
    withheld: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEvent:
    """An audit-review action a resolver took (read the audit, recorded a review outcome).

    Written to the audit with the request's disclosures, before the response
    leaves, so reviewers are accountable in the same trail.
    """

    event: Literal["audit_read", "review"]
    person: Identifier | None = None
    subject_request_id: str | None = None
    review_outcome: str | None = None
    review_note: str | None = None


@dataclass(frozen=True)
class SearchDisclosure:
    """One demographic search and the candidates it listed, for the audit.

    ``searched`` is the search as one string (hashed by the audit store, like a
    reference); each candidate is the identifiers its records hold (always hashed).
    """

    searched: str
    candidates: tuple[tuple[tuple[str, str], ...], ...]
    disclosed: tuple[str, ...]
    masked: tuple[str, ...]
    withheld: Mapping[str, str]


def readable_by(
    person: PersonFetch, decision: Decision, fields_by_agency: Mapping[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """The fields to read of each agency whose gate lets this person through."""
    return {
        agency: fields
        for agency, fields in fields_by_agency.items()
        if decision.for_person(person.key, agency).effect == "allow"
    }


@dataclass
class RequestContext:
    request_id: str
    caller: Caller
    purpose: str
    decision: Decision
    fields_by_agency: Mapping[str, frozenset[str]]
    fanout: FanOut
    break_glass_reason: str | None = None
    persons: dict[str, PersonFetch] = field(default_factory=dict)
    labels: LabelDecision = field(default_factory=lambda: LabelDecision({}))
    """The batched label decision on every labelled record the request read."""
    disclosures: dict[tuple[str, str], Disclosure] = field(default_factory=dict)
    audit_log: AuditStore | None = None
    audit_events: list[AuditEvent] = field(default_factory=list)
    households: Mapping[str, HouseholdFetch] = field(default_factory=dict)
    """Per person key, the household resolved before the decision (``resolvers.household``)."""
    _members: set[str] = field(default_factory=set)
    """Keys of household members registered at nested paths (see :meth:`register_member`)."""
    searches: list[SearchDisclosure] = field(default_factory=list)
    _reading: dict[str, PersonFetch] = field(default_factory=dict)
    """Per person key, the person whose reads :meth:`start_reads` started."""

    def start_reads(self, person: PersonFetch) -> None:
        """Read the person's allowed sections from agencies whose gate lets this person through.

        The gateway starts everyone's reads once the decision is in, and the resolvers
        start them again for the people they return: for the same person, with the same
        decision, fields and matches, there is nothing new to start.
        """
        if self._reading.get(person.key) is person:
            return
        self._reading[person.key] = person
        self.fanout.start_reads(person, readable_by(person, self.decision, self.fields_by_agency))

    def register_member(self, path: list[str | int], person: PersonFetch) -> None:
        """Attribute fields under ``path`` (a household member's ``Person``) to ``person``."""
        key = ".".join(str(part) for part in path)
        self.persons[key] = person
        self._members.add(key)

    def key_at(self, path: list[str | int]) -> str:
        """The key of the person a field belongs to: the innermost registered member, if
        any (``person.household.members.0.person...``), else :func:`person_key`."""
        if self._members:
            for end in range(len(path), 2, -1):
                nested = ".".join(str(part) for part in path[:end])
                if nested in self._members:
                    return nested
        return person_key(path)

    def person_at(self, path: list[str | int]) -> PersonFetch | None:
        return self.persons.get(self.key_at(path))

    def record(
        self,
        path: list[str | int],
        agency: str,
        coordinate: str,
        outcome: Outcome,
        reason: str = "",
    ) -> None:
        self.record_for(self.key_at(path), agency, coordinate, outcome, reason)

    def record_for(
        self,
        person_key: str,
        agency: str,
        coordinate: str,
        outcome: Outcome,
        reason: str = "",
    ) -> None:
        """:meth:`record` for a caller that already knows the person's key (:meth:`key_at`)."""
        key = (person_key, agency)
        entry = self.disclosures.get(key)
        if entry is None:  # the person's first field from the agency (~140 per full view)
            person = self.persons.get(person_key)
            if person is None:
                return
            entry = self.disclosures[key] = Disclosure(person.reference, agency)
        if outcome == "disclosed":
            entry.disclosed.add(coordinate)
        elif outcome == "masked":
            entry.masked.add(coordinate)
        else:
            entry.withheld[coordinate] = reason
