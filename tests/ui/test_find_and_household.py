"""Finding a person by name and date of birth, and the household map, in a real browser.

Expected values come from the gateway's own GraphQL answers for the same demo
user and purpose, so the page is checked against the matcher and the policy,
not against strings copied into the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, Request, expect

from tests.conftest import GatewayProcess
from tests.ui.conftest import CaseworkerPage, save_doc_image

FIND_PERSON_QUERY = """
query($demographics: DemographicsInput!) {
  findPerson(demographics: $demographics) {
    candidates {
      reference { scheme value }
      probability status name yearOfBirth postcodeDistrict agencies
    }
    unavailable
  }
}
"""

HOUSEHOLD_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    household {
      members {
        relationship source
        person { reference { scheme value } matches { agency status } council { name } }
      }
    }
  }
}
"""

SHORT_NAMES = {"nhs": "NHS"}

# The demo users' roles and teams (gateway/demo_users.json), for asking the API as them.
AMY = {"role": "keyworker", "team": "early-help", "purpose": "early_help"}
SAM = {"role": "social_worker", "team": "children-east", "purpose": "safeguarding_children"}


def short_name(agency: str) -> str:
    return SHORT_NAMES.get(agency, agency.capitalize())


def as_user(gateway: GatewayProcess, user: dict[str, str], query: str, variables: dict[str, Any]):  # type: ignore[no-untyped-def]
    body: dict[str, Any] = gateway.query(
        variables, role=user["role"], purpose=user["purpose"], query=query, team=user["team"]
    ).json()
    return body


def demographics(person: dict[str, Any], **changes: str) -> dict[str, str]:
    return {
        "givenName": person["given_name"],
        "familyName": person["family_name"],
        "dateOfBirth": person["date_of_birth"],
        **changes,
    }


@pytest.fixture
def person_requests(caseworker: CaseworkerPage) -> Iterator[Callable[[], list[Request]]]:
    """The single-view requests the page sent: none may go before a person is chosen."""
    sent: list[Request] = []

    def watch(request: Request) -> None:
        if request.url.endswith("/graphql") and "CaseworkerView" in (request.post_data or ""):
            sent.append(request)

    caseworker.page.on("request", watch)
    yield lambda: list(sent)


def search(caseworker: CaseworkerPage, details: dict[str, str]) -> None:
    page = caseworker.page
    page.get_by_label("Given name").fill(details["givenName"])
    page.get_by_label("Family name").fill(details["familyName"])
    page.get_by_label("Date of birth", exact=True).fill(details["dateOfBirth"])
    page.get_by_role("button", name="Search by name and date of birth").click()
    expect(page.locator("#candidates")).to_be_visible()


def candidates(page: Page) -> Locator:
    return page.locator("#candidate-list > li")


def percent(probability: float) -> str:
    return f"{round(probability * 1000) / 10:g}%"


def test_without_introspection_name_search_and_household_say_not_available(
    page: Page,
    start_gateway: Any,
    monkeypatch: pytest.MonkeyPatch,
    person_with_history: dict[str, Any],
) -> None:
    """A gateway that will not describe its schema cannot be assumed to offer either
    feature: both say so, and the identifier search and single view still work."""
    monkeypatch.setenv("JOINEDUP_SERVER__INTROSPECTION", "false")
    gateway = start_gateway()
    caseworker = CaseworkerPage(page, gateway.url)

    caseworker.open_person(
        "amy.keyworker", "early_help", "NI_NUMBER", person_with_history["ni_number"]
    )

    expect(page.locator("#demographics-note")).to_contain_text("Not available on this gateway")
    expect(page.get_by_label("Given name")).to_be_disabled()
    expect(page.locator("#household-map")).to_contain_text("Not available on this gateway")
    expect(caseworker.field("council", "councilId")).to_have_text(
        person_with_history["council_id"]
    )


def test_search_by_name_and_date_of_birth_lists_candidates_and_opens_on_request(
    caseworker: CaseworkerPage,
    gateway: GatewayProcess,
    person_with_history: dict[str, Any],
    person_requests: Callable[[], list[Request]],
) -> None:
    person = person_with_history
    details = demographics(person)
    api = as_user(gateway, SAM, FIND_PERSON_QUERY, {"demographics": details})
    expected = api["data"]["findPerson"]["candidates"]
    assert expected, "the matcher found no one for a person's own name and date of birth"

    caseworker.sign_in("sam.socialworker")
    caseworker.choose_purpose(SAM["purpose"])
    search(caseworker, details)

    page = caseworker.page
    expect(page.locator("#candidates-heading")).to_be_focused()
    expect(candidates(page)).to_have_count(len(expected))
    for item, candidate in zip(candidates(page).all(), expected, strict=True):
        expect(item).to_have_attribute("data-status", candidate["status"])
        expect(item).to_contain_text(f"Match probability {percent(candidate['probability'])}")
        label = "Likely match" if candidate["status"] == "LIKELY" else "needs confirmation"
        expect(item).to_contain_text(label)
        for agency in candidate["agencies"]:
            expect(item.locator("dd[data-field='agencies']")).to_contain_text(short_name(agency))
        year = item.locator("dd[data-field='yearOfBirth']")
        if candidate["yearOfBirth"] is None:
            expect(year).to_contain_text("Withheld")
        else:
            expect(year).to_have_text(str(candidate["yearOfBirth"]))
    save_doc_image(page.locator("#candidates"), "find-by-name.png")
    expect(page.locator("#person")).to_be_hidden()
    assert person_requests() == [], "a person was opened before anyone chose one"

    first = candidates(page).first
    first.get_by_role("button", name="Open this person").click()
    if expected[0]["status"] == "POSSIBLE":
        first.get_by_role("button", name="Yes, this is the person").click()
    expect(page.locator("#person-heading")).to_be_focused()
    [opened] = person_requests()
    assert opened.post_data_json["variables"]["ref"] == expected[0]["reference"]
    expect(page.locator("#person-summary")).to_contain_text("Confirmed by you")
    expect(caseworker.field("council", "councilId")).to_have_text(person["council_id"])
