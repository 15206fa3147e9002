"""Adapter for the NHS's FHIR R4 API: Patient, Encounter, Flag and Condition resources.

One read is one FHIR search: ``Patient?_id=...`` with ``_revinclude`` of the
patients' encounters, flags and conditions, followed across Bundle pages. A lookup
that reads too is the same search by ``identifier`` (NHS numbers) instead of ``_id``.
FHIR security labels (``meta.security``) become the record's ``@labels``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.sdk import (
    LABELS_KEY,
    SENSITIVITY_LABELS,
    Candidate,
    Demographics,
    EventSpec,
    FieldSpec,
    HttpAdapter,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    requested_only,
)
from adapters.sdk.demographics import demographics_from, searchable
from adapters.sdk.fhir import FHIR_JSON, operation_outcome_detail, search

AGENCY = "nhs"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
PAGE_SIZE = 100

_ATTENDANCE_FIELDS = (
    FieldSpec("date", "date", "Date of the A&E attendance."),
    FieldSpec("reason", "string", "Presenting complaint."),
)
_CONTACT_FIELDS = (
    FieldSpec("date", "date", "Date of the contact."),
    FieldSpec("service", "string", "Mental-health service seen."),
)
_FLAG_FIELDS = (
    FieldSpec("category", "string", "Kind of flag, e.g. safeguarding."),
    FieldSpec("description", "string", "What the flag warns about."),
    FieldSpec("since", "date", "Date the flag was raised."),
)
_CONDITION_FIELDS = (
    FieldSpec("category", "string", "Kind of record, e.g. sexual-health, substance-misuse."),
    FieldSpec("description", "string", "The condition or service attended."),
    FieldSpec("recordedOn", "date", "Date it was recorded."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="NHS: GP registration, A&E attendances, mental-health contacts and flags.",
    lookup_schemes=("NHS_NUMBER",),
    demographic_search=True,
    batch_lookup=True,
    batch_search=True,
    search_by_block_keys=True,
    read_on_lookup=True,
    fields=(
        FieldSpec("nhsNumber", "string", "NHS number."),
        FieldSpec("name", "string", "Name on the NHS record."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("address", "address", "Address on the NHS record."),
        FieldSpec("postcode", "string", "Postcode on the NHS record."),
        FieldSpec("registeredGp", "string", "The patient's usual GP."),
        FieldSpec("gpPractice", "string", "GP practice the patient is registered with."),
        FieldSpec(
            "aAndEAttendances",
            "list",
            "Accident and emergency attendances, newest first.",
            item_fields=_ATTENDANCE_FIELDS,
        ),
        FieldSpec(
            "mentalHealthContacts",
            "list",
            "Contacts with mental-health services, newest first.",
            item_fields=_CONTACT_FIELDS,
        ),
        FieldSpec("flags", "list", "Active alerts on the record.", item_fields=_FLAG_FIELDS),
        FieldSpec(
            "conditions",
            "list",
            "Sensitive conditions and services (sexual health, substance misuse).",
            item_fields=_CONDITION_FIELDS,
        ),
    ),
    labels=("refuge_address", "safeguarding_flag", "sexual_health", "substance_misuse"),
    events=(
        EventSpec("aAndEAttendances", "date", "A&E attendance", ("reason",)),
        EventSpec("mentalHealthContacts", "date", "mental-health contact", ("service",)),
        EventSpec("flags", "since", "NHS flag raised", ("category",)),
    ),
)


_DATED_LISTS = (
    ("aAndEAttendances", "date"),
    ("mentalHealthContacts", "date"),
    ("flags", "since"),
    ("conditions", "recordedOn"),
)


def _security_labels(resource: Mapping[str, Any]) -> list[str]:
    codes = [c.get("code") for c in resource.get("meta", {}).get("security", [])]
    return [code for code in codes if isinstance(code, str) and code in SENSITIVITY_LABELS]


def _first_text(concepts: Any) -> str | None:
    return concepts[0].get("text") if concepts else None


def _search_form(demographics: Demographics) -> dict[str, str]:
    """A Patient search by name and birth date (only the details known)."""
    form = {
        "family": demographics.family_name,
        "given": demographics.given_name,
        "birthdate": demographics.date_of_birth,
    }
    return {k: v for k, v in form.items() if v}


def _candidates(bundle: Any) -> list[Candidate]:
    """The patients of a searchset Bundle as candidates, identified by NHS number."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise UpstreamBadReply(AGENCY, "search reply is not a FHIR Bundle")
    try:
        patients = [e["resource"] for e in bundle.get("entry", [])]
        return [
            Candidate(
                str(p["id"]),
                _demographics(p),
                tuple(
                    Identifier("NHS_NUMBER", str(i["value"]))
                    for i in p.get("identifier", [])
                    if i.get("system") == NHS_NUMBER_SYSTEM
                ),
            )
            for p in patients
            if p.get("resourceType") == "Patient"
        ]
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        raise UpstreamBadReply(AGENCY, "Patient search has an unexpected shape") from exc


