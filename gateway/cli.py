"""The ``joinedup`` command line: serve the gateway, issue dev tokens, make worlds."""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import signal
from pathlib import Path

import click
import uvicorn

from gateway.audit import AuditStore
from gateway.auth import issue_dev_token, load_dev_key
from gateway.observability.metrics import MULTIPROC_ENV
from gateway.purposes import PURPOSE_HEADER
from gateway.settings import (
    CONFIG_FILE_ENV,
    ENV_PREFIX,
    KNOWN_AGENCIES,
    ConfigError,
    Settings,
    gateway_config,
    load_settings,
    missing_agencies,
)

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
    help=f"TOML configuration file (or ${CONFIG_FILE_ENV}); see docs/operations.md.",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the dev key, audit store and demo world live [default: .joinedup].",
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
    "--agency-timeout",
    type=float,
    default=None,
    help="Seconds each agency call may take before UPSTREAM_TIMEOUT [default: 2].",
)
def serve(
    config_file: Path | None,
    state_dir: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    people: int,
    seed: int,
    council_db: Path | None,
    benefits_url: str | None,
    agency_timeout: float | None,
) -> None:
    """Serve the gateway on the demo world (starts the agency simulators itself).

    With the agencies configured (in the file, the environment, or by
    --council-db and --benefits-url), serve against those systems instead.
    Options given here override the file and the environment.
    """
    # Options travel to worker processes as environment variables.
    _export(
        {
            CONFIG_FILE_ENV: config_file,
            "STATE_DIR": state_dir,
            "SERVER__HOST": host,
            "SERVER__PORT": port,
            "SERVER__WORKERS": workers,
            "AGENCY_TIMEOUT_S": agency_timeout,
            "AGENCIES__COUNCIL__URL": council_db.resolve() if council_db else None,
            "AGENCIES__BENEFITS__URL": benefits_url,
        }
    )
    settings = _settings_or_exit(None)
    missing = missing_agencies(settings)
    if not missing:
        _serve(settings)
        return
    if len(missing) < len(KNOWN_AGENCIES) or settings.profile != "demo":
        raise click.UsageError(
            "configure every agency ("
            + ", ".join(f"agencies.{name}.url" for name in missing)
            + " missing), or none to serve the demo world (demo profile only)"
        )

    from simulators.launcher import example_reference, running_world

    # uvicorn re-raises SIGTERM once it has drained; exiting through Python lets
    # running_world stop the simulators it started instead of leaving them behind.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with running_world(settings.state_dir / "world", people, seed) as world:
        _export(
            {
                "AGENCIES__COUNCIL__URL": world.paths.council_db.resolve(),
                "AGENCIES__BENEFITS__URL": world.benefits.url,
            }
        )
        settings = _settings_or_exit(None)
        url = f"http://{settings.server.host}:{settings.server.port}/graphql"
        click.echo(f"GraphiQL in a browser at {url}")
        click.echo(
            f"benefits simulator: {world.benefits.url}; council database: {world.paths.council_db}"
        )
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
    AuditStore(config.audit_db).close()
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
    uvicorn.run(
        "gateway.app:app_from_environment",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        timeout_graceful_shutdown=math.ceil(server.shutdown_grace_s),
        log_config=None,
        # uvicorn's access log prints query strings, which may carry identifiers;
        # gateway.observability.requests logs each request without them.
        access_log=False,
    )


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
    if missing_agencies(settings) == list(KNOWN_AGENCIES) and settings.profile == "demo":
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
