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

from tests.conftest import GatewayFactory, GatewayProcess
from tests.ui.conftest import CaseworkerPage, save_doc_image
from tests.ui.test_caseworker_page import focused, tab_to

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

HOUSEHOLD_TIMELINE_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    household { timeline { events { date agency kind subject } } }
  }
}
"""

SHORT_NAMES = {"nhs": "NHS"}

# The demo users' roles and teams (gateway/demo_users.json), for asking the API as them.
AMY = {"role": "keyworker", "team": "early-help", "purpose": "early_help"}
SAM = {"role": "social_worker", "team": "children-east", "purpose": "safeguarding_children"}


def short_name(agency: str) -> str:
    return SHORT_NAMES.get(agency, agency.capitalize())


def as_user(
    gateway: GatewayProcess, user: dict[str, str], query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The API's answer for a demo user's role, team and purpose."""
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
    page.get_by_label("Postcode (optional)").fill(details.get("postcode", ""))
    page.get_by_role("button", name="Search by name and date of birth").click()
    expect(page.locator("#candidates")).to_be_visible()


def candidates(page: Page) -> Locator:
    return page.locator("#candidate-list > li")


def percent(probability: float) -> str:
    return f"{round(probability * 1000) / 10:g}%"


def test_without_introspection_name_search_and_household_say_not_available(
    page: Page,
    start_gateway: GatewayFactory,
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
    expect(caseworker.field("council", "councilId")).to_have_text(person_with_history["council_id"])


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
    page = caseworker.page
    with page.expect_response(lambda r: "FindPerson" in (r.request.post_data or "")) as answer:
        search(caseworker, details)
    tokens = [c["reference"] for c in answer.value.json()["data"]["findPerson"]["candidates"]]

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
    expect(page.locator("#person")).to_be_hidden()
    assert person_requests() == [], "a person was opened before anyone chose one"

    # The candidate holding the council record: the test knows that record's id.
    index = next(i for i, c in enumerate(expected) if "council" in c["agencies"])
    chosen = candidates(page).nth(index)
    chosen.get_by_role("button", name="Open this person").click()
    if expected[index]["status"] == "POSSIBLE":
        chosen.get_by_role("button", name="Yes, this is the person").click()
    expect(page.locator("#person-heading")).to_be_focused()
    [opened] = person_requests()
    assert opened.post_data_json["variables"]["ref"] == tokens[index]
    expect(page.locator("#person-summary")).to_contain_text("Confirmed by you")
    expect(caseworker.field("council", "councilId")).to_have_text(person["council_id"])


def a_possible_match(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]]
) -> tuple[dict[str, str], int, dict[str, Any]]:
    """A search with a transposed date of birth and a postcode from elsewhere: the person is
    still found, but only as a possible match. Returns the search, the index of the possible
    candidate holding the person's council record, and the person."""
    for person in [p for p in ground_truth if p["council_id"]][:30]:
        year, month, day = person["date_of_birth"].split("-")
        if int(day) > 12 or day == month:
            continue
        details = demographics(person, dateOfBirth=f"{year}-{day}-{month}", postcode="ZZ9 9ZZ")
        found = as_user(gateway, SAM, FIND_PERSON_QUERY, {"demographics": details})
        for index, candidate in enumerate(found["data"]["findPerson"]["candidates"]):
            if candidate["status"] == "POSSIBLE" and "council" in candidate["agencies"]:
                return details, index, person
    raise LookupError("no noisy search in the test world gives a possible match")


def test_a_possible_match_is_opened_only_after_a_second_confirmation(
    caseworker: CaseworkerPage,
    gateway: GatewayProcess,
    ground_truth: list[dict[str, Any]],
    person_requests: Callable[[], list[Request]],
) -> None:
    details, index, person = a_possible_match(gateway, ground_truth)
    caseworker.sign_in("sam.socialworker")
    caseworker.choose_purpose(SAM["purpose"])
    search(caseworker, details)
    page = caseworker.page
    possible = candidates(page).nth(index)
    expect(possible).to_have_attribute("data-status", "POSSIBLE")
    expect(possible).to_contain_text("Possible match — needs confirmation")

    possible.get_by_role("button", name="Open this person").click()
    confirm = possible.get_by_role("group", name="Confirm")
    expect(confirm).to_contain_text("only a possible match")
    expect(confirm.get_by_role("button", name="Yes, this is the person")).to_be_focused()
    save_doc_image(page.locator("#candidates"), "find-by-name.png")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    expect(possible.get_by_role("button", name="Open this person")).to_be_focused()
    expect(page.locator("#person")).to_be_hidden()
    assert person_requests() == [], "a possible match was opened without confirmation"

    possible.get_by_role("button", name="Open this person").click()
    possible.get_by_role("button", name="Yes, this is the person").click()
    expect(page.locator("#person-heading")).to_be_focused()
    assert len(person_requests()) == 1
    expect(page.locator("#person-summary")).to_contain_text("possible match")
    expect(caseworker.field("council", "councilId")).to_have_text(person["council_id"])


