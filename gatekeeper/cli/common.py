"""What the command modules share: time parsing, errors that end a command, JSON output."""

from __future__ import annotations

import json
import sys
from datetime import UTC, tzinfo
from typing import NoReturn

import click

from gatekeeper.isotime import iso, parse_local

__all__ = ["emit_json", "fail", "iso", "parse_time"]


def parse_time(value: str, option: str, zone: tzinfo = UTC, *, end_of_day: bool = False) -> float:
    """An ISO 8601 option value as Unix seconds, or a usage error naming the option. A value with no
    offset is a wall-clock time in ``zone``; a bare date is that day's start (or last second, with
    ``end_of_day``)."""
    try:
        return parse_local(value, zone, end_of_day=end_of_day)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time (e.g. 2026-12-31, 2026-11-24T08:00 "
                                 "in the site's time zone, or 2026-11-24T08:00:00Z)", param_hint=option) from None


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with a one-line message on stderr."""
    click.echo(f"gatekeeper: {message}", err=True)
    sys.exit(code)


def emit_json(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))
