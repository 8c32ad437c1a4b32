"""Passage-log export formats: JSON lines and CSV, streamed row by row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from gatekeeper.hub.store import LOG_COLUMNS

FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def jsonl(rows: Iterable[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def csv_text(rows: Iterable[dict]) -> Iterator[str]:
    """A header line, then one line per row; flushed in chunks of a few hundred rows."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def render(rows: Iterable[dict], fmt: str) -> Iterator[str]:
    return jsonl(rows) if fmt == "jsonl" else csv_text(rows)
