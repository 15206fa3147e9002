"""The ``joinedup`` command line: serve the gateway, issue dev tokens, make worlds."""

from __future__ import annotations

import json
import shlex
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import click
import uvicorn

from gateway.audit_cli import audit
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import (
    REPO_ROOT,
    AgencySettings,
    AuthSettings,
    ConfigError,
    GatewayConfig,
    RequestLimits,
    ResilienceSettings,
    agencies_toml,
    agency_settings,
    load_agencies,
)
from gateway.policy_cli import policy
from gateway.purposes import PURPOSE_HEADER

DEFAULT_STATE = Path(".joinedup")
state_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_STATE,
    show_default=True,
    envvar="JOINEDUP_STATE_DIR",
    help="Where the dev key, audit store and demo world live.",
)


audit_dsn_option = click.option(
    "--audit-dsn",
    default=None,
    envvar="JOINEDUP_AUDIT_DSN",
    help="Audit store: sqlite:///path or postgresql://user@host:port/db "
    "(default: audit.sqlite in the state folder).",
)


@click.group()
def main() -> None:
    """joinedup: a federated, policy-governed GraphQL gateway over agency systems."""


@main.command()
@state_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--people",
    type=int,
    default=2000,
    show_default=True,
    help="Size of the demo world (generated on first run).",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Agency systems to use ([agencies.NAME] tables) instead of starting the demo world.",
)
@click.option(
    "--agency-timeout",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds each agency call may take before UPSTREAM_TIMEOUT (unless configured).",
)
@audit_dsn_option
@click.option(
    "--decision-log",
    default=None,
    envvar="JOINEDUP_DECISION_LOG",
    help="Write OPA-format decision log lines to this file ('-' for standard output).",
)
@click.option(
    "--policy-engine",
    type=click.Choice(["embedded", "opa"]),
    default="embedded",
    show_default=True,
    envvar="JOINEDUP_POLICY_ENGINE",
    help="embedded: Rego in-process (regopy); opa: an OPA server over its REST API.",
)
@click.option(
    "--opa-url",
    default=None,
    envvar="JOINEDUP_OPA_URL",
    help="With --policy-engine opa: use this OPA server instead of starting one.",
)
@click.option(
    "--policy-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=REPO_ROOT / "policies",
    show_default=True,
    help="The Rego policies and their data.",
)
@click.option(
    "--request-deadline",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds a whole request may spend on agency calls, retries included.",
)
@click.option(
    "--mode",
    type=click.Choice(["demo", "production"]),
    default="demo",
    show_default=True,
    envvar="JOINEDUP_MODE",
    help="production: JWKS tokens only, no GraphiQL or introspection; with "
    "--persisted-queries, only the listed queries run.",
)
@click.option("--jwks-url", envvar="JOINEDUP_JWKS_URL", help="Identity provider's JWKS URL.")
@click.option("--issuer", envvar="JOINEDUP_ISSUER", help="Expected token issuer (iss).")
@click.option("--audience", default="joinedup", show_default=True, envvar="JOINEDUP_AUDIENCE")
@click.option(
    "--persisted-queries",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    envvar="JOINEDUP_PERSISTED_QUERIES",
    help="JSON manifest {sha256: query}; in production mode the only queries that run.",
)
@click.option(
    "--rate-limit",
    default=RequestLimits.rate_limit,
    show_default=True,
    envvar="JOINEDUP_RATE_LIMIT",
    help="Requests per caller, e.g. '600/minute'.",
)
@click.option(
    "--breaker-reset",
    type=float,
    default=ResilienceSettings.breaker_reset_s,
    show_default=True,
    help="Seconds an agency's open circuit stays open before a probe.",
)
def serve(
    state_dir: Path,
    host: str,
    port: int,
    people: int,
    seed: int,
    config_file: Path | None,
    agency_timeout: float,
    audit_dsn: str | None,
    decision_log: str | None,
    policy_engine: str,
    opa_url: str | None,
    policy_dir: Path,
    request_deadline: float,
    mode: str,
    jwks_url: str | None,
    issuer: str | None,
    audience: str,
    persisted_queries: Path | None,
    rate_limit: str,
    breaker_reset: float,
) -> None:
    """Serve the gateway on the demo world (starts all seven agency systems itself).

    Given --config, serve against the agency systems it names instead.
    """
    from gateway.app import create_app

    url = f"http://{host}:{port}/graphql"

    def make_config(agencies: Mapping[str, AgencySettings]) -> GatewayConfig:
        try:
            return GatewayConfig(
                state_dir=state_dir,
                agencies=agencies,
                agency_timeout_s=agency_timeout,
                audit_dsn=audit_dsn,
                decision_log=decision_log,
                policy_dir=policy_dir,
                policy_engine=policy_engine,
                opa_url=opa_url,
                mode="production" if mode == "production" else "demo",
                resilience=ResilienceSettings(
                    request_deadline_s=request_deadline, breaker_reset_s=breaker_reset
                ),
                limits=RequestLimits(rate_limit=rate_limit),
                auth=AuthSettings(jwks_url=jwks_url, issuer=issuer, audience=audience),
                persisted_queries=persisted_queries,
            )
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc

    if config_file is not None:
        try:
            agencies = load_agencies(config_file)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc
        config = make_config(agencies)
        click.echo(f"joinedup gateway: {url}")
        uvicorn.run(create_app(config), host=host, port=port, log_level="info")
        return

    from simulators.launcher import example_reference, running_world

    if mode == "production":
        raise click.UsageError("production mode serves real agency systems: give --config")
    # uvicorn re-raises SIGTERM after its graceful shutdown; the default action
    # would kill this process before running_world stops the simulators.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with running_world(state_dir / "world", people, seed) as world:
        agencies = {
            name: agency_settings(name, endpoint) for name, endpoint in world.endpoints().items()
        }
        config_path = state_dir / "agencies.toml"
        config_path.write_text(agencies_toml(agencies))
        config = make_config(agencies)
        click.echo(f"joinedup gateway: {url}  (GraphiQL in a browser at the same address)")
        for name, settings in agencies.items():
            click.echo(f"  {name:<10} {settings.endpoint}")
        click.echo(f"agency configuration written to {config_path}")
        click.echo(f"caseworker page: http://{host}:{port}/  (sign in as a demo user)")
        click.echo("Try it:\n  " + _example_curl(url, state_dir, *example_reference(world.paths)))
        uvicorn.run(create_app(config), host=host, port=port, log_level="info")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(0)


