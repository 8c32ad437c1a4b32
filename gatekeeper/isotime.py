"""Times in and out: ISO 8601 (the one format people and central systems read times in) and durations."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_iso(value: str) -> float:
    """An ISO 8601 time as Unix seconds; a time with no zone is taken as UTC. ValueError if not one."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2026-11-24T08:00:00Z``), or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_duration(value: str) -> float:
    """Seconds from a string such as ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` or ``"30"``; ValueError if not one."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not m:
        raise ValueError("a duration is a number of seconds or a string like '90s', '15m', '24h', '7d'")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]
