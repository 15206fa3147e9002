"""Run the matcher over a generated world and score it against the ground truth.

Each agency record in turn is the starting point, as if a caseworker had asked
about that record's person: the matcher follows identifiers between agencies
(each agency's own lookup schemes, asked again when an identifier it can use is
learnt, up to three times, as the gateway does), then searches the agencies still
unmatched by the demographics learnt so far, using the same blocking and decision
rule as the gateway. Every
accepted match is checked against ``ground_truth.json``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from adapters.sdk import Candidate, Identifier, SectionSpec
from adapters.sdk.demographics import Demographics, block_keys
from gateway.identity.matching import decide
from gateway.identity.model import MatchModel, estimate
from gateway.identity.world import AgencyRecord, LoadedWorld, TruePerson

LOOKUP_ROUNDS = 3


def agency_sections() -> dict[str, SectionSpec]:
    """Each agency's real section spec: its identifier lookups and whether it offers search."""
    from adapters.benefits.adapter import SECTION as BENEFITS
    from adapters.council.adapter import SECTION as COUNCIL
    from adapters.housing.adapter import SECTION as HOUSING
    from adapters.nhs.adapter import SECTION as NHS
    from adapters.police.adapter import SECTION as POLICE
    from adapters.probation.adapter import SECTION as PROBATION
    from adapters.schools.adapter import SECTION as SCHOOLS

    sections = (COUNCIL, BENEFITS, NHS, SCHOOLS, POLICE, PROBATION, HOUSING)
    return {s.agency: s for s in sections}


