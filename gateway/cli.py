"""The ``joinedup`` command line: serve the gateway, issue dev tokens, make worlds."""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import signal
from pathlib import Path
from typing import Any

import click
import uvicorn

from gateway.audit import open_store
from gateway.audit_cli import audit
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import agencies_toml, agency_settings
from gateway.identity_cli import identity
from gateway.observability.metrics import MULTIPROC_ENV
from gateway.policy_cli import policy
from gateway.purposes import PURPOSE_HEADER
from gateway.settings import (
    CONFIG_FILE_ENV,
    ENV_PREFIX,
    ConfigError,
    Settings,
    gateway_config,
    load_settings,
)
from gateway.workers import BALANCES_CONNECTIONS, ReusePortSupervisor

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
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"TOML configuration (or ${CONFIG_FILE_ENV}); see docs/operations.md. Without "
    "[agencies.NAME] tables the demo world is started.",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Dev key, audit store and demo world [default: .joinedup].",
)
@click.option("--host", default=None, help="[default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="[default: 8000]")
@click.option("--workers", type=int, default=None, help="Worker processes [default: 1].")
@click.option(
    "--people",
    type=int,
    default=2000,
    show_default=True,
    help="Size of the demo world (generated on first run).",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--agency-timeout",
    type=float,
    default=None,
    help="Seconds each agency call may take before UPSTREAM_TIMEOUT [default: 2].",
)
@click.option(
    "--audit-dsn",
    default=None,
    help="Audit store: sqlite:///path or postgresql://… [default: STATE_DIR/audit.sqlite].",
)
@click.option(
    "--decision-log",
    default=None,
    help="Write OPA-format decision log lines to this file ('-' for standard output).",
)
@click.option(
    "--policy-engine",
    type=click.Choice(["embedded", "opa"]),
    default=None,
    help="embedded: Rego in-process (regopy); opa: an OPA server [default: embedded].",
)
@click.option(
    "--opa-url",
    default=None,
    help="With --policy-engine opa: this OPA server instead of starting one.",
)
@click.option(
    "--policy-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="The Rego policies and their data [default: policies/].",
)
@click.option(
    "--request-deadline",
    type=float,
    default=None,
    help="Seconds a whole request may spend on agency calls [default: 5].",
)
@click.option(
    "--mode",
    type=click.Choice(["demo", "production"]),
    default=None,
    help="The profile: production means JWKS tokens only, no GraphiQL or "
    "introspection, OPA server and PostgreSQL audit [default: demo].",
)
@click.option("--jwks-url", default=None, help="Identity provider's JWKS URL.")
@click.option("--issuer", default=None, help="Expected token issuer (iss).")
@click.option("--audience", default=None, help="Expected token audience [default: joinedup].")
@click.option(
    "--persisted-queries",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="JSON manifest {sha256: query}; in production the only queries that run.",
)
@click.option("--rate-limit", default=None, help="Requests per caller, e.g. '600/minute'.")
@click.option(
    "--breaker-reset",
    type=float,
    default=None,
    help="Seconds an agency's open circuit stays open before a probe [default: 5].",
)
def serve(
    config_file: Path | None,
    state_dir: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    people: int,
    seed: int,
    agency_timeout: float | None,
    audit_dsn: str | None,
    decision_log: str | None,
    policy_engine: str | None,
    opa_url: str | None,
    policy_dir: Path | None,
    request_deadline: float | None,
    mode: str | None,
    jwks_url: str | None,
    issuer: str | None,
    audience: str | None,
    persisted_queries: Path | None,
    rate_limit: str | None,
    breaker_reset: float | None,
) -> None:
    """Serve the gateway on the demo world (starts all seven agency systems itself).

    With agencies configured (in the file or the environment), serve against those
    systems instead. Options given here override the file and the environment.
    """
    # Options travel to worker processes as environment variables.
    _export(
        {
            CONFIG_FILE_ENV: config_file.resolve() if config_file else None,
            "STATE_DIR": state_dir,
            "SERVER__HOST": host,
            "SERVER__PORT": port,
            "SERVER__WORKERS": workers,
            "AGENCY_TIMEOUT_S": agency_timeout,
            "AUDIT__DSN": audit_dsn,
            "AUDIT__DECISION_LOG": decision_log,
            "POLICY__ENGINE": policy_engine,
            "POLICY__OPA_URL": opa_url,
            "POLICY__DIR": policy_dir.resolve() if policy_dir else None,
            "RESILIENCE__REQUEST_DEADLINE_S": request_deadline,
            "RESILIENCE__BREAKER_RESET_S": breaker_reset,
            "PROFILE": mode,
            "AUTH__JWKS_URL": jwks_url,
            "AUTH__ISSUER": issuer,
            "AUTH__AUDIENCE": audience,
            "AUTH__DEV_TOKENS": "false" if mode == "production" else None,
            "PERSISTED_QUERIES": persisted_queries.resolve() if persisted_queries else None,
            "LIMITS__RATE_LIMIT": rate_limit,
        }
    )
    settings = _settings_or_exit(None)
    if settings.agencies:
        _serve(settings)
        return
    if settings.profile != "demo":
        raise click.UsageError("the production profile serves configured agencies only")

    from simulators.launcher import example_reference, running_world

    # uvicorn re-raises SIGTERM once it has drained; exiting through Python lets
    # running_world stop the simulators it started instead of leaving them behind.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with running_world(settings.state_dir / "world", people, seed) as world:
        agencies = {name: agency_settings(name, ep) for name, ep in world.endpoints().items()}
        config_path = settings.state_dir / "agencies.toml"
        config_path.write_text(agencies_toml(agencies))
        _export({f"AGENCIES__{n.upper()}__ENDPOINT": a.endpoint for n, a in agencies.items()})
        settings = _settings_or_exit(None)
        url = f"http://{settings.server.host}:{settings.server.port}/graphql"
        click.echo(
            f"caseworker page: http://{settings.server.host}:{settings.server.port}/"
            "  (sign in as a demo user)"
        )
        click.echo(f"GraphiQL in a browser at {url}")
        for name, agency in agencies.items():
            click.echo(f"  {name:<10} {agency.endpoint}")
        click.echo(f"agency configuration written to {config_path} (serve --config it)")
        click.echo(
            "Try it:\n  " + _example_curl(url, settings.state_dir, *example_reference(world.paths))
        )
        _serve(settings)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _export(values: dict[str, object]) -> None:
    for name, value in values.items():
        if value is not None:
            key = name if name.startswith(ENV_PREFIX) else ENV_PREFIX + name
            os.environ[key] = str(value)


def _settings_or_exit(path: Path | None) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _serve(settings: Settings) -> None:
    """Run uvicorn: N worker processes each build the app from the environment."""
    try:
        config = gateway_config(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    # Created here, once, so worker processes never race to create them.
    load_dev_key(config.state_dir)
    open_store(
        config.audit_store_dsn, config.state_dir, config.policy_dir, config.audit_checkpoint_every
    ).close()
    server = settings.server
    if server.workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = config.state_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(metrics_dir.resolve())
    click.echo(
        f"joinedup gateway ({settings.profile}): http://{server.host}:{server.port}/graphql"
        f" with {server.workers} worker(s)"
    )
    app = "gateway.app:app_from_environment"
    options: dict[str, Any] = {
        "factory": True,
        "host": server.host,
        "port": server.port,
        "workers": server.workers,
        "timeout_graceful_shutdown": math.ceil(server.shutdown_grace_s),
        "log_config": None,
        # uvicorn's access log prints query strings, which may carry identifiers;
        # gateway.observability.requests logs each request without them.
        "access_log": False,
    }
    if server.workers > 1 and BALANCES_CONNECTIONS and server.port:
        # Each worker listens on its own socket, so connections spread across them
        # (port 0 would give each worker a different port: the shared socket then).
        ReusePortSupervisor(uvicorn.Config(app, **options)).run()
    else:
        uvicorn.run(app, **options)


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
main.add_command(identity)


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


@main.command("new-adapter")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["rest", "fhir", "sql", "soap", "graphql"]),
    default="rest",
    show_default=True,
    help="What the agency's system speaks.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Folder to create the package in (as NAME_adapter/).",
)
def new_adapter(name: str, kind: str, out: Path) -> None:
    """Generate an adapter package for agency NAME (lower_snake_case), with a fixture
    server, the conformance kit as its tests and a policy field catalogue."""
    from gateway.scaffold import ScaffoldError, generate, next_steps

    try:
        target = generate(name, kind, out)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(next_steps(name, kind, target))


@main.group()
def config() -> None:
    """Operator configuration (see docs/operations.md)."""


@config.command("check")
@click.argument(
    "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
def check(config_file: Path | None) -> None:
    """Validate CONFIG_FILE (or $JOINEDUP_CONFIG_FILE) with the environment's overrides."""
    settings = _settings_or_exit(config_file)
    if not settings.agencies and settings.profile == "demo":
        click.echo(f"ok ({settings.profile}): no agencies configured; serve starts the demo world")
        return
    try:
        gateway_config(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"ok ({settings.profile}): agencies {', '.join(sorted(settings.agencies))}; "
        f"{settings.server.workers} worker(s) on {settings.server.host}:{settings.server.port}"
    )
