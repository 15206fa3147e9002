"""The caseworker page in a real browser: Debian's Chromium driven by Playwright.

Playwright's own browser downloads are never used (the machines have no
internet): it launches the system Chromium with this network's flags. Every
test leaves a full-page screenshot in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from simulators.world import WorldPaths
from tests.browser import CHROMIUM_FLAGS, chromium
from tests.conftest import GatewayProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
DOC_IMAGES = REPO_ROOT / "docs" / "images"
LAPTOP = {"width": 1366, "height": 768}


# Package scope: Playwright's sync API holds an event loop while it runs, so it
# is closed before any async test outside this folder runs.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium(),
            # Playwright adds its own headless switch.
            args=[flag for flag in CHROMIUM_FLAGS if flag != "--headless"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda error: script_errors.append(str(error)))
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()
    assert script_errors == [], f"the page's scripts failed: {script_errors}"


def save_doc_image(locator: Locator, name: str) -> None:
    """README screenshots are refreshed on request (`make docs-images`), not by every run."""
    if os.environ.get("JOINEDUP_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=DOC_IMAGES / name)


@dataclass
class CaseworkerPage:
    """What a caseworker does on the page, in the words the page uses."""

    page: Page
    url: str

    def sign_in(self, user: str) -> None:
        self.page.goto(self.url + "/")
        self.page.get_by_label("Demo user").select_option(user)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("#session")).to_be_visible()

    def choose_purpose(self, purpose: str) -> None:
        self.page.get_by_label("Purpose of use").select_option(purpose)
        expect(self.page.get_by_label("Identifier type")).to_be_enabled()

    def find(self, scheme: str, value: str) -> None:
        self.page.get_by_label("Identifier type").select_option(scheme)
        self.page.get_by_label("Identifier", exact=True).fill(value)
        self.page.get_by_role("button", name="Find").click()
        expect(self.page.locator("#person")).to_be_visible()

    def open_person(self, user: str, purpose: str, scheme: str, value: str) -> None:
        self.sign_in(user)
        self.choose_purpose(purpose)
        self.find(scheme, value)

    def panel(self, agency: str) -> Locator:
        return self.page.locator(f"section.panel[data-agency='{agency}']")

    def field(self, agency: str, name: str) -> Locator:
        return self.panel(agency).locator(f"dd[data-field='{name}']")

    def event_rows(self) -> Locator:
        return self.page.locator("#events-table tbody tr[data-agency]")


@pytest.fixture
def caseworker(page: Page, gateway: GatewayProcess) -> CaseworkerPage:
    """The page, served by the session gateway."""
    return CaseworkerPage(page, gateway.url)


@pytest.fixture(scope="session")
def person_with_history(
    world: WorldPaths, ground_truth: list[dict[str, Any]], unrestricted: frozenset[str]
) -> dict[str, Any]:
    """The person known to both agencies (council holding their NI number) with the most
    council cases, whom the early-help team may see: the richest chronology in the world."""
    claims = {p["ni_number"]: p for p in ground_truth if "benefits" in p["records"]}
    db = sqlite3.connect(world.council_db)
    try:
        rows = db.execute(
            "SELECT p.council_id, p.ni_number, count(c.case_id) AS cases "
            "FROM person p JOIN social_case c ON c.council_id = p.council_id "
            "WHERE p.ni_number IS NOT NULL GROUP BY p.council_id ORDER BY cases DESC, p.council_id"
        ).fetchall()
    finally:
        db.close()
    for council_id, ni_number, _cases in rows:
        person = claims.get(ni_number)
        if person is not None and person["council_id"] == council_id in unrestricted:
            return person
    raise LookupError("no person with council cases and benefit claims in the test world")