class WorldIndex:
    """Identifier and blocking-key indexes over every agency's records."""

    def __init__(self, world: LoadedWorld, every_agency_searchable: bool = False) -> None:
        self.world = world
        sections = agency_sections()
        self.schemes = {agency: s.lookup_schemes for agency, s in sections.items()}
        self.searchable = frozenset(
            agency
            for agency, section in sections.items()
            if section.demographic_search or every_agency_searchable
        )
        """Agencies that answer demographic searches (and report demographics in lookups)."""
        self.by_identifier: dict[str, dict[Identifier, str]] = defaultdict(dict)
        self.by_block: dict[str, dict[str, list[AgencyRecord]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for agency, records in world.records.items():
            for record in records.values():
                for identifier in record.identifiers:
                    if identifier.scheme in self.schemes[agency]:
                        self.by_identifier[agency][identifier] = record.local_id
                for key in block_keys(record.demographics):
                    self.by_block[agency][key].append(record)

    def lookup(self, agency: str, known: Iterable[Identifier]) -> AgencyRecord | None:
        for identifier in known:
            local_id = self.by_identifier[agency].get(identifier)
            if local_id is not None:
                return self.world.records[agency][local_id]
        return None

    def search(self, agency: str, searches: Iterable[Demographics]) -> list[AgencyRecord]:
        found: dict[str, AgencyRecord] = {}
        for search in searches:
            for key in block_keys(search):
                for record in self.by_block[agency].get(key, ()):
                    found[record.local_id] = record
        return list(found.values())


@dataclass(frozen=True)
class Outcome:
    agency: str
    method: str  # identifier | demographics | possible | none
    local_id: str | None
    confidence: float


def resolve(
    index: WorldIndex, start: AgencyRecord, model: MatchModel, threshold: float
) -> Iterator[Outcome]:
    """What the matcher finds in every other agency, starting from one record."""
    matched: dict[str, AgencyRecord] = {start.agency: start}
    known = set(start.identifiers)
    for _ in range(LOOKUP_ROUNDS):
        learnt = False
        for agency in index.schemes:
            if agency in matched:
                continue
            wanted = [i for i in known if i.scheme in index.schemes[agency]]
            found = index.lookup(agency, sorted(wanted, key=lambda i: (i.scheme, i.value)))
            if found is not None:
                matched[agency] = found
                yield Outcome(agency, "identifier", found.local_id, 1.0)
                learnt |= not set(found.identifiers) <= known
                known.update(found.identifiers)
        if not learnt:
            break
    demographics = [r.demographics for a, r in matched.items() if a in index.searchable]
    for agency in index.schemes:
        if agency in matched:
            continue
        if agency not in index.searchable or not demographics:
            yield Outcome(agency, "none", None, 0.0)
            continue
        candidates = [
            Candidate(r.local_id, r.demographics) for r in index.search(agency, demographics)
        ]
        decision = decide(model, demographics, candidates, threshold)
        if decision.accepted is not None:
            accepted = decision.accepted
            yield Outcome(agency, "demographics", accepted.candidate.local_id, accepted.probability)
        elif decision.possible:
            yield Outcome(agency, "possible", None, decision.possible[0].probability)
        else:
            yield Outcome(agency, "none", None, 0.0)


def noise_kinds(record: AgencyRecord, person: TruePerson) -> tuple[str, ...]:
    """Which kinds of identity noise this record carries relative to the true person."""
    seen, true = record.demographics, person.demographics
    kinds = []
    if seen.given_name != true.given_name:
        kinds.append("given name variant")
    if seen.family_name != true.family_name:
        former = seen.family_name in true.former_family_names
        kinds.append("former surname" if former else "family name variant")
    if seen.date_of_birth != true.date_of_birth:
        kinds.append("date of birth changed")
    if seen.postcode is not None and seen.postcode != true.postcode:
        moved = seen.postcode == person.previous_postcode
        kinds.append("previous address" if moved else "other address")
    if record.missing_identifier:
        kinds.append("missing identifier")
    return tuple(kinds) or ("clean",)


@dataclass
class Tally:
    expected: int = 0
    accepted: int = 0
    correct: int = 0
    possible: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.accepted if self.accepted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    overall: Tally = field(default_factory=Tally)
    by_agency: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_noise: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_method: Counter[str] = field(default_factory=Counter)
    wrong_disclosures: int = 0
    starts: int = 0


def evaluate(
    world: LoadedWorld,
    model: MatchModel,
    threshold: float,
    every_agency_searchable: bool = False,
) -> Evaluation:
    """Score the matcher; ``every_agency_searchable`` shows what search everywhere would add."""
    index = WorldIndex(world, every_agency_searchable)
    result = Evaluation()
    for records in world.records.values():
        for start in records.values():
            result.starts += 1
            owner = world.owner[(start.agency, start.local_id)]
            truly_held = world.held[owner]
            for outcome in resolve(index, start, model, threshold):
                true_id = truly_held.get(outcome.agency)
                tallies = [result.overall, result.by_agency[outcome.agency]]
                if true_id is not None:
                    target = world.records[outcome.agency][true_id]
                    tallies += [
                        result.by_noise[k] for k in noise_kinds(target, world.people[owner])
                    ]
                for tally in tallies:
                    tally.expected += true_id is not None
                    tally.possible += outcome.method == "possible"
                    if outcome.local_id is not None:
                        tally.accepted += 1
                        tally.correct += outcome.local_id == true_id
                result.by_method[outcome.method] += 1
                if outcome.local_id is not None and outcome.local_id != true_id:
                    result.wrong_disclosures += outcome.confidence >= threshold
    return result


def training_pairs(
    world: LoadedWorld,
) -> tuple[list[tuple[Demographics, Demographics]], list[tuple[Demographics, Demographics]]]:
    """Labelled pairs as the matcher meets them: each record against its blocked candidates."""
    index = WorldIndex(world, every_agency_searchable=True)
    matches: list[tuple[Demographics, Demographics]] = []
    non_matches: list[tuple[Demographics, Demographics]] = []
    for records in world.records.values():
        for record in records.values():
            owner = world.owner[(record.agency, record.local_id)]
            for agency in index.schemes:
                if agency == record.agency:
                    continue
                for candidate in index.search(agency, [record.demographics]):
                    pair = (record.demographics, candidate.demographics)
                    same = world.owner[(agency, candidate.local_id)] == owner
                    (matches if same else non_matches).append(pair)
    return matches, non_matches


def train(world: LoadedWorld) -> MatchModel:
    """m and u from the ground truth; the prior is the share of true matches among candidates."""
    matches, non_matches = training_pairs(world)
    prior = len(matches) / (len(matches) + len(non_matches))
    return estimate(matches, non_matches, prior=prior)


def format_table(result: Evaluation, threshold: float) -> str:
    def row(name: str, t: Tally) -> str:
        return (
            f"{name:<24}{t.expected:>9}{t.accepted:>9}{t.correct:>9}{t.possible:>9}"
            f"{t.precision:>11.4f}{t.recall:>9.4f}{t.f1:>9.4f}"
        )

    head = (
        f"{'':<24}{'expected':>9}{'accepted':>9}{'correct':>9}{'possible':>9}"
        f"{'precision':>11}{'recall':>9}{'F1':>9}"
    )
    lines = [f"threshold {threshold}; {result.starts} starting records", head]
    lines.append(row("overall", result.overall))
    lines.append("by agency")
    lines += [row(f"  {a}", t) for a, t in sorted(result.by_agency.items())]
    lines.append("by noise kind of the true record")
    lines += [row(f"  {k}", t) for k, t in sorted(result.by_noise.items())]
    methods = ", ".join(f"{m} {n}" for m, n in sorted(result.by_method.items()))
    lines.append(f"outcomes: {methods}")
    lines.append(f"wrong-person matches accepted at threshold: {result.wrong_disclosures}")
    return "\n".join(lines)


def targets_met(result: Evaluation) -> Mapping[str, bool]:
    return {
        "precision >= 0.995": result.overall.precision >= 0.995,
        "recall >= 0.97": result.overall.recall >= 0.97,
        "zero wrong-person disclosures": result.wrong_disclosures == 0,
    }
