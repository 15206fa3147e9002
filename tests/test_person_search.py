"""Looking a person up by demographics (``Query.findPerson``) and confirming one candidate
with its MATCH token, against the real simulators and both halves of the policy."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from nicknames import NickNamer

from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT, GatewayConfig, agency_settings
from gateway.identity.match_token import KEY_FILE, MatchTokens, RecordLink
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import DemoWorld, free_port
from simulators.world import WorldPaths
from tests.audit_support import audit_cli
from tests.conftest import CALLER_TEAM, GatewayFactory, GatewayProcess, ref

SEARCH = """
query($who: DemographicsInput!) {
  findPerson(demographics: $who) {
    unavailable
    candidates {
      reference { scheme value } probability status agencies
      ...Details
    }
  }
}
fragment Details on PersonCandidate { name yearOfBirth postcodeDistrict }
"""

OPEN = """
query($ref: PersonReference!) {
  person(reference: $ref) { matches { agency status method } benefits { niNumber } }
}"""

POLICY = json.loads((REPO_ROOT / "policies" / "data.json").read_text())


def _council(world: WorldPaths, council_id: str) -> dict[str, Any]:
    db = sqlite3.connect(world.council_db)
    db.row_factory = sqlite3.Row
    try:
        row = db.execute("SELECT * FROM person WHERE council_id = ?", (council_id,)).fetchone()
        return dict(row)
    finally:
        db.close()


def _who(given: str, family: str, dob: str, postcode: str | None = None) -> dict[str, Any]:
    who = {"givenName": given, "familyName": family, "dateOfBirth": dob}
    return {"who": {**who, "postcode": postcode} if postcode else who}


def _search(
    gateway: GatewayProcess,
    who: dict[str, Any],
    role: str = "social_worker",
    purpose: str = "safeguarding_children",
    user: str = "test.user",
) -> dict[str, Any]:
    response = httpx.post(
        gateway.url + "/graphql",
        json={"query": SEARCH, "variables": who},
        headers={
            "Authorization": f"Bearer {gateway.token(role, user=user)}",
            PURPOSE_HEADER: purpose,
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _links(token: str) -> set[tuple[str, str]]:
    """The records a token names (its payload is signed, not secret)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return {(agency, local_id) for agency, local_id, _ in claims["links"]}


def _holding(candidates: list[dict[str, Any]], agency: str, local_id: str) -> dict[str, Any]:
    return next(c for c in candidates if (agency, local_id) in _links(c["reference"]["value"]))


