"""The passage log as people search it: filters, keyset pages newest first, a row's detail, and the
counts behind the dashboard.

Filters are gate, unit (a row's ``pass_id`` is a pass of that unit in the registry's ``passes``
table), pass id, outcome (allowed, denied, manual) or ``allow``, reason and a time range on the
decision time ``at``. Pages are keyset pages on ``(at, device_id, seq)``: a page costs the same on
the first and on the thousandth page. Each filter has an index that ends in that key, so a filtered
page reads only its rows, on SQLite and PostgreSQL alike.

The dashboard reads ``passage_counts``: rows per gate, outcome and half hour, kept exact by
triggers on ``passage_log`` (insert adds, delete subtracts), so a chart of 30 days reads a few
thousand small rows, not a million. Half hours, not hours, so that the days and hours of a site
whose offset is a half hour (Asia/Kolkata) fall on bucket edges.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise

from gatekeeper.hub.database import Database, Tx
from gatekeeper.hub.registry import SCHEMA as REGISTRY_SCHEMA
from gatekeeper.hub.store import LOG_COLUMNS

BUCKET_S = 1800
#: A reason code as rows carry it (gatekeeper.verify.Reason values and the like).
REASON = r"^[a-z][a-z0-9_]{0,63}$"


class Outcome(enum.StrEnum):
    """What happened at the gate: a scanned pass let in or refused, or the volunteer's override."""

    ALLOWED = "allowed"
    DENIED = "denied"
    MANUAL = "manual"


#: Outcome codes in passage_counts.
_CODE = {Outcome.ALLOWED: 0, Outcome.DENIED: 1, Outcome.MANUAL: 2}
_OUTCOME_OF = {v: k for k, v in _CODE.items()}
_WHERE_OUTCOME = {Outcome.ALLOWED: "allow=1 AND kind<>'manual'", Outcome.DENIED: "allow=0",
                  Outcome.MANUAL: "kind='manual'"}


def outcome_of(row: dict) -> Outcome:
    """A stored row's outcome."""
    return Outcome.MANUAL if row["kind"] == "manual" else Outcome.ALLOWED if row["allow"] else Outcome.DENIED


def _outcome_sql(row: str) -> str:
    return f"CASE WHEN {row}kind='manual' THEN 2 WHEN {row}allow<>0 THEN 0 ELSE 1 END"


SCHEMA = [
    # Each filter's index ends in the page key, so a filtered page is read in order.
    "CREATE INDEX IF NOT EXISTS passage_log_pass ON passage_log (pass_id, at, device_id, seq)",
    "CREATE INDEX IF NOT EXISTS passage_log_reason ON passage_log (reason, at, device_id, seq)",
    "CREATE INDEX IF NOT EXISTS passage_log_denied ON passage_log (at, device_id, seq) WHERE allow=0",
    "CREATE INDEX IF NOT EXISTS passage_log_manual ON passage_log (at, device_id, seq) WHERE kind='manual'",
    "DROP INDEX IF EXISTS passage_log_gate",  # (gate_id, at): replaced by passage_log_gate_at in store.py
]

# Keyed by time first: a chart reads one contiguous range. On SQLite the table is that key
# (WITHOUT ROWID): 30 days of 50 gates are read in order, with no lookup per row.
_COUNTS = ("CREATE TABLE IF NOT EXISTS passage_counts (bucket BIGINT NOT NULL, gate_id TEXT NOT NULL,"
           " outcome SMALLINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (bucket, gate_id, outcome))")

_SQLITE_BUCKET = f"CAST({{r}}at / {BUCKET_S} AS INTEGER) * {BUCKET_S}"
_PG_BUCKET = f"(floor({{r}}at / {BUCKET_S}) * {BUCKET_S})::bigint"

_SQLITE_COUNTS = [
    _COUNTS + " WITHOUT ROWID",
    (f"CREATE TRIGGER IF NOT EXISTS passage_counts_add AFTER INSERT ON passage_log BEGIN "
     f"INSERT INTO passage_counts(gate_id, bucket, outcome, n) VALUES (NEW.gate_id, "
     f"{_SQLITE_BUCKET.format(r='NEW.')}, {_outcome_sql('NEW.')}, 1) "
     f"ON CONFLICT (bucket, gate_id, outcome) DO UPDATE SET n = n + 1; END"),
    (f"CREATE TRIGGER IF NOT EXISTS passage_counts_sub AFTER DELETE ON passage_log BEGIN "
     f"UPDATE passage_counts SET n = n - 1 WHERE gate_id = OLD.gate_id AND bucket = "
     f"{_SQLITE_BUCKET.format(r='OLD.')} AND outcome = {_outcome_sql('OLD.')}; END"),
]

