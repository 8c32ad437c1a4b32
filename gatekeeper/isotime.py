"""ISO 8601 in and out: the one format people and central systems read times in."""

from __future__ import annotations

from datetime import datetime, timezone


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
