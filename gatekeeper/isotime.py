"""Times in and out: ISO 8601 (the one format people and central systems read times in), durations,
and a site's time zone for what people type and read (JSON keeps ISO 8601 with its offset).

A time zone is an IANA name (``Asia/Shanghai``); a site names one in its ``site.toml``, a gate's
display in ``display.timezone``; both default to the machine's (:func:`machine_zone`).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_iso(value: str) -> float:
    """An ISO 8601 time as Unix seconds; a time with no zone is taken as UTC. ValueError if not one."""
    return parse_local(value, UTC)


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2026-11-24T08:00:00Z``), or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_duration(value: str) -> float:
    """Seconds from a string such as ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` or ``"30"``; ValueError if not one."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not m:
        raise ValueError("a duration is a number of seconds or a string like '90s', '15m', '24h', '7d'")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


# --- time zones -----------------------------------------------------------------------------------
def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``, ``UTC``); ValueError naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone name (e.g. Asia/Shanghai, Europe/Berlin, UTC)") from None


def machine_zone(localtime: Path = Path("/etc/localtime"), timezone_file: Path = Path("/etc/timezone")) -> str:
    """This machine's time zone name: ``$TZ`` when it is a name, else where ``/etc/localtime``
    links to, else ``/etc/timezone``, else ``UTC``."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    if localtime.is_symlink():
        candidates.append(str(localtime.resolve()).partition("zoneinfo/")[2])
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(encoding="utf-8", errors="replace").strip())
    for name in candidates:
        try:
            if name:
                zone_named(name)
                return name
        except ValueError:
            continue
    return "UTC"


def parse_local(value: str, zone: tzinfo, *, end_of_day: bool = False) -> float:
    """A time typed by a person, as Unix seconds. With an offset (``Z``, ``+08:00``) it is taken as
    given; without one it is a wall-clock time in ``zone``. A bare date is the start of that day in
    ``zone``, or with ``end_of_day`` its last second (``2026-12-31`` -> 23:59:59 that day), so that
    a pass "valid until 31 December" opens through the whole of that day. ValueError if not a time."""
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        local = datetime.combine(day, time(23, 59, 59) if end_of_day else time(0), zone)
        return local.timestamp()
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.timestamp()


def local_iso(ts: float, zone: tzinfo) -> str:
    """Unix seconds as ISO 8601 in ``zone`` with its offset (``2026-12-31T23:59:59+08:00``)."""
    return datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds").replace("+00:00", "Z")


def show_local(ts: float, zone: tzinfo) -> str:
    """Unix seconds for people to read: ``2026-12-31 23:59 UTC+08:00`` (``... UTC`` in UTC)."""
    dt = datetime.fromtimestamp(ts, zone)
    offset = dt.utcoffset() or timedelta(0)
    if not offset:
        return f"{dt:%Y-%m-%d %H:%M} UTC"
    sign, rest = ("-", -offset) if offset < timedelta(0) else ("+", offset)
    hours, minutes = divmod(int(rest.total_seconds()) // 60, 60)
    return f"{dt:%Y-%m-%d %H:%M} UTC{sign}{hours:02d}:{minutes:02d}"