_PG_COUNTS = [
    _COUNTS,
    (f"CREATE OR REPLACE FUNCTION passage_counts_track() RETURNS trigger AS $$ BEGIN "
     f"IF TG_OP = 'INSERT' THEN "
     f"INSERT INTO passage_counts(gate_id, bucket, outcome, n) VALUES (NEW.gate_id, "
     f"{_PG_BUCKET.format(r='NEW.')}, {_outcome_sql('NEW.')}, 1) "
     f"ON CONFLICT (bucket, gate_id, outcome) DO UPDATE SET n = passage_counts.n + 1; RETURN NEW; END IF; "
     f"UPDATE passage_counts SET n = n - 1 WHERE gate_id = OLD.gate_id AND bucket = "
     f"{_PG_BUCKET.format(r='OLD.')} AND outcome = {_outcome_sql('OLD.')}; RETURN OLD; "
     f"END $$ LANGUAGE plpgsql"),
    "DROP TRIGGER IF EXISTS passage_counts_track ON passage_log",
    ("CREATE TRIGGER passage_counts_track AFTER INSERT OR DELETE ON passage_log "
     "FOR EACH ROW EXECUTE FUNCTION passage_counts_track()"),
]

_COUNTS_READY = "passage_counts_ready"


def open_passages(db: Database) -> None:
    """The indexes, the counts table and its triggers; counts filled once from the rows already there."""
    with db.transaction() as tx:
        if db.is_postgres:
            tx.run("SELECT pg_advisory_xact_lock(4244)")
        for stmt in (*REGISTRY_SCHEMA, *SCHEMA):  # a unit filter reads the registry's passes
            tx.run(stmt)
        if tx.one("SELECT 1 FROM hub_meta WHERE key=?", (_COUNTS_READY,)):
            return
        if db.is_postgres:  # no row may slip in between the fill and the trigger
            tx.run("LOCK TABLE passage_log IN SHARE ROW EXCLUSIVE MODE")
        bucket = (_PG_BUCKET if db.is_postgres else _SQLITE_BUCKET).format(r="")
        for stmt in _PG_COUNTS if db.is_postgres else _SQLITE_COUNTS:
            tx.run(stmt)
        tx.run("DELETE FROM passage_counts")
        tx.run(f"INSERT INTO passage_counts(bucket, gate_id, outcome, n) SELECT {bucket}, gate_id, "
               f"{_outcome_sql('')}, count(*) FROM passage_log GROUP BY 1, 2, 3")
        tx.run("INSERT INTO hub_meta(key, value) VALUES (?, '1')", (_COUNTS_READY,))


