"""What the command modules share: time parsing, errors that end a command, JSON output."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import NoReturn

import click


def parse_time(value: str, option: str) -> float:
    """An ISO 8601 time as Unix seconds; a time with no zone is taken as UTC."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-11-24T08:00:00Z)",
                                 param_hint=option) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC, or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with a one-line message on stderr."""
    click.echo(f"gatekeeper: {message}", err=True)
    sys.exit(code)


def emit_json(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))
