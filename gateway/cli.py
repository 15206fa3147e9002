"""The ``joinedup`` command line: serve the gateway, issue dev tokens, make worlds."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click
import uvicorn

from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT, AgencyEndpoints, GatewayConfig
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
    "--council-db",
    type=click.Path(path_type=Path),
    default=None,
    help="Use this council database instead of starting the demo world.",
)
@click.option(
    "--benefits-url",
    default=None,
    help="Use this benefits service instead of starting the demo world.",
)
@click.option(
    "--policy-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=REPO_ROOT / "policies",
    show_default=True,
    help="Folder of Rego policies and data.json the gateway decides with.",
)
@click.option(
    "--agency-timeout",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds each agency call may take before UPSTREAM_TIMEOUT.",
)
def serve(
    state_dir: Path,
    host: str,
    port: int,
    people: int,
    seed: int,
    council_db: Path | None,
    benefits_url: str | None,
    policy_dir: Path,
    agency_timeout: float,
) -> None:
    """Serve the gateway on the demo world (starts the agency simulators itself).

    Given --council-db and --benefits-url, serve against those systems instead.
    """
    from gateway.app import create_app

    url = f"http://{host}:{port}/graphql"
    if council_db is not None and benefits_url is not None:
        config = GatewayConfig(
            state_dir=state_dir,
            policy_dir=policy_dir,
            agency_timeout_s=agency_timeout,
            agencies=AgencyEndpoints(council_db, benefits_url),
        )
        click.echo(f"joinedup gateway: {url}")
        uvicorn.run(create_app(config), host=host, port=port, log_level="info")
        return
    if council_db is not None or benefits_url is not None:
        raise click.UsageError("give both --council-db and --benefits-url, or neither")

    from simulators.launcher import example_reference, running_world

    with running_world(state_dir / "world", people, seed) as world:
        config = GatewayConfig(
            state_dir=state_dir,
            policy_dir=policy_dir,
            agency_timeout_s=agency_timeout,
            agencies=AgencyEndpoints(
                council_db=world.paths.council_db, benefits_url=world.benefits.url
            ),
        )
        click.echo(f"joinedup gateway: {url}  (GraphiQL in a browser at the same address)")
        click.echo(
            f"benefits simulator: {world.benefits.url}; council database: {world.paths.council_db}"
        )
        click.echo("Try it:\n  " + _example_curl(url, state_dir, *example_reference(world.paths)))
        uvicorn.run(create_app(config), host=host, port=port, log_level="info")


def _example_curl(url: str, state_dir: Path, scheme: str, value: str) -> str:
    token = issue_dev_token(
        load_dev_key(state_dir),
        "demo.social.worker",
        "social_worker",
        "demo-council",
        "children-east",
    )
    query = (
        "query($ref: PersonReference!) { person(reference: $ref) { matches { agency "
        "status } council { name dateOfBirth cases { caseType status } } "
        "benefits { claims { type status } workCoach } } }"
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
