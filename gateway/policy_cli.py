"""``joinedup policy``: tools for policy teams (test, check, explain).

``test`` and ``check`` run the project's own OPA (``.tools/bin/opa``) on the
policy folder; ``check`` also compiles it with the embedded engine, so a
change that only one engine accepts is caught before it is deployed.
``explain`` shows, for a role, purpose and query, what each field gets and
the rule and reason behind it - the same decision the gateway would ask for.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import click
from graphql import GraphQLError, parse, validate

from adapters.sdk import Identifier
from gateway.config import DEMO_AGENCIES, REPO_ROOT, agency_settings, load_agencies
from gateway.policy import DecisionInput, PersonContext
from gateway.policy.bundle import DEFAULT_OPA, OpaCheck, PolicyRejected
from gateway.policy.embedded import DECISION, EmbeddedEngine, compile_folder

policy_dir_option = click.option(
    "--policy-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=REPO_ROOT / "policies",
    show_default=True,
)


@click.group()
def policy() -> None:
    """Test, check and explain the Rego access policies."""


def _opa(*args: str) -> int:
    if not DEFAULT_OPA.exists():
        raise click.ClickException(f"OPA is not installed at {DEFAULT_OPA}; run 'make opa'")
    return subprocess.run([str(DEFAULT_OPA), *args], check=False).returncode  # noqa: S603


@policy.command("test")
@policy_dir_option
@click.option("--coverage-threshold", type=float, default=90.0, show_default=True)
def test_command(policy_dir: Path, coverage_threshold: float) -> None:
    """Run the Rego unit tests (opa test) with coverage."""
    code = _opa("test", "-v", str(policy_dir))
    if code == 0:
        code = subprocess.run(  # noqa: S603 - the project's OPA, fixed arguments
            [
                str(DEFAULT_OPA),
                "test",
                "--coverage",
                "--threshold",
                str(coverage_threshold),
                str(policy_dir),
            ],
            capture_output=True,
            check=False,
        ).returncode
        if code != 0:
            click.echo(f"coverage is below {coverage_threshold:g}%", err=True)
    raise SystemExit(code)


@policy.command("check")
@policy_dir_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Agency configuration whose adapters' fields are checked against the field "
    "catalogues [default: the demo world's seven agencies].",
)
def check_command(policy_dir: Path, config_file: Path | None) -> None:
    """opa fmt and opa check --strict, then compile with the embedded engine; then list
    the adapters' fields that have no field catalogue entry (they are always denied)."""
    if _opa("fmt", "--fail", "-l", str(policy_dir)) != 0:
        raise click.ClickException("files above are not 'opa fmt' formatted")
    try:
        OpaCheck()(policy_dir)
        compile_folder(policy_dir)
    except PolicyRejected as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{policy_dir}: formatted, checked (strict) and compiled by both engines")
    _report_catalogue_gaps(policy_dir, config_file)


def _report_catalogue_gaps(policy_dir: Path, config_file: Path | None) -> None:
    from gateway.adapters import build_adapters
    from gateway.field_catalogue import catalogue_gaps

    agencies = (
        load_agencies(config_file)
        if config_file is not None
        else {name: agency_settings(name, "unused") for name in DEMO_AGENCIES}
    )
    # Adapters describe themselves without their systems: nothing is called here.
    sections = [adapter.discover() for adapter in build_adapters(agencies, 1.0).values()]
    gaps = catalogue_gaps(sections, policy_dir)
    for gap in gaps:
        click.echo(f"warning: field catalogue: {gap.describe()}", err=True)
    if not gaps:
        click.echo(f"field catalogues cover every field of {', '.join(s.agency for s in sections)}")


@policy.command("explain")
@policy_dir_option
@click.option("--role", "roles", multiple=True, required=True, help="Caller role (repeatable).")
@click.option("--purpose", required=True)
@click.option("--team", default=None, help="Caller's team (for relationship).")
@click.option("--person", default=None, help="SCHEME:VALUE, e.g. NI_NUMBER:QQ123456C.")
@click.option("--break-glass", default=None, help="Ask for break-glass with this reason.")
@click.option("--consent-override", default=None, help="Override refused consent, reason.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".joinedup/agencies.toml"),
    show_default=True,
    help="The agency systems (written by `joinedup serve`); needed with --person.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the raw policy result.")
@click.argument("query")
def explain_command(
    policy_dir: Path,
    roles: tuple[str, ...],
    purpose: str,
    team: str | None,
    person: str | None,
    break_glass: str | None,
    consent_override: str | None,
    config_file: Path,
    as_json: bool,
    query: str,
) -> None:
    """Per field of QUERY: allow, mask or deny, with the rule and the reason."""
    from gateway.adapters import build_adapters
    from gateway.person_context import CaseRegister
    from gateway.purposes import load_purposes
    from resolvers.fanout import FanOut
    from resolvers.schema import build_schema

    if config_file.exists():
        agencies = load_agencies(config_file)
    elif person is not None:
        raise click.ClickException(f"--person needs the agency systems: no {config_file}")
    else:
        # Only the schema is needed: adapters describe themselves without their systems.
        agencies = {name: agency_settings(name, "unused") for name in DEMO_AGENCIES}
    adapters = build_adapters(agencies, 1.0)
    schema = build_schema(adapters, load_purposes(policy_dir))
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise click.ClickException(f"query does not parse: {exc.message}") from exc
    errors = validate(schema.graphql_schema, document)
    if errors:
        raise click.ClickException("; ".join(e.message for e in errors))
    plan = schema.plan(document)

    async def person_contexts() -> tuple[PersonContext, ...]:
        if person is None:
            return ()
        scheme, _, value = person.partition(":")
        register = CaseRegister.for_adapters(adapters)
        fanout = FanOut(adapters, needs=plan.needing(register.agencies))
        try:
            found = await fanout.find(Identifier(scheme.upper(), value.strip().upper()))
            return await register.contexts({found.key: found}, team)
        finally:
            for adapter in adapters.values():
                await adapter.aclose()

    contexts = asyncio.run(person_contexts())
    caller = {"user": "explain", "org": "explain", "roles": list(roles), "team": team}
    request = DecisionInput(
        caller,
        purpose,
        plan.requested,
        contexts,
        break_glass,
        consent_override,
    )
    result = EmbeddedEngine(policy_dir, hot_reload=False).evaluate(DECISION, request.as_json())
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    click.echo(_render(result, contexts))


def _render(result: dict[str, Any], contexts: tuple[PersonContext, ...]) -> str:
    lines = [f"policy revision {result.get('revision')}", "", "fields:"]
    width = max((len(f["coordinate"]) for f in result["fields"]), default=10)
    for field in result["fields"]:
        effect = field["effect"] + (f" ({field['mask']})" if field.get("mask") else "")
        line = f"  {field['coordinate']:<{width}}  {effect:<24} {field.get('rule', '')}"
        if field.get("reason"):
            line += f"\n  {'':<{width}}  -> {field['reason']}"
        lines.append(line)
    for person, context in zip(result.get("persons", []), contexts, strict=False):
        lines += [
            "",
            f"person {person['key']} (relationship: {context.relationship}, "
            f"consent: {dict(context.consent) or 'none recorded'})",
        ]
        for agency, gate in sorted(person["agencies"].items()):
            line = f"  {agency:<10} {gate['effect']:<6} {gate.get('rule', '')}"
            if gate.get("reason"):
                line += f"\n  {'':<10} -> {gate['reason']}"
            lines.append(line)
    lines += ["", f"obligations: {json.dumps(result.get('obligations', {}), sort_keys=True)}"]
    return "\n".join(lines)