# --- searching ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogFilter:
    """Which rows: every field None matches all. ``since <= at < until`` (Unix seconds)."""

    gate_id: str | None = None
    unit: str | None = None
    pass_id: str | None = None
    outcome: Outcome | None = None
    allow: bool | None = None
    reason: str | None = None
    since: float | None = None
    until: float | None = None

    def where(self) -> tuple[str, list]:
        conds, params = ["1=1"], []
        for column, value in (("gate_id", self.gate_id), ("pass_id", self.pass_id), ("reason", self.reason)):
            if value is not None:
                conds.append(f"{column}=?")
                params.append(value)
        if self.unit is not None:
            conds.append("pass_id IN (SELECT pass_id FROM passes WHERE unit=?)")
            params.append(self.unit)
        if self.outcome is not None:
            conds.append(_WHERE_OUTCOME[self.outcome])
        if self.allow is not None:
            conds.append("allow=?")
            params.append(int(self.allow))
        if self.since is not None:
            conds.append("at>=?")
            params.append(self.since)
        if self.until is not None:
            conds.append("at<?")
            params.append(self.until)
        return " AND ".join(conds), params


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's key. As text ``at~device_id~seq`` (in a link)."""

    at: float
    device_id: str
    seq: int

    def text(self) -> str:
        return f"{self.at!r}~{self.device_id}~{self.seq}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """ValueError when ``text`` is not a cursor this hub made."""
        parts = text.split("~")
        if len(parts) != 3 or len(parts[1]) != 16 or not parts[2].isdigit():
            raise ValueError(f"{text!r} is not a page cursor")
        return cls(float(parts[0]), parts[1], int(parts[2]))


#: A page's and an export's columns: the stored row and the unit its pass belongs to.
PASSAGE_COLUMNS = (*LOG_COLUMNS, "unit")
_AT, _DEVICE, _SEQ = (PASSAGE_COLUMNS.index(c) for c in ("at", "device_id", "seq"))
_SELECT = (", ".join(f"l.{c}" for c in LOG_COLUMNS)
           + ", (SELECT p.unit FROM passes p WHERE p.pass_id=l.pass_id) AS unit FROM passage_log l")


class Passages:
    """Searches and counts over the hub's passage log."""

    def __init__(self, db: Database) -> None:
        self.db = db
        open_passages(db)

    def page(self, f: LogFilter, limit: int = 50, after: Cursor | None = None,
             newest_first: bool = True) -> tuple[list[dict], Cursor | None]:
        """Up to ``limit`` rows after ``after``; the cursor of the next page (None: this was the last)."""
        rows, more = self._tuples(f, limit, after, newest_first)
        return [dict(zip(PASSAGE_COLUMNS, r, strict=True)) for r in rows], more

    def _tuples(self, f: LogFilter, limit: int, after: Cursor | None,
                newest_first: bool) -> tuple[list[tuple], Cursor | None]:
        where, params = f.where()
        op, order = ("<", "DESC") if newest_first else (">", "ASC")
        if after is not None:
            where += f" AND (at, device_id, seq) {op} (?, ?, ?)"
            params += [after.at, after.device_id, after.seq]
        rows = self.db.all(f"SELECT {_SELECT} WHERE {where} ORDER BY at {order}, device_id {order}, seq {order} "
                           "LIMIT ?", (*params, limit + 1))
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], Cursor(last[_AT], last[_DEVICE], last[_SEQ])

    def rows(self, f: LogFilter, newest_first: bool = True, page: int = 2000) -> Iterator[dict]:
        """Every matching row, read a page at a time."""
        for r in self.tuples(f, newest_first, page):
            yield dict(zip(PASSAGE_COLUMNS, r, strict=True))

    def tuples(self, f: LogFilter, newest_first: bool = True, page: int = 5000) -> Iterator[tuple]:
        """Every matching row as a tuple in :data:`PASSAGE_COLUMNS` order, a page at a time (exports stream these)."""
        after = None
        while True:
            rows, after = self._tuples(f, page, after, newest_first)
            yield from rows
            if after is None:
                return

    def row(self, device_id: str, seq: int) -> dict | None:
        """One row with its unit: the detail page."""
        r = self.db.one(f"SELECT {_SELECT} WHERE l.device_id=? AND l.seq=?", (device_id, seq))
        return dict(zip(PASSAGE_COLUMNS, r, strict=True)) if r else None

    # --- counts -----------------------------------------------------------------------------------
    def counts(self, since: float, until: float) -> dict[tuple[str, Outcome], int]:
        """Passages per (gate, outcome) with ``since <= at < until`` (``since`` rounded down and ``until``
        up to half hours: today so far is its whole last half hour)."""
        rows = self.db.all("SELECT gate_id, outcome, sum(n) FROM passage_counts WHERE bucket>=? AND bucket<? "
                           "GROUP BY gate_id, outcome", (_edge(since), _edge(until + BUCKET_S - 1e-6)))
        return {(g, _OUTCOME_OF[o]): int(n) for g, o, n in rows if n}

    def series(self, edges: list[float]) -> dict[str, list[int]]:
        """Passages per gate in each interval ``[edges[i], edges[i+1])`` (edges on half hours)."""
        cuts = [_edge(e) for e in edges]
        out: dict[str, list[int]] = {}
        step = cuts[1] - cuts[0]
        if all(b - a == step for a, b in pairwise(cuts)):
            # equal intervals (no daylight-saving change inside): the database groups them
            rows = self.db.all("SELECT gate_id, (bucket - ?) / ?, sum(n) FROM passage_counts WHERE bucket>=? AND "
                               "bucket<? GROUP BY 1, 2", (cuts[0], step, cuts[0], cuts[-1]))
            for gate, i, n in rows:
                out.setdefault(gate, [0] * (len(edges) - 1))[int(i)] += int(n)
            return out
        rows = self.db.all("SELECT gate_id, bucket, sum(n) FROM passage_counts WHERE bucket>=? AND bucket<? "
                           "GROUP BY gate_id, bucket", (cuts[0], cuts[-1]))
        for gate, bucket, n in rows:
            out.setdefault(gate, [0] * (len(edges) - 1))[bisect_right(cuts, bucket) - 1] += int(n)
        return out

    def prune_counts(self, tx: Tx) -> None:
        """Drop buckets the delete trigger emptied."""
        tx.run("DELETE FROM passage_counts WHERE n<=0")


def _edge(t: float) -> int:
    return int(t // BUCKET_S) * BUCKET_S


# --- the site's calendar -----------------------------------------------------------------------------
def day_start(t: float, zone: tzinfo) -> float:
    """The start of the local day holding ``t``."""
    local = datetime.fromtimestamp(t, zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def day_edges(now: float, zone: tzinfo, days: int) -> list[float]:
    """Local midnights: the last ``days`` days, today included (``days + 1`` edges, the last tomorrow's)."""
    today = datetime.fromtimestamp(now, zone).date()
    return [datetime.combine(today - timedelta(days=days - 1 - i), datetime.min.time(), zone).timestamp()
            for i in range(days + 1)]


def hour_edges(now: float, zone: tzinfo, hours: int = 24) -> list[float]:
    """Local hour starts: the last ``hours`` hours, this one included (``hours + 1`` edges)."""
    local = datetime.fromtimestamp(now, zone).replace(minute=0, second=0, microsecond=0)
    top = local.timestamp() + 3600
    return [top - 3600 * (hours - i) for i in range(hours + 1)]