def _demographics(patient: Mapping[str, Any]) -> Demographics:
    """Official name, birth date and first postcode of a Patient (absent parts stay None)."""
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    addresses = patient.get("address") or [{}]
    return demographics_from(
        {
            "given_name": (name.get("given") or [None])[0],
            "family_name": name.get("family"),
            "date_of_birth": patient.get("birthDate"),
            "postcode": addresses[0].get("postalCode"),
        }
    )


def _patient_record(patient: Mapping[str, Any]) -> dict[str, Any]:
    name = (patient.get("name") or [{}])[0]
    address = (patient.get("address") or [{}])[0]
    practitioners = patient.get("generalPractitioner") or []
    practice = next(
        (p.get("display") for p in practitioners if p["reference"].startswith("Organization/")),
        None,
    )
    gp = next(
        (p.get("display") for p in practitioners if p["reference"].startswith("Practitioner/")),
        None,
    )
    return {
        "nhsNumber": next(
            (i["value"] for i in patient["identifier"] if i["system"] == NHS_NUMBER_SYSTEM), None
        ),
        "name": " ".join([*name.get("given", []), name.get("family", "")]).strip() or None,
        "dateOfBirth": patient.get("birthDate"),
        "address": ", ".join(address.get("line", [])) or None,
        "postcode": address.get("postalCode"),
        "registeredGp": gp,
        "gpPractice": practice,
        "aAndEAttendances": [],
        "mentalHealthContacts": [],
        "flags": [],
        "conditions": [],
        LABELS_KEY: _security_labels(patient),
    }


def _add_related(record: dict[str, Any], resource: Mapping[str, Any]) -> None:
    kind = resource["resourceType"]
    if kind == "Encounter":
        date = resource.get("period", {}).get("start")
        reason = _first_text(resource.get("reasonCode"))
        if resource["class"]["code"] == "EMER":
            record["aAndEAttendances"].append({"date": date, "reason": reason})
        elif _first_text(resource.get("type")) == "Mental health contact":
            record["mentalHealthContacts"].append({"date": date, "service": reason})
    elif kind == "Flag" and resource.get("status") == "active":
        record["flags"].append(
            {
                "category": _first_text(resource.get("category")),
                "description": resource.get("code", {}).get("text"),
                "since": resource.get("period", {}).get("start"),
                LABELS_KEY: _security_labels(resource),
            }
        )
    elif kind == "Condition":
        record["conditions"].append(
            {
                "category": _first_text(resource.get("category")),
                "description": resource.get("code", {}).get("text"),
                "recordedOn": resource.get("recordedDate"),
                LABELS_KEY: _security_labels(resource),
            }
        )


def _identifier_search(
    identifier_sets: tuple[tuple[Identifier, ...], ...],
) -> dict[str, str | list[str]] | None:
    """Search parameters for the patients with any NHS number of a batch of people (a
    token search takes several comma-separated values), or None if it holds none."""
    numbers = sorted(
        {
            i.value
            for identifiers in identifier_sets
            for i in identifiers
            if i.scheme == "NHS_NUMBER"
        }
    )
    if not numbers:
        return None
    return {
        "identifier": ",".join(f"{NHS_NUMBER_SYSTEM}|{number}" for number in numbers),
        "_count": str(len(numbers)),
    }


def _revinclude_search(fields: frozenset[str]) -> dict[str, str | list[str]]:
    """Search parameters that bring along the resources the fields asked for are built
    from (only those: a withheld list is never fetched), a page at a time."""
    revinclude = [
        include
        for include, wanted in [
            ("Encounter:patient", {"aAndEAttendances", "mentalHealthContacts"} & fields),
            ("Flag:patient", {"flags"} & fields),
            ("Condition:patient", {"conditions"} & fields),
        ]
        if wanted
    ]
    return {"_revinclude": revinclude, "_count": str(PAGE_SIZE)}


def _matches(
    identifier_sets: tuple[tuple[Identifier, ...], ...], resources: list[dict[str, Any]]
) -> list[Match | None]:
    """Each person's match among the patients an NHS-number search found: the patient
    with the person's first NHS number found, or None."""
    by_number: dict[str, dict[str, Any]] = {}
    try:
        for patient in resources:
            if patient["resourceType"] != "Patient":
                continue
            for held in patient.get("identifier", []):
                if held["system"] == NHS_NUMBER_SYSTEM:
                    by_number.setdefault(str(held["value"]), patient)
        matches: list[Match | None] = []
        for identifiers in identifier_sets:
            ident = next(
                (i for i in identifiers if i.scheme == "NHS_NUMBER" and i.value in by_number),
                None,
            )
            if ident is None:
                matches.append(None)
                continue
            patient = by_number[ident.value]
            matches.append(
                Match(AGENCY, str(patient["id"]), (ident,), demographics=_demographics(patient))
            )
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        raise UpstreamBadReply(AGENCY, "Patient search has an unexpected shape") from exc
    return matches


