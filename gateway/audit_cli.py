"""``joinedup audit``: query, export, verify and prune the audit trail."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from gateway.audit import AuditStore, AuditUnavailable, open_store
from gateway.audit.query import (
    AuditFilter,
    OutputFormat,
    data_owner_report,
    find,
    render,
    subject_access_report,
)
from gateway.config import REPO_ROOT

DEFAULT_STATE = Path(".joinedup")
DEFAULT_RETENTION_DAYS = 6 * 365


@click.group()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_STATE,
    show_default=True,
    envvar="JOINEDUP_STATE_DIR",
    help="Where the audit keys (and the default SQLite audit store) live.",
)
@click.option(
    "--audit-dsn",
    default=None,
    envvar="JOINEDUP_AUDIT_DSN",
    help="sqlite:///path or postgresql://... (default: audit.sqlite in the state folder).",
)
@click.pass_context
def audit(context: click.Context, state_dir: Path, audit_dsn: str | None) -> None:
    """Review, verify and prune the audit trail."""
    dsn = audit_dsn or "sqlite:///" + str((state_dir / "audit.sqlite").resolve())
    context.obj = (dsn, state_dir)


@contextmanager
def _store(context: click.Context) -> Iterator[AuditStore]:
    dsn, state_dir = context.obj
    try:
        store = open_store(dsn, state_dir, REPO_ROOT / "policies")
    except (AuditUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield store
    except store.backend.errors as exc:
        raise click.ClickException(f"the audit store failed: {exc}") from None
    finally:
        store.close()


def _person(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    scheme, sep, identifier = value.partition(":")
    if not sep or not scheme or not identifier:
        raise click.BadParameter("give the person as SCHEME:VALUE, e.g. NI_NUMBER:QQ123456C")
    return scheme.strip().upper(), identifier.strip().upper()


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit.command()
@click.option("--person", help="SCHEME:VALUE, e.g. NI_NUMBER:QQ123456C.")
@click.option("--user", help="The user id that made the requests.")
@click.option("--agency", help="Whose data was disclosed, e.g. council.")
@click.option("--purpose", help="Declared purpose of use, e.g. early_help.")
@click.option("--since", help="From this time (ISO 8601, UTC if no zone).")
@click.option("--until", help="Before this time (ISO 8601, UTC if no zone).")
@click.option("--break-glass", "break_glass", is_flag=True, help="Only break-glass accesses.")
@click.option("--limit", type=int, default=None, help="At most this many records (oldest first).")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_context
def query(
    context: click.Context,
    person: str | None,
    user: str | None,
    agency: str | None,
    purpose: str | None,
    since: str | None,
    until: str | None,
    break_glass: bool,
    limit: int | None,
    output: OutputFormat,
) -> None:
    """Find audit records; every condition given must hold."""
    where = AuditFilter(
        person=_person(person),
        user=user,
        agency=agency,
        purpose=purpose,
        since=_when(since),
        until=_when(until),
        break_glass_only=break_glass,
    )
    with _store(context) as store:
        click.echo(render(find(store, where, limit), output), nl=output != "csv")


@audit.command()
@click.option("--person", help="Subject-access report for SCHEME:VALUE.")
@click.option("--agency", help="Data-owner report for this agency.")
@click.option("--since", help="From this time (ISO 8601).")
@click.option("--until", help="Before this time (ISO 8601).")
@click.pass_context
def export(
    context: click.Context,
    person: str | None,
    agency: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """A JSON report: who accessed a person's data (subject access), or what an agency's
    data was disclosed for (data owner)."""
    if (person is None) == (agency is None):
        raise click.UsageError("give exactly one of --person or --agency")
    subject = _person(person)
    where = AuditFilter(person=subject, agency=agency, since=_when(since), until=_when(until))
    with _store(context) as store:
        rows = find(store, where)
    if subject is not None:
        report = subject_access_report(rows, *subject)
    else:
        report = data_owner_report(rows, str(agency))
    click.echo(json.dumps(report, indent=2, ensure_ascii=False))


@audit.command()
@click.pass_context
def verify(context: click.Context) -> None:
    """Check the whole hash chain, its signed checkpoints and head; exit 1 at the first break."""
    with _store(context) as store:
        report = store.verify()
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@audit.command()
@click.option(
    "--older-than",
    "older_than_days",
    type=click.IntRange(min=0),
    default=DEFAULT_RETENTION_DAYS,
    show_default=True,
    envvar="JOINEDUP_AUDIT_RETENTION_DAYS",
    help="Retention period in days: records older than this are removed.",
)
@click.pass_context
def prune(context: click.Context, older_than_days: int) -> None:
    """Remove records past retention, after a signed checkpoint that keeps the rest verifiable.

    Break-glass accesses awaiting review (and everything after them) are kept.
    """
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with _store(context) as store:
        result = store.prune(cutoff)
    if result.through_seq is None:
        click.echo("nothing to prune")
    else:
        click.echo(f"pruned {result.pruned} records (through record {result.through_seq})")
    if result.held_for_review:
        click.echo("kept: a break-glass access awaiting review (and the records after it)")