def _example_curl(url: str, state_dir: Path, scheme: str, value: str) -> str:
    token = issue_dev_token(
        load_dev_key(state_dir),
        "demo.social.worker",
        "social_worker",
        "demo-council",
        "children-east",
    )
    query = (
        "query($ref: PersonReference!) { person(reference: $ref) { matches { agency status } "
        "council { name allocatedWorker childProtectionPlan cases { caseType status } } "
        "benefits { claims { type status } workCoach } "
        "nhs { registeredGp gpPractice aAndEAttendances { date reason } } "
        "schools { school attendancePercent senStatus exclusions { type startDate } } "
        "police { domesticAbuseIncidents { date role riskLevel } missingEpisodes { date } } "
        "probation { supervisionStatus practitioner riskOfSeriousHarm } "
        "housing { tenure rentArrears homelessnessApplications { status duty } } } }"
    )
    body = json.dumps({"query": query, "variables": {"ref": {"scheme": scheme, "value": value}}})
    return "curl -s " + " ".join(
        shlex.quote(part)
        for part in [
            url,
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            f"{PURPOSE_HEADER}: safeguarding_children",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
    )


@main.command()
@state_option
@click.option("--user", required=True, help="User id (the token subject).")
@click.option("--role", required=True, help="Role, e.g. social_worker, keyworker.")
@click.option("--org", required=True, help="Organisation the user works for.")
@click.option("--team", default=None, help="Team within the organisation.")
@click.option("--ttl", type=int, default=8 * 3600, show_default=True, help="Lifetime, seconds.")
def token(state_dir: Path, user: str, role: str, org: str, team: str | None, ttl: int) -> None:
    """Print a dev JWT that 'joinedup serve' accepts in demo mode."""
    click.echo(issue_dev_token(load_dev_key(state_dir), user, role, org, team, ttl))


main.add_command(policy)


@main.group()
def world() -> None:
    """The synthetic demo world."""


@world.command("generate")
@click.option("--people", type=int, default=2000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=DEFAULT_STATE / "world", show_default=True
)
def generate(people: int, seed: int, out: Path) -> None:
    """Generate a deterministic world of PEOPLE people into OUT."""
    from simulators.world import generate_world

    paths = generate_world(out, people=people, seed=seed)
    click.echo(f"wrote {paths.root} ({people} people, seed {seed})")


@world.command("postgres")
@click.option("--dsn", required=True, help="An empty PostgreSQL database, postgresql://...")
@click.option(
    "--world",
    "world_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DEFAULT_STATE / "world",
    show_default=True,
)
def postgres(dsn: str, world_dir: Path) -> None:
    """Load a generated world's council database into PostgreSQL (same schema)."""
    from simulators.council import copy_to_postgres
    from simulators.world import WorldPaths

    copy_to_postgres(WorldPaths(world_dir).council_db, dsn)
    click.echo(f"council database loaded into {dsn.split('@')[-1]}")


main.add_command(audit)
