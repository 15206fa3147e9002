"""The multi-agency chronology: dated events from every agency, in one list.

Events are built from section list items (each adapter's ``EventSpec``), so
they pass through exactly the same field-level decisions as the fields they
come from: an event whose list or date is withheld is left out (and the gap is
reported), a withheld summary field is left out of the summary, a masked one
is masked.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import strawberry

from adapters.sdk import AdapterError, EventSpec
from resolvers.context import RequestContext
from resolvers.fanout import PersonFetch
from resolvers.masks import apply_mask
from resolvers.sections import SectionType


@strawberry.type(description="One dated event from one agency.")
class TimelineEvent:
    date: str = strawberry.field(description="ISO date of the event (a year if masked).")
    agency: str
    kind: str = strawberry.field(description="What happened, e.g. 'social-care case opened'.")
    summary: str = strawberry.field(description="Short summary, from fields the caller may see.")
    subject: str | None = strawberry.field(
        default=None,
        description="Whose event, on a household timeline: the person's key (SCHEME:VALUE).",
    )


@strawberry.type(description="An agency whose events are missing from the timeline, and why.")
class TimelineGap:
    agency: str
    code: str = strawberry.field(description="FORBIDDEN or an UPSTREAM_* code.")
    reason: str


@strawberry.type(description="Events from every agency, merged and ordered by date.")
class Timeline:
    events: list[TimelineEvent]
    gaps: list[TimelineGap] = strawberry.field(
        description="Agencies whose events are withheld or unavailable: the timeline is "
        "incomplete for them."
    )


def event_coordinates(section: SectionType, event: EventSpec) -> tuple[str, ...]:
    """Every schema coordinate an event of this kind is built from."""
    item_type = section.item_type_names[event.list_field]
    return (
        f"Person.{section.agency}",
        f"{section.type_name}.{event.list_field}",
        f"{item_type}.{event.date_field}",
        *(f"{item_type}.{name}" for name in event.summary_fields),
    )


def implied_coordinates(sections: Mapping[str, SectionType]) -> tuple[tuple[str, str], ...]:
    """(coordinate, agency) pairs that asking for ``Person.timeline`` asks for."""
    return tuple(
        (coordinate, agency)
        for agency, section in sections.items()
        for event in section.spec.events
        for coordinate in event_coordinates(section, event)
    )


def build_timeline_field(sections: Mapping[str, SectionType]) -> Any:
    async def timeline(
        root: PersonFetch,
        info: strawberry.Info,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        agencies: list[str] | None = None,
    ) -> Timeline | None:
        context: RequestContext = info.context
        events, gaps = await person_events(
            context, info.path.as_list(), sections, root, since, until, agencies
        )
        return Timeline(events=events, gaps=gaps)

    return strawberry.field(
        resolver=timeline,
        name="timeline",
        description="A multi-agency chronology: events from every agency, ordered by date, "
        "filterable by date range (inclusive) and agency.",
    )


async def person_events(
    context: RequestContext,
    path: list[str | int],
    sections: Mapping[str, SectionType],
    person: PersonFetch,
    since: datetime.date | None,
    until: datetime.date | None,
    agencies: list[str] | None,
) -> tuple[list[TimelineEvent], list[TimelineGap]]:
    """One person's events, ordered, and the agencies missing from them.

    ``path`` is where the person's fields are attributed (decisions and audit).
    """
    events: list[TimelineEvent] = []
    gaps: list[TimelineGap] = []
    for agency, section in sections.items():
        if agencies is not None and agency not in agencies:
            continue
        if not section.spec.events:
            continue
        # An agency that could not even be searched is a gap, not an empty lane.
        if agency not in person.matches and agency not in person.lookup_errors:
            continue
        try:
            record = await _section_record(person, agency)
        except AdapterError as exc:
            gaps.append(TimelineGap(agency=agency, code=exc.code, reason=exc.detail))
            continue
        for event in section.spec.events:
            built, gap = _events(context, path, section, event, record)
            events.extend(e for e in built if _within(e.date, since, until))
            if gap is not None and gap not in gaps:  # one gap per agency and reason
                gaps.append(gap)
    events.sort(key=lambda e: (e.date, e.agency, e.kind))
    return events, gaps


async def _section_record(person: PersonFetch, agency: str) -> Mapping[str, Any]:
    error = person.lookup_errors.get(agency)
    if error is not None:
        raise error
    read = person.reads.get(agency)
    if read is None:
        return {}
    return await read or {}


def _events(
    context: RequestContext,
    path: list[str | int],
    section: SectionType,
    event: EventSpec,
    record: Mapping[str, Any],
) -> tuple[list[TimelineEvent], TimelineGap | None]:
    section_coord, list_coord, date_coord, *summary_coords = event_coordinates(section, event)
    agency = section.agency
    for coordinate in (section_coord, list_coord, date_coord):
        decision = context.decision.for_field(coordinate)
        if decision.effect == "deny":
            reason = decision.reason or "denied by policy"
            context.record(path, agency, coordinate, "withheld", reason)
            return [], TimelineGap(agency=agency, code="FORBIDDEN", reason=reason)
    items = record.get(event.list_field) or []
    built = []
    for item in items:
        date = _shown(context, path, agency, date_coord, item.get(event.date_field))
        if not date:
            continue
        parts = [
            str(shown)
            for name, coordinate in zip(event.summary_fields, summary_coords, strict=True)
            if (shown := _shown(context, path, agency, coordinate, item.get(name))) is not None
        ]
        built.append(
            TimelineEvent(date=str(date), agency=agency, kind=event.kind, summary=", ".join(parts))
        )
    if items:
        context.record(path, agency, list_coord, "disclosed")
    return built, None


def _shown(
    context: RequestContext, path: list[str | int], agency: str, coordinate: str, value: Any
) -> Any:
    """The value as the caller may see it: None if withheld, masked if masked."""
    decision = context.decision.for_field(coordinate)
    if value is None:
        return None
    if decision.effect == "deny":
        context.record(path, agency, coordinate, "withheld", decision.reason or "denied by policy")
        return None
    if decision.effect == "mask":
        context.record(path, agency, coordinate, "masked")
        return apply_mask(decision.mask or "withheld", value)
    context.record(path, agency, coordinate, "disclosed")
    return value


def _within(date: str, since: datetime.date | None, until: datetime.date | None) -> bool:
    if since is not None and date < since.isoformat():
        return False
    return until is None or date[:10] <= until.isoformat()
