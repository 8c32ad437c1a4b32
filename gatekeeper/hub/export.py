"""Passage-log exports: JSON lines and CSV, streamed row by row, safe to open in a spreadsheet.

Times are ISO 8601 in the site's time zone with its offset (``2026-12-01T08:00:00.250+08:00``).
Device-supplied text is not trusted: in CSV a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return gets a leading ``'`` (a spreadsheet shows it as text instead of running it as
a formula), and control characters are escaped (``\\x1b``) in every cell. JSON lines escape control
characters by JSON's own rules.

Rows are tuples in the order of their ``columns``: an export of a million rows builds no dict per
row for CSV, and formats times with the zone's offset looked up once per quarter hour.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from itertools import islice

FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
#: Columns holding Unix seconds, shown as ISO 8601 times.
TIME_COLUMNS = frozenset({"at", "wall", "received_at", "hub_at"})
#: Columns stored as 0/1, shown as booleans.
FLAG_COLUMNS = frozenset({"allow", "clock_trusted", "list_stale"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escaped(text: str) -> str:
    """``text`` with its control characters written out (``\\x1b``): safe in a terminal and a cell."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet cannot run: control characters escaped, formulas made text."""
    if not isinstance(value, str) or (value.isprintable() and not value.startswith(_FORMULA_START)):
        return value
    return "'" + escaped(value) if value.startswith(_FORMULA_START) else escaped(value)


class LocalTimes:
    """Unix seconds as ISO 8601 with milliseconds in ``zone`` (what ``datetime.isoformat`` gives), fast."""

    _STEP = 900  # every zone's offset changes on a quarter hour

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._bucket: int | None = None
        self._offset, self._suffix = 0, ""
        self._minute, self._prefix = -1, ""

    def __call__(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        bucket = int(ts // self._STEP)
        if bucket != self._bucket:
            local = datetime.fromtimestamp(ts, self.zone)
            self._offset = int(local.utcoffset().total_seconds())  # type: ignore[union-attr]
            self._suffix = local.isoformat()[-6:]
            self._bucket = bucket
        whole = int(ts // 1)
        micro = round((ts - whole) * 1e6)
        if micro >= 1_000_000:
            whole, micro = whole + 1, micro - 1_000_000
        minute, second = divmod(whole + self._offset, 60)
        if minute != self._minute:  # rows come in time order: the minute's text is mostly reused
            self._minute, self._prefix = minute, time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
        return f"{self._prefix}{second:02d}.{micro // 1000:03d}{self._suffix}"


def local_time(ts: float | None, zone: tzinfo) -> str | None:
    """One time as ISO 8601 with milliseconds and the zone's offset."""
    return None if ts is None else datetime.fromtimestamp(ts, zone).isoformat(timespec="milliseconds")


def _shown(columns: Sequence[str], zone: tzinfo):
    """A function turning a row tuple into its exported values (times local, flags booleans)."""
    at = [(i, LocalTimes(zone)) for i, c in enumerate(columns) if c in TIME_COLUMNS]  # a cache per column
    flags = [i for i, c in enumerate(columns) if c in FLAG_COLUMNS]

    def shown(row: tuple) -> list:
        out = list(row)
        done: dict = {}  # a row's times are often equal (decided, clock and corrected time)
        for i, times in at:
            v = out[i]
            text = done.get(v)
            if text is None:
                text = done[v] = times(v)
            out[i] = text
        for i in flags:
            if out[i] is not None:
                out[i] = bool(out[i])
        return out

    return shown


def jsonl(rows: Iterable[tuple], columns: Sequence[str], zone: tzinfo) -> Iterator[str]:
    shown = _shown(columns, zone)
    for row in rows:
        yield json.dumps(dict(zip(columns, shown(row), strict=True)), ensure_ascii=False, separators=(",", ":")) + "\n"


def csv_text(rows: Iterable[tuple], columns: Sequence[str], zone: tzinfo, batch: int = 1000) -> Iterator[str]:
    """A header line, then the rows, ``batch`` rows a chunk.

    Each chunk is worked on column by column (a million-row export must not pay Python's per-cell
    cost): a time column equal to one already formatted is reused (a trusted clock makes ``at``,
    ``wall`` and ``hub_at`` equal), and a text column is looked at as one string, cell by cell only
    when that string holds a control character or a cell that may start a formula.
    """
    times = {i: LocalTimes(zone) for i, c in enumerate(columns) if c in TIME_COLUMNS}
    flags = [i for i, c in enumerate(columns) if c in FLAG_COLUMNS]
    texts = [i for i in range(len(columns)) if i not in times and i not in flags]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    yield _taken(buf)
    it = iter(rows)
    while chunk := list(islice(it, batch)):
        raw = list(zip(*chunk, strict=True))
        out: list = list(raw)
        for i, fmt in times.items():
            same = next((j for j in times if j < i and raw[j] == raw[i]), None)
            out[i] = out[same] if same is not None else list(map(fmt, raw[i]))
        for i in flags:
            out[i] = [None if v is None else bool(v) for v in raw[i]]
        for i in texts:
            probe = " " + " ".join(map(str, raw[i]))
            if not probe.isprintable() or " =" in probe or " +" in probe or " -" in probe or " @" in probe:
                out[i] = list(map(csv_cell, raw[i]))
        writer.writerows(zip(*out, strict=True))
        yield _taken(buf)


def _taken(buf: io.StringIO) -> str:
    """What ``buf`` holds, emptying it."""
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def render(rows: Iterable[tuple], fmt: str, columns: Sequence[str], zone: tzinfo) -> Iterator[str]:
    """Row tuples (in ``columns`` order) as JSON lines or CSV text, chunk by chunk."""
    return jsonl(rows, columns, zone) if fmt == "jsonl" else csv_text(rows, columns, zone)

