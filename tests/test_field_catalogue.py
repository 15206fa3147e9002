"""Schema and policy field catalogue consistency: a field with no catalogue entry is
denied by policy, and reported at gateway start-up and by `joinedup policy check`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gateway.adapters import build_adapters
from gateway.cli import main
from gateway.config import DEMO_AGENCIES, agency_settings
from gateway.field_catalogue import catalogue_gaps
from tests.conftest import POLICIES, GatewayFactory, GatewayProcess, ref

TENURE = "query($ref: PersonReference!) { person(reference: $ref) { housing { tenure } } }"


def demo_sections() -> list[Any]:
    agencies = {name: agency_settings(name, "unused") for name in DEMO_AGENCIES}
    return [a.discover() for a in build_adapters(agencies, 1.0).values()]


def policies_without(tmp_path: Path, coordinate: str, stale: str | None = None) -> Path:
    """A copy of the policies whose housing catalogue lacks ``coordinate``."""
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    path = copy / "agencies" / "housing" / "data.json"
    document = json.loads(path.read_text())
    del document["fields"][coordinate]
    if stale:
        document["fields"][stale] = {}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return copy


def test_the_demo_catalogues_cover_every_field_of_the_seven_sections() -> None:
    assert catalogue_gaps(demo_sections(), POLICIES) == []


def test_a_missing_entry_and_a_stale_one_are_both_found(tmp_path: Path) -> None:
    policies = policies_without(tmp_path, "HousingSection.tenure", stale="HousingSection.pets")

    [gap] = catalogue_gaps(demo_sections(), policies)

    assert (gap.agency, gap.uncatalogued, gap.stale) == (
        "housing",
        ("HousingSection.tenure",),
        ("HousingSection.pets",),
    )
    assert "always denied: HousingSection.tenure" in gap.describe()


def test_an_agency_without_a_catalogue_is_reported_whole(tmp_path: Path) -> None:
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    shutil.rmtree(copy / "agencies" / "police")

    [gap] = catalogue_gaps(demo_sections(), copy)

    assert gap.catalogue_missing and "PoliceSection.pncId" in gap.uncatalogued
    assert "no field catalogue at policies/agencies/police/data.json" in gap.describe()


def test_policy_check_lists_uncatalogued_fields(tmp_path: Path) -> None:
    policies = policies_without(tmp_path, "HousingSection.tenure")

    result = CliRunner().invoke(main, ["policy", "check", "--policy-dir", str(policies)])

    assert result.exit_code == 0, result.output
    assert "warning: field catalogue: housing: fields with no catalogue entry" in result.output
    assert "HousingSection.tenure" in result.output
    clean = CliRunner().invoke(main, ["policy", "check"])
    assert "field catalogues cover every field of council, benefits" in clean.output


def test_gateway_warns_at_start_up_and_denies_the_uncatalogued_field(
    tmp_path: Path,
    start_gateway: GatewayFactory,
    gateway: GatewayProcess,
    person_in_all: dict[str, Any],
) -> None:
    variables = ref("NI_NUMBER", person_in_all["ni_number"])
    catalogued = gateway.query(variables, query=TENURE).json()
    assert catalogued["data"]["person"]["housing"]["tenure"], "precondition: tenure is shown"

    policies = policies_without(tmp_path, "HousingSection.tenure")
    uncatalogued = start_gateway(extra_args=("--policy-dir", str(policies)))
    body = uncatalogued.query(variables, query=TENURE).json()

    assert (
        "field catalogue: housing: fields with no catalogue entry, always denied: "
        "HousingSection.tenure" in uncatalogued.log()
    )
    assert body["data"]["person"]["housing"]["tenure"] is None
    withheld = {w["coordinate"]: w["reason"] for w in body["extensions"]["joinedup"]["withheld"]}
    assert "not in the housing field catalogue" in withheld["HousingSection.tenure"]
