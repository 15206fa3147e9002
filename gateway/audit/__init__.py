"""The audit trail: a tamper-evident record of every disclosure, written before it leaves.

- :mod:`~gateway.audit.record`: what a record says (names fields, never values);
- :mod:`~gateway.audit.chain`: the hash chain over a canonical encoding;
- :mod:`~gateway.audit.signing`: Ed25519-signed checkpoints and head;
- :mod:`~gateway.audit.identifiers`: which identifiers are stored as keyed hashes;
- :mod:`~gateway.audit.store`: appending (serialised by a database lock) and pruning;
- :mod:`~gateway.audit.sqlite_backend`, :mod:`~gateway.audit.postgres_backend`: the databases;
- :mod:`~gateway.audit.verify`: checking chain, checkpoints and head;
- :mod:`~gateway.audit.query`: finding and reporting records;
- :mod:`~gateway.audit.decision_log`: OPA-format decision log lines.
"""

from __future__ import annotations

from pathlib import Path

from gateway.audit.backend import Backend
from gateway.audit.identifiers import IdentifierPolicy
from gateway.audit.record import AuditRecord
from gateway.audit.signing import CheckpointSigner
from gateway.audit.store import DEFAULT_CHECKPOINT_EVERY, AuditStore, AuditUnavailable

__all__ = ["AuditRecord", "AuditStore", "AuditUnavailable", "open_store"]

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def open_backend(dsn: str) -> Backend:
    """``sqlite:///path/to/file`` or ``postgresql://user@host:port/database``."""
    if dsn.startswith(SQLITE_PREFIX):
        from gateway.audit.sqlite_backend import SqliteBackend

        return SqliteBackend(Path(dsn.removeprefix(SQLITE_PREFIX)))
    if dsn.startswith(POSTGRES_PREFIXES):
        from gateway.audit.postgres_backend import PostgresBackend

        return PostgresBackend(dsn)
    raise ValueError(
        "the audit DSN must start with sqlite:/// (a file) or postgresql:// (a server)"
    )


def open_store(
    dsn: str,
    state_dir: Path,
    policy_dir: Path,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
) -> AuditStore:
    """Open (creating if needed) the audit store; raise :class:`AuditUnavailable` if it cannot."""
    try:
        backend = open_backend(dsn)
    except ValueError:
        raise
    except Exception as exc:
        raise AuditUnavailable(f"audit store cannot be opened: {type(exc).__name__}") from exc
    return AuditStore(
        backend,
        CheckpointSigner.from_state_dir(state_dir),
        IdentifierPolicy.load(state_dir, policy_dir),
        checkpoint_every,
    )