def test_exact_name_and_date_of_birth_find_the_person_as_likely(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    p = person_in_both
    body = _search(
        gateway, _who(p["given_name"], p["family_name"], p["date_of_birth"], p["postcode"])
    )

    assert "errors" not in body, body.get("errors")
    found = body["data"]["findPerson"]
    assert found["unavailable"] == []
    first = found["candidates"][0]
    assert (("council", p["council_id"])) in _links(first["reference"]["value"])
    assert first["status"] == "LIKELY"
    assert first["probability"] >= POLICY["access"]["identity"]["min_confidence"]
    assert {"council", "benefits"} <= set(first["agencies"])
    assert first["name"] == f"{p['given_name']} {p['family_name']}"
    assert first["yearOfBirth"] == int(p["date_of_birth"][:4])
    assert first["postcodeDistrict"] == p["postcode"].split()[0]
    assert first["reference"]["scheme"] == "MATCH"
    probabilities = [c["probability"] for c in found["candidates"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert len(probabilities) <= POLICY["access"]["search"]["max_candidates"]
    assert min(probabilities) >= POLICY["access"]["search"]["min_probability"]


def _variants(
    ground_truth: list[dict[str, Any]], world: WorldPaths
) -> dict[str, tuple[str, dict[str, Any]]]:
    """For each kind of noise, (council id, a search carrying that noise) from the world."""
    namer = NickNamer()
    held = [_council(world, p["council_id"]) for p in ground_truth if p["council_id"]][:200]
    nickname = next(h for h in held if namer.nicknames_of(h["given_name"]))
    typo = next(h for h in held if len(h["family_name"]) >= 5 and h is not nickname)
    transposed = next(
        h
        for h in held
        if int(h["date_of_birth"][8:10]) <= 12
        and h["date_of_birth"][5:7] != h["date_of_birth"][8:10]
    )
    family = typo["family_name"]
    dob = transposed["date_of_birth"]
    return {
        "nickname": (
            nickname["council_id"],
            _who(
                sorted(namer.nicknames_of(nickname["given_name"]))[0].title(),
                nickname["family_name"],
                nickname["date_of_birth"],
            ),
        ),
        "typo": (
            typo["council_id"],
            _who(
                typo["given_name"],
                family[:2] + family[3] + family[2] + family[4:],
                typo["date_of_birth"],
                typo["postcode"],
            ),
        ),
        "transposed date": (
            transposed["council_id"],
            _who(
                transposed["given_name"],
                transposed["family_name"],
                f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}",
                transposed["postcode"],
            ),
        ),
    }


@pytest.mark.parametrize("noise", ["nickname", "typo", "transposed date"])
def test_a_noisy_search_still_finds_the_person(
    noise: str,
    gateway: GatewayProcess,
    ground_truth: list[dict[str, Any]],
    world: WorldPaths,
) -> None:
    council_id, who = _variants(ground_truth, world)[noise]

    body = _search(gateway, who)

    assert "errors" not in body, body.get("errors")
    candidates = body["data"]["findPerson"]["candidates"]
    found = _holding(candidates, "council", council_id)
    assert found["probability"] >= POLICY["access"]["search"]["min_probability"]


def test_the_token_opens_the_same_person_as_their_identifier(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    p = person_in_both
    body = _search(gateway, _who(p["given_name"], p["family_name"], p["date_of_birth"]))
    token = body["data"]["findPerson"]["candidates"][0]["reference"]["value"]

    opened = gateway.query({"ref": {"scheme": "MATCH", "value": token}}, query=OPEN)
    confirmed = opened.json()
    direct = gateway.query(ref("COUNCIL_ID", p["council_id"]), query=OPEN).json()

    assert "errors" not in confirmed, confirmed
    assert confirmed["data"]["person"]["matches"] == direct["data"]["person"]["matches"]
    assert confirmed["data"]["person"]["benefits"]["niNumber"] == p["ni_number"]
    # The token carries identifier links only: agency, local id, identifiers.
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"typ", "sub", "iat", "exp", "links"}
    assert claims["exp"] - claims["iat"] == 15 * 60
    for _agency, _local_id, identifiers in claims["links"]:
        assert all(scheme != "UPN" for scheme, _ in identifiers)
    assert p["given_name"] not in token and p["date_of_birth"] not in json.dumps(claims)
    # Opening is an ordinary disclosure; the token, like any unlisted scheme, is hashed.
    db = sqlite3.connect(gateway.state_dir / "audit.sqlite")
    try:
        rows = db.execute(
            "SELECT person_scheme, person_ref FROM audit_record WHERE request_id = ?",
            (opened.headers["x-request-id"],),
        ).fetchall()
    finally:
        db.close()
    assert rows and all(s == "MATCH" and r.startswith("hmac-sha256:") for s, r in rows)


def _refusal(gateway: GatewayProcess, token: str) -> dict[str, Any]:
    body: dict[str, Any] = gateway.query(
        {"ref": {"scheme": "MATCH", "value": token}}, query=OPEN
    ).json()
    assert body["data"]["person"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_REFERENCE"
    return error


def test_forged_expired_and_borrowed_tokens_are_refused(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    p = person_in_both
    body = _search(gateway, _who(p["given_name"], p["family_name"], p["date_of_birth"]))
    token = body["data"]["findPerson"]["candidates"][0]["reference"]["value"]
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["links"] = [["council", "C0000001", [["COUNCIL_ID", "C0000001"]]]]
    tampered = jwt.encode(
        claims, "a guessed key, long enough for HS256", algorithm="HS256", headers={"kid": "x"}
    )
    keys = [
        bytes.fromhex(line)
        for line in (gateway.state_dir / KEY_FILE).read_text().split()
        if line.strip()
    ]
    link = RecordLink("council", p["council_id"], ())
    expired = MatchTokens(keys, 60, clock=lambda: time.time() - 3600).issue("test.user", [link])
    borrowed = MatchTokens(keys, 60).issue("someone.else", [link])

    assert "not valid" in _refusal(gateway, "not-a-token")["message"]
    assert "not valid" in _refusal(gateway, f"{header}.{payload}x.{signature}")["message"]
    assert "not issued by this gateway" in _refusal(gateway, tampered)["message"]
    assert "expired" in _refusal(gateway, expired)["message"]
    assert "another user" in _refusal(gateway, borrowed)["message"]


def test_a_role_without_search_permission_is_refused_with_a_reason(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    p = person_in_both
    who = _who(p["given_name"], p["family_name"], p["date_of_birth"])

    body = _search(gateway, who, role="benefits_officer", purpose="benefit_assessment")

    assert body["data"] is None  # findPerson is non-null: the refusal nulls the answer
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["coordinate"] == "Query.findPerson"
    assert "benefit_assessment" in error["extensions"]["reason"]
    upstream = body["extensions"]["joinedup"]["upstream"]
    assert upstream == [], "a refused search asks no agency"


def test_disambiguating_details_are_masked_or_withheld_per_role(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    p = person_in_both
    who = _who(p["given_name"], p["family_name"], p["date_of_birth"])

    body = _search(gateway, who, role="keyworker", purpose="early_help")

    first = body["data"]["findPerson"]["candidates"][0]
    assert first["name"] == f"{p['given_name'][0]}. {p['family_name'][0]}."
    assert first["yearOfBirth"] == int(p["date_of_birth"][:4])
    assert first["postcodeDistrict"] is None
    withheld = {e["extensions"]["coordinate"] for e in body["errors"]}
    assert withheld == {"PersonCandidate.postcodeDistrict"}
    summary = body["extensions"]["joinedup"]
    assert {"coordinate": "PersonCandidate.name", "mask": "initials"} in summary["masked"]
    assert [w["coordinate"] for w in summary["withheld"]] == ["PersonCandidate.postcodeDistrict"]


def test_agencies_named_are_only_those_with_an_agreement(
    gateway: GatewayProcess, person_in_all: dict[str, Any]
) -> None:
    p = person_in_all
    who = _who(p["given_name"], p["family_name"], p["date_of_birth"])
    agreed = {
        path.parent.name
        for path in (REPO_ROOT / "policies" / "agencies").glob("*/data.json")
        if json.loads(path.read_text()).get("agreements", {}).get("gp", {}).get("direct_care")
    }

    body = _search(gateway, who, role="gp", purpose="direct_care")

    searched = {c["agency"] for c in body["extensions"]["joinedup"]["upstream"]}
    assert searched and searched <= agreed
    for candidate in body["data"]["findPerson"]["candidates"]:
        assert set(candidate["agencies"]) <= agreed
        assert candidate["probability"] >= 0.7  # the gp role's own listing floor


def test_an_agency_down_is_listed_and_the_rest_still_answer(
    start_gateway: GatewayFactory, person_in_both: dict[str, Any]
) -> None:
    down = start_gateway(
        endpoints={"housing": f"http://127.0.0.1:{free_port()}"}, agency_timeout=0.5
    )
    p = person_in_both

    body = _search(down, _who(p["given_name"], p["family_name"], p["date_of_birth"]))

    found = body["data"]["findPerson"]
    assert found["unavailable"] == ["housing"]
    assert ("council", p["council_id"]) in _links(found["candidates"][0]["reference"]["value"])


def test_a_search_is_audited_without_what_was_searched_in_clear(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    p = person_in_both
    user = "search.auditee"
    _search(gateway, _who(p["given_name"], p["family_name"], p["date_of_birth"]), user=user)

    dsn = "sqlite:///" + str(gateway.state_dir / "audit.sqlite")
    result = audit_cli(gateway.state_dir, dsn, "query", "--user", user, "--format", "json")

    assert result.returncode == 0, result.stderr
    rows = [r for r in json.loads(result.stdout) if r["event"] == "search"]
    assert rows, "the search shows in the audit query by user"
    assert all(r["person_scheme"] == "DEMOGRAPHICS" for r in rows)
    assert all(r["person_ref"].startswith("hmac-sha256:") for r in rows)
    assert {"PersonCandidate.name", "PersonCandidate.agencies"} <= set(rows[0]["disclosed"])
    text = json.dumps(rows)
    assert p["family_name"] not in text and p["date_of_birth"] not in text
    assert p["ni_number"] not in text
    # A subject-access query by the person's identifier finds that they were listed.
    by_person = audit_cli(
        gateway.state_dir,
        dsn,
        "query",
        "--person",
        f"NI_NUMBER:{p['ni_number']}",
        "--format",
        "json",
    )
    assert any(
        r["event"] == "search" and r["user_id"] == user for r in json.loads(by_person.stdout)
    )


async def test_two_people_sharing_name_and_date_of_birth_stay_separate(
    tmp_path: Path, demo_world: DemoWorld, person_in_both: dict[str, Any]
) -> None:
    """A second council record with the same name, date of birth and postcode but other
    identifiers: two candidates, never merged."""
    p = person_in_both
    council_db = tmp_path / "council.sqlite"
    shutil.copy(demo_world.paths.council_db, council_db)
    db = sqlite3.connect(council_db)
    with db:
        db.execute(
            "INSERT INTO person (council_id, given_name, family_name, date_of_birth, address,"
            " postcode, ni_number, nhs_number) VALUES ('C9999999', ?, ?, ?, '1 Other Street', ?,"
            " 'ZZ999999Z', NULL)",
            (p["given_name"], p["family_name"], p["date_of_birth"], p["postcode"]),
        )
    db.close()
    endpoints = demo_world.endpoints()
    config = GatewayConfig(
        state_dir=tmp_path / "state",
        agencies={
            "council": agency_settings("council", str(council_db)),
            "benefits": agency_settings("benefits", endpoints["benefits"]),
        },
    )
    app = create_app(config)
    token = issue_dev_token(load_dev_key(config.state_dir), "u", "social_worker", "o", CALLER_TEAM)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as client,
    ):
        response = await client.post(
            "/graphql",
            json={
                "query": SEARCH,
                "variables": _who(
                    p["given_name"], p["family_name"], p["date_of_birth"], p["postcode"]
                ),
            },
            headers={"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"},
        )
    candidates = response.json()["data"]["findPerson"]["candidates"]

    real = _holding(candidates, "council", p["council_id"])
    twin = _holding(candidates, "council", "C9999999")
    assert real is not twin
    assert ("benefits", p["records"]["benefits"]) in _links(real["reference"]["value"])
    assert twin["agencies"] == ["council"]
    assert real["status"] == twin["status"] == "LIKELY"


def test_bad_search_input_is_refused_clearly(gateway: GatewayProcess) -> None:
    body = _search(gateway, _who("Ann", "Smith", "1990-13-45"))

    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "dateOfBirth" in error["message"]


async def test_the_embedded_engine_keeps_the_search_limits_on_its_cached_path() -> None:
    """A repeated request is answered from cached field decisions plus the gates entrypoint;
    the search limits must come with both."""
    from gateway.policy import DecisionInput, RequestedField
    from gateway.policy.embedded import EmbeddedEngine

    engine = EmbeddedEngine(REPO_ROOT / "policies", hot_reload=False)
    request = DecisionInput(
        {"user": "u", "org": "o", "roles": ["keyworker"], "team": "t"},
        "early_help",
        (RequestedField("Query.findPerson", None), RequestedField("PersonCandidate.name", None)),
    )
    first, cached = await engine.decide(request), await engine.decide(request)
    assert first.search == cached.search
    assert first.search["min_probability"] == POLICY["access"]["search"]["min_probability"]
    assert cached.for_field("PersonCandidate.name").mask == "initials"
