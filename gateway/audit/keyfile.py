"""Secrets in the state folder, created once even when several processes start together."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; if absent, write ``make()`` atomically (mode 0600) unless another
    process wins the race, in which case its content is what everyone uses."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(make())
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)  # atomic: fails if another process created it first
        finally:
            os.unlink(temp)
    return path.read_bytes()
