"""The matcher on generated worlds, scored against their ground truth.

The model is the committed ``params.json`` (trained on seed 11); the worlds
here use other seeds, so these are figures on unseen people.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.sdk import Candidate, Identifier
from adapters.sdk.demographics import Demographics
from gateway.cli import main
from gateway.identity.evaluation import WorldIndex, evaluate, noise_kinds, resolve, train
from gateway.identity.matching import decide, load_model
from gateway.identity.model import LEVELS, MatchModel
from gateway.identity.world import LoadedWorld, load_world
from gateway.identity_cli import default_threshold
from simulators.world import generate_world

NOISE_KINDS = {
    "given name variant",
    "family name variant",
    "former surname",
    "date of birth changed",
    "previous address",
    "missing identifier",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> LoadedWorld:
    root = tmp_path_factory.mktemp("world")
    generate_world(root, people=800, seed=3)
    return load_world(root)


def test_each_kind_of_noise_is_matched_without_a_wrong_person(world: LoadedWorld) -> None:
    """The matcher itself, as if every agency offered demographic search."""
    result = evaluate(world, load_model(), default_threshold(), every_agency_searchable=True)
    assert NOISE_KINDS <= set(result.by_noise), "the generator stopped injecting a kind of noise"
    for kind in NOISE_KINDS:
        tally = result.by_noise[kind]
        assert tally.expected >= 10, kind
        assert tally.precision == 1.0, kind
        assert tally.recall >= 0.95, (kind, tally)
    assert result.overall.precision >= 0.995
    assert result.overall.recall >= 0.97
    assert result.wrong_disclosures == 0
    assert result.by_method["demographics"] > 100, "demographic matching is doing the work"


def test_evaluation_searches_as_the_gateway_does(world: LoadedWorld) -> None:
    """Only agencies whose adapters offer demographic search are searched."""
    from adapters.police.adapter import SECTION as POLICE

    assert WorldIndex(world).searchable == {
        agency for agency, records in world.records.items() if records
    }, "every demo agency's adapter offers demographic search"
    assert POLICE.demographic_search
    result = evaluate(world, load_model(), default_threshold())
    assert result.wrong_disclosures == 0
    assert result.overall.recall >= 0.97
    assert result.by_method["demographics"] > 0


def test_wrong_person_matches_are_counted(world: LoadedWorld) -> None:
    """A model that cannot tell people apart accepts lone candidates, and they are counted."""
    blind = MatchModel(
        m={name: dict.fromkeys(levels, 1.0) for name, levels in LEVELS.items()},
        u={name: dict.fromkeys(levels, 1.0) for name, levels in LEVELS.items()},
        prior=0.99,
    )
    result = evaluate(world, blind, 0.9, every_agency_searchable=True)
    assert result.wrong_disclosures > 0
    assert result.overall.precision < 0.995


def test_ambiguous_candidates_are_only_possible_matches() -> None:
    model = load_model()
    known = [Demographics("Amelia", "Khan", "2012-04-05", "S70 1AB")]
    twins = [
        Candidate("a", Demographics("Amelia", "Khan", "2012-04-05", "S70 1AB")),
        Candidate("b", Demographics("Millie", "Khan", "2012-04-05", "S70 1AB")),
    ]
    decision = decide(model, known, twins, 0.9)
    assert decision.accepted is None
    assert {s.candidate.local_id for s in decision.possible} == {"a", "b"}
    alone = decide(model, known, twins[:1], 0.9)
    assert alone.accepted is not None and alone.accepted.probability >= 0.9


def test_the_upn_is_never_a_join_key(world: LoadedWorld) -> None:
    """No record offers its UPN as an identifier, and following identifiers never uses it."""
    index = WorldIndex(world)
    assert all(
        identifier.scheme != "UPN"
        for records in world.records.values()
        for record in records.values()
        for identifier in record.identifiers
    )
    assert all("UPN" not in schemes for schemes in index.schemes.values())
    pupil = next(iter(world.records["schools"].values()))
    assert index.lookup("schools", [Identifier("UPN", pupil.local_id)]) is None
    outcomes = list(resolve(index, pupil, load_model(), 0.9))
    assert {o.agency for o in outcomes} == set(index.schemes) - {"schools"}


def test_noise_kinds_name_what_differs(world: LoadedWorld) -> None:
    person_id, held = next((p, h) for p, h in world.held.items() if "nhs" in h)
    record = world.records["nhs"][held["nhs"]]
    truth = world.people[person_id].demographics
    moved = replace(record, demographics=replace(record.demographics, date_of_birth="1900-01-01"))
    assert "date of birth changed" in noise_kinds(moved, world.people[person_id])
    exact = replace(record, demographics=replace(truth, former_family_names=()))
    assert noise_kinds(exact, world.people[person_id]) == ("clean",)


def test_committed_params_are_reproducible_and_hold_no_personal_data(tmp_path: Path) -> None:
    out = tmp_path / "params.json"
    result = CliRunner().invoke(main, ["identity", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    committed = (Path(__file__).parent.parent / "gateway/identity/params.json").read_text()
    assert out.read_text() == committed
    names = {"Smith", "Olivia", "TN23", "Khan"}
    assert not any(name.lower() in committed.lower() for name in names)


def test_evaluate_command_prints_the_table_and_meets_the_targets() -> None:
    args = ["identity", "evaluate", "--people", "600", "--seed", "5", "--every-agency-searchable"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "wrong-person matches accepted" in result.output
    for agency in ("council", "benefits", "nhs", "schools", "police", "probation", "housing"):
        assert f"  {agency}" in result.output


def test_training_uses_only_labelled_pairs_from_the_world(world: LoadedWorld) -> None:
    model = train(world)
    assert 0 < model.prior < 1
    assert model.m["date_of_birth"]["exact"] > model.u["date_of_birth"]["exact"]
