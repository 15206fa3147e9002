"""The caseworker page, end to end: real browser, real gateway, real demo world.

Expected values come from the gateway's own GraphQL answers for the same
caller and purpose, so the page is checked against the policy, not against
strings copied into the test.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from gateway.purposes import load_purposes
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, GatewayProcess, ref, start_benefits
from tests.ui.conftest import REPO_ROOT, CaseworkerPage, save_doc_image

TIMELINE_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    timeline { events { date agency kind summary } gaps { agency code reason } }
  }
}
"""


def agencies(gateway: GatewayProcess) -> list[dict[str, Any]]:
    body = gateway.query({}, query="{ agencies { name title events { kind } } }").json()
    found: list[dict[str, Any]] = body["data"]["agencies"]
    return found


def forbidden_reason(body: dict[str, Any], path: list[str]) -> str:
    [error] = [e for e in body["errors"] if e["path"] == path]
    assert error["extensions"]["code"] == "FORBIDDEN"
    reason: str = error["extensions"]["reason"]
    return reason


def test_single_view_shows_each_agency_with_withheld_and_masked_fields(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    person = person_with_history
    api = gateway.query(
        ref("NI_NUMBER", person["ni_number"]), role="keyworker", purpose="early_help"
    ).json()

    caseworker.open_person("amy.keyworker", "early_help", "NI_NUMBER", person["ni_number"])

    panels = caseworker.page.locator("section.panel")
    expected = agencies(gateway)
    expect(panels).to_have_count(len(expected))
    for agency in expected:
        expect(caseworker.panel(agency["name"]).get_by_role("heading")).to_have_text(
            agency["title"]
        )
    council = api["data"]["person"]["council"]
    expect(caseworker.field("council", "name")).to_have_text(council["name"])
    expect(caseworker.field("council", "councilId")).to_have_text(council["councilId"])

    address = caseworker.field("council", "address")
    expect(address).to_contain_text("Withheld")
    expect(address).to_contain_text(forbidden_reason(api, ["person", "council", "address"]))

    lawful_basis = load_purposes(REPO_ROOT / "policies")["early_help"].lawful_basis
    expect(caseworker.page.locator("#lawful-basis")).to_contain_text(lawful_basis)
    birth = caseworker.field("council", "dateOfBirth")
    expect(birth).to_contain_text("Masked: year only")
    expect(birth).to_contain_text(person["date_of_birth"][:4])
    html = caseworker.page.content()
    assert person["date_of_birth"] not in html
    assert person["address"] not in html
    save_doc_image(caseworker.page.locator("#person"), "single-view.png")


def apply_filters(page: Page) -> None:
    with page.expect_response(lambda r: r.url.endswith("/graphql")):
        page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#status")).to_contain_text("Chronology updated")


def test_chronology_has_a_lane_per_agency_and_filters(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    person = person_with_history
    events = gateway.query(ref("NI_NUMBER", person["ni_number"]), query=TIMELINE_QUERY).json()[
        "data"
    ]["person"]["timeline"]["events"]
    assert {"council", "benefits"} <= {e["agency"] for e in events}

    caseworker.open_person(
        "sam.socialworker", "safeguarding_children", "NI_NUMBER", person["ni_number"]
    )

    page = caseworker.page
    chart = page.locator("#chronology-chart svg")
    with_events = [a for a in agencies(gateway) if a["events"]]
    expect(chart.locator("g.lane")).to_have_count(len(with_events))
    expect(chart.locator("circle.event")).to_have_count(len(events))
    expect(caseworker.event_rows()).to_have_count(len(events))
    expect(caseworker.event_rows().first.locator("td").first).to_have_text(events[0]["date"])
    save_doc_image(page.locator("#chronology"), "chronology.png")

    page.get_by_role("checkbox", name="Benefits").uncheck()
    apply_filters(page)
    not_benefits = [e for e in events if e["agency"] != "benefits"]
    expect(chart.locator("g.lane")).to_have_count(len(with_events) - 1)
    expect(caseworker.event_rows()).to_have_count(len(not_benefits))
    expect(page.locator("#events-table tbody tr[data-agency='benefits']")).to_have_count(0)

    page.get_by_role("checkbox", name="Benefits").check()
    since = sorted(e["date"] for e in events)[len(events) // 2]
    page.get_by_label("From date").fill(since)
    apply_filters(page)
    later = [e for e in events if e["date"] >= since]
    expect(caseworker.event_rows()).to_have_count(len(later))
    shown = caseworker.event_rows().locator("td:first-child").all_inner_texts()
    assert all(date >= since for date in shown)


def test_an_agency_that_is_down_is_shown_unavailable_and_the_rest_stands(
    page: Page,
    start_gateway: GatewayFactory,
    world: WorldPaths,
    person_with_history: dict[str, Any],
) -> None:
    own_benefits = start_benefits(world)
    gateway = start_gateway({"benefits": own_benefits.url})
    own_benefits.stop()
    caseworker = CaseworkerPage(page, gateway.url)

    caseworker.open_person(
        "sam.socialworker", "safeguarding_children", "NI_NUMBER", person_with_history["ni_number"]
    )

    benefits = caseworker.panel("benefits")
    expect(benefits).to_have_attribute("data-state", "unavailable")
    expect(benefits).to_contain_text("Unavailable")
    expect(benefits).to_contain_text("UPSTREAM_UNAVAILABLE")
    expect(caseworker.panel("council")).to_have_attribute("data-state", "ok")
    expect(caseworker.field("council", "councilId")).to_have_text(person_with_history["council_id"])
    expect(page.locator("#matches")).to_contain_text("Benefits: unavailable")
    expect(page.locator("#chronology-gaps")).to_contain_text("Benefits")
    expect(page.locator("#chronology-gaps")).to_contain_text("UPSTREAM_UNAVAILABLE")
    assert caseworker.event_rows().count() > 0
    expect(page.locator("#events-table tbody tr[data-agency='benefits']")).to_have_count(0)


def audit_rows(gateway: GatewayProcess, request_id: str) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(gateway.state_dir / "audit.sqlite")
    try:
        return db.execute(
            "SELECT user_id, purpose, agency FROM audit_record WHERE request_id = ?", (request_id,)
        ).fetchall()
    finally:
        db.close()


def test_break_glass_needs_a_reason_says_it_is_reviewed_and_is_audited(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    page = caseworker.page
    caseworker.open_person(
        "amy.keyworker", "early_help", "NI_NUMBER", person_with_history["ni_number"]
    )
    emergency = page.locator("#break-glass")
    expect(emergency).to_contain_text("reviewed")
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if r.url.endswith("/graphql") else None)

    emergency.get_by_role("button", name="Request emergency access").click()
    assert page.get_by_label("Reason for emergency access").evaluate("e => !e.validity.valid")
    assert not [h for h in sent if "x-break-glass-reason" in h], "sent without a reason"

    curly = "\N{RIGHT SINGLE QUOTATION MARK}"
    page.get_by_label("Reason for emergency access").fill(f"Mother{curly}s partner made threats")
    emergency.get_by_role("button", name="Request emergency access").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"cannot be sent with these characters: {curly}"
    )
    assert not [h for h in sent if "x-break-glass-reason" in h], "sent a header it cannot carry"

    reason = "Child reported missing overnight; police asked for known addresses"
    page.get_by_label("Reason for emergency access").fill(reason)
    with page.expect_response(lambda r: r.url.endswith("/graphql")) as answer:
        emergency.get_by_role("button", name="Request emergency access").click()
    assert answer.value.request.headers["x-break-glass-reason"] == reason
    body = answer.value.json()

    banner = page.locator(".emergency-banner")
    expect(banner).to_contain_text("This access will be reviewed")
    expect(banner).to_contain_text(reason)
    request_id = body["extensions"]["joinedup"]["requestId"]
    expect(banner).to_contain_text(request_id)
    if body["extensions"]["joinedup"].get("breakGlass"):
        expect(banner).to_contain_text("granted emergency access")
    else:
        expect(banner).to_contain_text("did not confirm emergency access")
    rows = audit_rows(gateway, request_id)
    assert {(user, purpose) for user, purpose, _ in rows} == {("amy.keyworker", "early_help")}
    assert {"council", "benefits"} <= {agency for _, _, agency in rows}


def focused(page: Page) -> str:
    """The focused element, as '<tag>#id' or '<tag>:text'."""
    described: str = page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : ':' + e.textContent.trim()); }"
    )
    return described