def _records(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The section record of each Patient of a search, with the encounters, flags and
    conditions the search included for it (lists newest first)."""
    try:
        records = {
            str(r["id"]): _patient_record(r) for r in resources if r["resourceType"] == "Patient"
        }
        related: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for r in resources:
            if r["resourceType"] != "Patient":
                related[r["subject"]["reference"].removeprefix("Patient/")].append(r)
        for patient_id, items in related.items():
            if patient_id in records:
                for item in items:
                    _add_related(records[patient_id], item)
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        raise UpstreamBadReply(AGENCY, "FHIR resources have an unexpected shape") from exc
    for record in records.values():
        for key, date_key in _DATED_LISTS:
            record[key].sort(key=lambda item, d=date_key: str(item[d] or ""), reverse=True)
    return records


@dataclass
class NhsAdapter(HttpAdapter):
    def upstream_error_detail(self, response: httpx.Response) -> str | None:
        return operation_outcome_detail(response)

    def discover(self) -> SectionSpec:
        return SECTION

    async def probe(self) -> str | None:
        statement = await self._upstream.json("GET", "/metadata", content_types=(FHIR_JSON,))
        if not isinstance(statement, dict) or statement.get("resourceType") != (
            "CapabilityStatement"
        ):
            return "metadata is not a CapabilityStatement"
        return None

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        for ident in identifiers:
            if ident.scheme != "NHS_NUMBER":
                continue
            found = await search(
                self._upstream, "Patient", {"identifier": f"{NHS_NUMBER_SYSTEM}|{ident.value}"}
            )
            try:
                patient = next(r for r in found if r["resourceType"] == "Patient")
                held = _demographics(patient)
            except StopIteration:
                continue
            except (TypeError, KeyError, AttributeError, IndexError) as exc:
                raise UpstreamBadReply(AGENCY, "Patient search has an unexpected shape") from exc
            return Match(AGENCY, str(patient["id"]), (ident,), demographics=held)
        return None

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """Every NHS number of the batch in one Patient search (comma-separated token values
        match any); per person, the first number found wins."""
        params = _identifier_search(identifier_sets)
        if params is None:
            return [None] * len(identifier_sets)
        return _matches(identifier_sets, await search(self._upstream, "Patient", params))

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many`'s search by NHS numbers with the ``_revinclude`` parameters
        :meth:`read` sends (and its page size, as included resources fill pages): FHIR
        includes the found patients' encounters, flags and conditions in the same Bundle,
        whatever the patients were searched by."""
        params = _identifier_search(identifier_sets)
        if params is None:
            return [None] * len(identifier_sets)
        found = await search(self._upstream, "Patient", params | _revinclude_search(fields))
        matches = _matches(identifier_sets, found)
        records = requested_only(_records(found), fields)
        return [(match, records[match.local_id]) if match else None for match in matches]

    async def search(self, demographics: Demographics) -> list[Candidate]:
        if not searchable(demographics):
            return []
        bundle = await self._upstream.json(
            "POST",
            "/Patient/_search",
            content_types=(FHIR_JSON,),
            data=_search_form(demographics),
        )
        return _candidates(bundle)

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's Patient search in one FHIR ``batch`` Bundle (``POST /``): one
        ``GET Patient?family=&given=&birthdate=`` entry per person, answered in order."""
        asked = [person for person, who in enumerate(demographics_list) if searchable(who)]
        found: list[list[Candidate]] = [[] for _ in demographics_list]
        if not asked:
            return found
        batch = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {
                    "request": {
                        "method": "GET",
                        "url": f"Patient?{urlencode(_search_form(demographics_list[p]))}",
                    }
                }
                for p in asked
            ],
        }
        reply = await self._upstream.json(
            "POST",
            "/",
            content_types=(FHIR_JSON,),
            content=json.dumps(batch).encode(),
            headers={"Content-Type": FHIR_JSON},
        )
        if (
            not isinstance(reply, dict)
            or reply.get("resourceType") != "Bundle"
            or reply.get("type") != "batch-response"
            or not isinstance(reply.get("entry"), list)
            or len(reply["entry"]) != len(asked)
        ):
            raise UpstreamBadReply(AGENCY, "batch reply is not a batch-response Bundle")
        for person, entry in zip(asked, reply["entry"], strict=True):
            status = entry.get("response", {}).get("status") if isinstance(entry, dict) else None
            if not isinstance(status, str) or not status.startswith("2"):
                raise UpstreamBadReply(AGENCY, "a search in the batch was refused")
            found[person] = _candidates(entry.get("resource"))
        return found

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        params = {"_id": ",".join(local_ids), **_revinclude_search(fields)}
        return requested_only(_records(await search(self._upstream, "Patient", params)), fields)
