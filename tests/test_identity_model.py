"""Identity comparisons and the Fellegi-Sunter model, on hand-made cases."""

from __future__ import annotations

import pytest

from gateway.identity import Demographics, MatchModel
from gateway.identity.comparisons import comparison_vector
from gateway.identity.model import LEVELS, estimate

BASE = Demographics("William", "Smith", "1984-03-07", "TN23 7AB")


@pytest.mark.parametrize(
    ("other", "field", "level"),
    [
        (Demographics("Bill", "Smith", "1984-03-07", "TN23 7AB"), "given_name", "nickname"),
        (Demographics("Wiliam", "Smith", "1984-03-07", "TN23 7AB"), "given_name", "similar"),
        (Demographics("Oscar", "Smith", "1984-03-07", "TN23 7AB"), "given_name", "different"),
        (Demographics("William", "Smyth", "1984-03-07", "TN23 7AB"), "family_name", "similar"),
        (
            Demographics("William", "Jones", "1984-03-07", "TN23 7AB", ("Smith",)),
            "family_name",
            "former",
        ),
        (Demographics("William", "Smith", "1984-07-03", "TN23 7AB"), "date_of_birth", "transposed"),
        (Demographics("William", "Smith", "1984-03-08", "TN23 7AB"), "date_of_birth", "one_digit"),
        (Demographics("William", "Smith", "1984-11-20", "TN23 7AB"), "date_of_birth", "same_year"),
        (Demographics("William", "Smith", "1984-03-07", "TN23 9ZZ"), "postcode", "district"),
        (Demographics("William", "Smith", "1984-03-07", None), "postcode", "missing"),
    ],
)
def test_levels(other: Demographics, field: str, level: str) -> None:
    assert comparison_vector(BASE, other)[field] == level


def test_every_level_a_comparison_returns_is_known_to_the_model() -> None:
    for name, levels in LEVELS.items():
        assert "missing" not in levels
        assert len(set(levels)) == len(levels), name


def model() -> MatchModel:
    matches = [
        (BASE, BASE),
        (BASE, Demographics("Bill", "Smith", "1984-03-07", "TN23 7AB")),
        (BASE, Demographics("William", "Smith", "1984-07-03", "TN23 9XX")),
    ] * 10
    non_matches = [
        (BASE, Demographics("Oscar", "Jones", "1990-01-01", "S70 1AA")),
        (BASE, Demographics("Mia", "Smith", "2015-05-05", "TN23 7AB")),
        (BASE, Demographics("Harry", "Patel", "1984-09-09", "CW1 2BB")),
        (BASE, Demographics("Ella", "Green", "1962-02-11", "TN23 1CD")),
    ] * 100
    return estimate(matches, non_matches, prior=0.01)


def test_probability_orders_candidates_and_is_calibrated_to_the_extremes() -> None:
    fitted = model()
    same = fitted.score(BASE, BASE)
    nickname_moved = fitted.score(BASE, Demographics("Bill", "Smith", "1984-03-07", "TN23 9XX"))
    sibling = fitted.score(BASE, Demographics("Mia", "Smith", "2015-05-05", "TN23 7AB"))

    assert same.probability > 0.99
    assert same.probability >= nickname_moved.probability > sibling.probability
    assert sibling.probability < 0.01


def test_missing_fields_carry_no_evidence() -> None:
    fitted = model()
    partial = fitted.score(BASE, Demographics("William", "Smith", None, None))
    prior_only = fitted.score(Demographics(), Demographics())

    assert prior_only.probability == pytest.approx(0.01)
    assert partial.weight > prior_only.weight


def test_model_round_trips_through_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fitted = model()
    path = tmp_path / "params.json"
    path.write_text(fitted.to_json())

    assert MatchModel.load(path).score(BASE, BASE) == fitted.score(BASE, BASE)