def focus_ring(page: Page) -> str:
    ring: str = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle + ' ' + s.outlineWidth; }"
    )
    return ring


def tab_to(page: Page, target: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == target:
            return
    raise AssertionError(f"Tab never reached {target}; stuck at {focused(page)}")


def test_keyboard_only_sign_in_search_filter_and_break_glass(
    page: Page, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    page.goto(gateway.url + "/")
    expect(page.locator("#demo-user option")).not_to_have_count(0)

    page.keyboard.press("Tab")
    assert focused(page) == "a:Skip to main content"
    assert focus_ring(page) == "solid 3px"
    tab_to(page, "select#demo-user")
    assert focus_ring(page) == "solid 3px"
    page.keyboard.press("ArrowDown")  # the second demo user: Sam, a social worker
    assert page.get_by_label("Demo user").input_value() == "sam.socialworker"
    page.keyboard.press("Tab")
    assert focused(page) == "button:Sign in"
    page.keyboard.press("Enter")
    expect(page.locator("#purpose")).to_be_focused()

    page.keyboard.press("ArrowDown")  # the first purpose: safeguarding children
    expect(page.get_by_label("Identifier type")).to_be_enabled()
    tab_to(page, "select#scheme")
    page.keyboard.type("NI")  # type-ahead selects NI_NUMBER
    assert page.get_by_label("Identifier type").input_value() == "NI_NUMBER"
    page.keyboard.press("Tab")
    page.keyboard.type(person_with_history["ni_number"])
    page.keyboard.press("Enter")
    expect(page.locator("#person-heading")).to_be_focused()
    expect(caseworker_field(page, "council", "councilId")).to_have_text(
        person_with_history["council_id"]
    )

    tab_to(page, "input#since")
    page.keyboard.type("01012100")  # a date after every event
    tab_to(page, "button:Apply filters")
    assert focus_ring(page) == "solid 3px"
    page.keyboard.press("Enter")
    expect(page.locator("#events-table tbody")).to_contain_text("No events in this range.")

    tab_to(page, "textarea#break-glass-reason")
    page.keyboard.type("Immediate risk of harm reported by the police out of hours")
    page.keyboard.press("Tab")
    assert focused(page) == "button:Request emergency access for this person"
    page.keyboard.press("Enter")
    expect(page.locator(".emergency-banner")).to_contain_text("This access will be reviewed")


def caseworker_field(page: Page, agency: str, name: str) -> Any:
    return page.locator(f"section.panel[data-agency='{agency}'] dd[data-field='{name}']")


def test_no_accessibility_violations_signed_out_and_on_the_single_view(
    caseworker: CaseworkerPage, person_with_history: dict[str, Any]
) -> None:
    axe = Axe()
    caseworker.page.goto(caseworker.url + "/")
    expect(caseworker.page.locator("#demo-user option")).not_to_have_count(0)
    signed_out = axe.run(caseworker.page)
    assert signed_out.violations_count == 0, signed_out.generate_report()

    caseworker.open_person(
        "amy.keyworker", "early_help", "NI_NUMBER", person_with_history["ni_number"]
    )
    expect(caseworker.event_rows()).not_to_have_count(0)
    single_view = axe.run(caseworker.page)
    assert single_view.violations_count == 0, single_view.generate_report()


def test_a_wholly_withheld_agency_shows_the_policy_reason_in_panel_and_chronology(
    caseworker: CaseworkerPage, gateway: GatewayProcess, person_with_history: dict[str, Any]
) -> None:
    """A benefits officer assessing a claim: the council is withheld, and so are the council's
    events in the chronology, each with the policy's reason."""
    ni_number = person_with_history["ni_number"]
    api = gateway.query(
        ref("NI_NUMBER", ni_number), role="benefits_officer", purpose="benefit_assessment"
    ).json()

    caseworker.open_person("ben.officer", "benefit_assessment", "NI_NUMBER", ni_number)

    council = caseworker.panel("council")
    expect(council).to_have_attribute("data-state", "withheld")
    expect(council).to_contain_text(forbidden_reason(api, ["person", "council"]))
    expect(caseworker.field("benefits", "niNumber")).to_have_text(ni_number)
    timeline = gateway.query(
        ref("NI_NUMBER", ni_number),
        role="benefits_officer",
        purpose="benefit_assessment",
        query=TIMELINE_QUERY,
    ).json()["data"]["person"]["timeline"]
    [council_gap] = [g for g in timeline["gaps"] if g["agency"] == "council"]
    gaps = caseworker.page.locator("#chronology-gaps")
    expect(gaps).to_contain_text("Withheld")
    expect(gaps).to_contain_text(council_gap["reason"])
    expect(caseworker.page.locator("#events-table tbody tr[data-agency='council']")).to_have_count(
        0
    )
    assert person_with_history["council_id"] not in caseworker.page.content()


def test_a_new_search_starts_with_the_whole_chronology(
    caseworker: CaseworkerPage, person_with_history: dict[str, Any]
) -> None:
    ni_number = person_with_history["ni_number"]
    caseworker.open_person("sam.socialworker", "safeguarding_children", "NI_NUMBER", ni_number)
    everything = caseworker.event_rows().count()
    assert everything > 0
    page = caseworker.page
    page.get_by_label("From date").fill("2100-01-01")
    apply_filters(page)
    expect(caseworker.event_rows()).to_have_count(0)

    with page.expect_response(lambda r: r.url.endswith("/graphql")):
        page.get_by_role("button", name="Find").click()

    expect(page.get_by_label("From date")).to_have_value("")
    expect(caseworker.event_rows()).to_have_count(everything)
