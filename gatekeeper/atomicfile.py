"""Write files so that a crash leaves either the old content or the new, never half of one: the one
atomic writer of the project (keys, lists, configuration, site files, the fail-safe record)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import tomli_w


def write_atomic(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dirfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)  # the rename itself must survive a power cut
    finally:
        os.close(dirfd)


def write_toml(path: str | os.PathLike, values: Mapping[str, object], header: str = "", mode: int = 0o644) -> None:
    """Write ``values`` as a TOML file (tomli-w: any string is quoted right), atomically.

    ``header`` becomes ``#`` comment lines at the top. TypeError when a value has no TOML form.
    """
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    write_atomic(path, (comments + ("\n" if comments else "") + tomli_w.dumps(values)).encode(), mode)