def test_a_refused_search_shows_the_policy_reason(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    """A benefits officer may not search by name: the page says why, and opens no one."""
    details = demographics(person_with_history)
    ben = {"role": "benefits_officer", "team": "assessments", "purpose": "benefit_assessment"}
    api = as_user(gateway, ben, FIND_PERSON_QUERY, {"demographics": details})
    [error] = api["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"

    caseworker.sign_in("ben.officer")
    caseworker.choose_purpose(ben["purpose"])
    page = caseworker.page
    page.get_by_label("Given name").fill(details["givenName"])
    page.get_by_label("Family name").fill(details["familyName"])
    page.get_by_label("Date of birth", exact=True).fill(details["dateOfBirth"])
    page.get_by_role("button", name="Search by name and date of birth").click()

    expect(page.get_by_role("alert")).to_contain_text(error["extensions"]["reason"])
    expect(page.locator("#candidates")).to_be_hidden()
    expect(page.locator("#person")).to_be_hidden()


def test_masked_and_withheld_candidate_details_are_marked(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    """A keyworker sees a candidate's name as initials, marked as masked (so it is not
    taken for the name), and the postcode district withheld with the policy's reason."""
    details = demographics(person_with_history)
    api = as_user(gateway, AMY, FIND_PERSON_QUERY, {"demographics": details})
    masks = {m["coordinate"]: m["mask"] for m in api["extensions"]["joinedup"]["masked"]}
    assert masks.get("PersonCandidate.name") == "initials"
    [withheld] = api["extensions"]["joinedup"]["withheld"]
    first = api["data"]["findPerson"]["candidates"][0]

    caseworker.sign_in("amy.keyworker")
    caseworker.choose_purpose(AMY["purpose"])
    search(caseworker, details)

    item = candidates(caseworker.page).first
    expect(item.get_by_role("heading")).to_contain_text(first["name"])
    expect(item.get_by_role("heading")).to_contain_text("Masked: initials only")
    postcode = item.locator("dd[data-field='postcodeDistrict']")
    expect(postcode).to_contain_text("Withheld")
    expect(postcode).to_contain_text(withheld["reason"])


def household(
    gateway: GatewayProcess, user: dict[str, str], ni_number: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The household members the API gives this user, and its errors by path."""
    reference = {"ref": {"scheme": "NI_NUMBER", "value": ni_number}}
    body = as_user(gateway, user, HOUSEHOLD_QUERY, reference)
    members: list[dict[str, Any]] = body["data"]["person"]["household"]["members"]
    errors = {"/".join(map(str, e["path"])): e for e in body.get("errors", [])}
    return members, errors


def known_to(member: dict[str, Any]) -> list[str]:
    return [m["agency"] for m in member["person"]["matches"] if m["status"] == "MATCHED"]


def test_household_map_shows_members_relationships_and_agency_involvement(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    members, _errors = household(gateway, SAM, person_with_history["ni_number"])
    assert members, "the richest person in the test world has no household"

    caseworker.open_person(
        "sam.socialworker", SAM["purpose"], "NI_NUMBER", person_with_history["ni_number"]
    )

    page = caseworker.page
    rows = page.locator("#household-table tbody tr")
    nodes = page.locator("#household-map svg g.node[data-member]")
    expect(rows).to_have_count(len(members))
    expect(nodes).to_have_count(len(members))
    for index, member in enumerate(members):
        row = rows.nth(index)
        expect(row.locator("td").nth(1)).to_have_text(member["relationship"])
        expect(row.locator("td").nth(2)).to_have_text(short_name(member["source"]))
        if member["person"] is None:
            expect(row).to_have_attribute("data-state", "unmatched")
            continue
        agencies = known_to(member)
        for agency in agencies:
            expect(row.locator("td.member-agencies")).to_contain_text(short_name(agency))
        expect(nodes.nth(index).locator("g.badge")).to_have_count(len(agencies))
    relationships = page.locator("#household-map svg g.edge text").all_text_contents()
    assert relationships == [m["relationship"] for m in members]
    save_doc_image(page.locator("#household"), "household.png")

    reference = {"ref": {"scheme": "NI_NUMBER", "value": person_with_history["ni_number"]}}
    timeline = as_user(gateway, SAM, HOUSEHOLD_TIMELINE_QUERY, reference)
    events = timeline["data"]["person"]["household"]["timeline"]["events"]
    household_events = page.locator("#household-events-table tbody tr[data-agency]")
    expect(household_events).to_have_count(len(events))
    # Each event says whose it is: a member (by relationship) or the person on screen.
    relationship = {
        f"{m['person']['reference']['scheme']}:{m['person']['reference']['value']}": m[
            "relationship"
        ]
        for m in members
        if m["person"] is not None
    }
    expected = [f"({relationship.get(e['subject'], 'person on screen')})" for e in events]
    whose = household_events.locator("td.subject").all_text_contents()
    assert [w[w.rindex(" (") + 1 :] for w in whose] == expected
    assert any(e["subject"] in relationship for e in events), "no member has an event"
    page.get_by_label("From date").fill("2100-01-01")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#household-events-table tbody")).to_contain_text("No events in this range")

    # A member's node on the map opens them (the table's buttons do too: see the keyboard test).
    index, member = next((i, m) for i, m in enumerate(members) if m["person"] is not None)
    with page.expect_request(lambda r: "CaseworkerView" in (r.post_data or "")) as opened:
        nodes.nth(index).click()
    assert opened.value.post_data_json["variables"]["ref"] == member["person"]["reference"]
    expect(page.locator("#person-summary")).to_contain_text(
        f"Household member ({member['relationship']})"
    )
    expect(page.locator("#person-heading")).to_be_focused()
    for agency in known_to(member):
        expect(page.locator("#matches")).to_contain_text(f"{short_name(agency)}: record found")


def test_a_withheld_household_member_shows_the_policy_reason(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    """A keyworker may see the person (their team's case) but not every member: a member
    without a case of the keyworker's team is shown, with the policy's reason, unnamed."""
    members, errors = household(gateway, AMY, person_with_history["ni_number"])
    withheld = {
        index: errors[f"person/household/members/{index}/person/council"]["extensions"]["reason"]
        for index in range(len(members))
        if f"person/household/members/{index}/person/council" in errors
    }
    assert withheld, "no household member is withheld from the keyworker in the test world"

    caseworker.open_person(
        "amy.keyworker", AMY["purpose"], "NI_NUMBER", person_with_history["ni_number"]
    )

    rows = caseworker.page.locator("#household-table tbody tr")
    expect(rows).to_have_count(len(members))
    for index, reason in withheld.items():
        expect(rows.nth(index)).to_have_attribute("data-state", "name-withheld")
        expect(rows.nth(index).locator("td.member-name")).to_contain_text("Withheld")
        expect(rows.nth(index).locator("td.member-name")).to_contain_text(reason)
        node = caseworker.page.locator(f"#household-map svg g.node[data-member='{index}']")
        expect(node).to_contain_text("Name withheld")


def test_no_accessibility_violations_in_search_results_and_household(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    axe = Axe()
    caseworker.sign_in("sam.socialworker")
    caseworker.choose_purpose(SAM["purpose"])
    search(caseworker, demographics(person_with_history))
    results = axe.run(caseworker.page)
    assert results.violations_count == 0, results.generate_report()

    candidates(caseworker.page).first.get_by_role("button", name="Open this person").click()
    expect(caseworker.page.locator("#household-table tbody tr")).not_to_have_count(0)
    opened = axe.run(caseworker.page)
    assert opened.violations_count == 0, opened.generate_report()


def test_keyboard_only_search_by_name_confirm_and_move_through_the_household(
    page: Page, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    caseworker = CaseworkerPage(page, gateway.url)
    caseworker.sign_in("sam.socialworker")
    caseworker.choose_purpose(SAM["purpose"])
    page.get_by_label("Purpose of use").focus()

    tab_to(page, "input#given-name")
    page.keyboard.type(person_with_history["given_name"])
    page.keyboard.press("Tab")
    page.keyboard.type(person_with_history["family_name"])
    page.keyboard.press("Tab")
    year, month, day = person_with_history["date_of_birth"].split("-")
    page.keyboard.type(f"{month}{day}{year}")  # the date field's order in this locale
    expect(page.get_by_label("Date of birth", exact=True)).to_have_value(
        person_with_history["date_of_birth"]
    )
    tab_to(page, "button:Search by name and date of birth")
    page.keyboard.press("Enter")
    expect(page.locator("#candidates-heading")).to_be_focused()

    page.keyboard.press("Tab")
    assert focused(page).startswith("button:Open this person")
    page.keyboard.press("Enter")
    if candidates(page).first.get_attribute("data-status") == "POSSIBLE":
        assert focused(page).startswith("button:Yes, this is the person")
        page.keyboard.press("Enter")
    expect(page.locator("#person-heading")).to_be_focused()
    expect(page.locator("#household-table tbody tr")).not_to_have_count(0)

    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('open-member')"):
            break
    else:
        raise AssertionError("Tab never reached a household member's Open button")
    page.keyboard.press("Enter")
    expect(page.locator("#person-summary")).to_contain_text("Household member")
