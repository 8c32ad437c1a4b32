"""The device store: one SQLite file holding the cached lists, the passage log and small state.

WAL with ``synchronous=FULL`` on every connection: a committed row survives a power cut, and a
crash mid-transaction leaves the previous state. Lists are applied in one transaction each.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.verify import (
    REVOCATION_KIND,
    TRUST_KIND,
    Entry,
    EntryState,
    ListError,
    PublicKey,
    RevocationList,
    TrustList,
    check_signer_bounds,
    load_revocation_list,
    load_trust_list,
    open_envelope,
)
from gatekeeper.wire import PassageRow, column_sql

SCHEMA_VERSION = 2
#: Where the uploader kept its quarantine (a JSON list) before schema 2 gave it tables.
_OLD_QUARANTINE_KEY = "sync.quarantine"


def _migrate_1(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("CREATE TABLE trust_list (id INTEGER PRIMARY KEY, version INTEGER, issued_at INTEGER, data BLOB)")
    conn.execute("CREATE TABLE revocations (pass_id BLOB PRIMARY KEY, state INTEGER NOT NULL, "
                 "since INTEGER NOT NULL) WITHOUT ROWID")
    # seq: the device-local sequence, never reused; the other columns are PassageRow's fields.
    conn.execute("CREATE TABLE passage_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                 + ", ".join(column_sql(portable=False)) + ")")


def _migrate_2(conn: sqlite3.Connection) -> None:
    # The uploader's quarantine: the ranges the hub refused, and a copy of their rows (the log prunes
    # them once the hub's ack has passed the declared range; someone must still be able to read them).
    conn.execute("CREATE TABLE quarantine (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, "
                 "status INTEGER NOT NULL, message TEXT NOT NULL, at REAL NOT NULL)")
    conn.execute("CREATE TABLE quarantine_rows (seq INTEGER PRIMARY KEY, "
                 + ", ".join(column_sql(portable=False)) + ")")
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_OLD_QUARANTINE_KEY,)).fetchone()
    for p in json.loads(row[0]) if row else []:
        _park(conn, p["first"], p["last"], p["status"], p["message"], p["at"], p["rows"])
    conn.execute("DELETE FROM meta WHERE key=?", (_OLD_QUARANTINE_KEY,))


def _park(conn: sqlite3.Connection, first: int, last: int, status: int, message: str, at: float,
          rows: list[dict]) -> None:
    conn.execute("INSERT INTO quarantine(first, last, status, message, at) VALUES (?,?,?,?,?)",
                 (first, last, status, message, at))
    for r in rows:
        cols = ["seq", *(c for c in PassageRow.model_fields if c in r)]
        marks = ", ".join("?" * len(cols))
        conn.execute(f"INSERT OR REPLACE INTO quarantine_rows ({', '.join(cols)}) VALUES ({marks})",
                     [r[c] for c in cols])


#: Migrations by the schema version they produce; a newer release appends, never edits.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1, 2: _migrate_2}


@dataclass(frozen=True)
class Parked:
    """A range of passage-log rows the hub refused (a 4xx that no retry cures), held in the quarantine."""

    first: int
    last: int
    status: int  # the hub's HTTP status
    message: str  # the hub's message
    at: float  # when it was parked (device wall clock)
    rows: int  # how many rows of the range are held


@dataclass(frozen=True)
class ApplyResult:
    """What an applied list changed."""

    kind: str  # "trust", "revocations-full", "revocations-delta"
    version: int
    issued_at: int
    entries: int
    lifted: int = 0


@dataclass(frozen=True)
class ListStatus:
    """The cached lists at a glance, for the display, /status and the CLI."""

    trust_version: int | None
    revocation_version: int | None
    revocation_issued_at: int | None
    revocation_checked_at: float | None
    revocation_entries: int
    time_floor: float


def _not_newer(kind: str, version: int, cached: int) -> str:
    """Why a list that is not newer than the cached one is refused: the same one, or an older one."""
    if version == cached:
        return f"{kind} list version {version} is already applied (nothing changed)"
    return f"{kind} list version {version} is older than the applied version {cached} (rollback refused)"


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the database with the pragmas every connection needs."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Store:
    """The device's SQLite store. One instance per thread that uses it (connections are not shared)."""

    def __init__(self, path: str | Path, authority: PublicKey) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The passage log holds pass ids and labels: the daemon's account only, wherever the file
        # lives (outside a systemd StateDirectory the umask would leave it 0644). SQLite gives its
        # -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self.authority = authority
        self.conn = connect(self.path)
        self._lock = threading.Lock()
        self._migrate()
        self._trust: TrustList | None = None
        self._trust_version: int | None = -1  # -1: not loaded yet

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ---------------------------------------------------------------------------------
    def _migrate(self) -> None:
        if self._schema_version() == SCHEMA_VERSION:
            return  # the common case takes no write lock
        with self._tx():
            have = self._schema_version()
            if have > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: database schema {have} is newer than this release ({SCHEMA_VERSION}); "
                    "upgrade gatekeeper or restore a matching backup")
            for v in range(have + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[v](self.conn)
                self._set("schema_version", v)

    def _schema_version(self) -> int:
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() is None:
            return 0
        return int(self._get("schema_version") or 0)

    # --- small state ----------------------------------------------------------------------------
    def _get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: str, value: object) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    def get_state(self, key: str) -> str | None:
        """A small piece of named state (sync watermarks and the like)."""
        return self._get(key)

    def set_state(self, key: str, value: object) -> None:
        with self._tx():
            self._set(key, value)

    def _tx(self):
        return _Transaction(self.conn, self._lock)

    @property
    def time_floor(self) -> float:
        """The newest signed time this device has accepted: the clock is never trusted below it."""
        return float(self._get("time_floor") or 0)

    def raise_time_floor(self, t: float) -> None:
        """Move the floor up to ``t``; never down."""
        with self._tx():
            self._raise_floor(t)

    def _raise_floor(self, t: float) -> None:
        if t > self.time_floor:
            self._set("time_floor", t)

    # --- lists ----------------------------------------------------------------------------------
    def trust_list(self) -> TrustList | None:
        """The cached trust list (verified when it was applied; re-verified once per process)."""
        row = self.conn.execute("SELECT version FROM trust_list WHERE id=1").fetchone()
        version = row[0] if row else None
        if version != self._trust_version:
            data = self.conn.execute("SELECT data FROM trust_list WHERE id=1").fetchone()
            self._trust = load_trust_list(data[0], self.authority) if data else None
            self._trust_version = version
        return self._trust

    def lookup(self, pass_id: bytes) -> Entry | None:
        """The revocation entry of ``pass_id``, or None: one primary-key read."""
        row = self.conn.execute("SELECT state, since FROM revocations WHERE pass_id=?", (pass_id,)).fetchone()
        return Entry(pass_id, EntryState(row[0]), row[1]) if row else None

    def list_status(self) -> ListStatus:
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())  # one read: a few rows
        g = meta.get
        rv = g("revocation_version")
        return ListStatus(
            trust_version=int(g("trust_version")) if g("trust_version") else None,
            revocation_version=int(rv) if rv else None,
            revocation_issued_at=int(g("revocation_issued_at")) if rv else None,
            revocation_checked_at=float(g("revocation_checked_at")) if rv else None,
            revocation_entries=int(g("revocation_entries") or 0),
            time_floor=float(g("time_floor") or 0),
        )

    def confirm_revocations_current(self, at: float) -> None:
        """Record that the hub confirmed, at trusted time ``at``, that the cached list is the newest."""
        with self._tx():
            cur = float(self._get("revocation_checked_at") or 0)
            if at > cur:
                self._set("revocation_checked_at", at)

    def apply_list(self, data: bytes) -> ApplyResult:
        """Verify and apply one signed list file, atomically. :class:`ListError` says why it is refused.

        Refused (and nothing changed): a bad signature, a version not newer than the cached one,
        a delta whose base is not the cached version, or malformed content.
        """
        # Only the kind is kept: holding the whole envelope while the loader opens the file again
        # would keep a second copy of a large body alive (21 MB at a million entries) for nothing.
        kind = open_envelope(data).kind
        if kind == TRUST_KIND:
            return self._apply_trust(data)
        if kind == REVOCATION_KIND:
            return self._apply_revocations(load_revocation_list(data, self.authority, self.trust_list()))
        raise ListError(f"unknown list kind {kind!r}")

    def _apply_trust(self, data: bytes) -> ApplyResult:
        tl = load_trust_list(data, self.authority)
        with self._tx():
            cur = self._get("trust_version")
            if cur is not None and tl.version <= int(cur):
                raise ListError(_not_newer("trust", tl.version, int(cur)))
            self.conn.execute("INSERT OR REPLACE INTO trust_list(id, version, issued_at, data) VALUES (1,?,?,?)",
                              (tl.version, tl.issued_at, bytes(data)))
            self._set("trust_version", tl.version)
            self._raise_floor(tl.issued_at)
        return ApplyResult("trust", tl.version, tl.issued_at, len(tl.issuers))

    def _apply_revocations(self, rl: RevocationList) -> ApplyResult:
        with self._tx():
            cur = self._get("revocation_version")
            cur_v = int(cur) if cur is not None else None
            if cur_v is not None and rl.version <= cur_v:
                raise ListError(_not_newer("revocation", rl.version, cur_v))
            check_signer_bounds(rl, cur_v, self.lookup)
            if rl.is_delta:
                if rl.base != cur_v:
                    raise ListError(f"delta {rl.base}->{rl.version} does not fit the cached version "
                                    f"{cur_v if cur_v is not None else 'none'}: apply a full snapshot")
                self.conn.executemany("INSERT OR REPLACE INTO revocations(pass_id, state, since) VALUES (?,?,?)",
                                      rl.iter_entries())
                self.conn.executemany("DELETE FROM revocations WHERE pass_id=?", ((i,) for i in rl.iter_lifted()))
            else:
                # A fresh table filled in key order and swapped in is much faster than a mass DELETE.
                self.conn.execute("DROP TABLE IF EXISTS revocations_next")
                self.conn.execute("CREATE TABLE revocations_next (pass_id BLOB PRIMARY KEY, state INTEGER NOT NULL,"
                                  " since INTEGER NOT NULL) WITHOUT ROWID")
                self.conn.executemany("INSERT INTO revocations_next(pass_id, state, since) VALUES (?,?,?)",
                                      rl.iter_entries())
                self.conn.execute("DROP TABLE revocations")
                self.conn.execute("ALTER TABLE revocations_next RENAME TO revocations")
            self._set("revocation_version", rl.version)
            count = len(rl) if not rl.is_delta else self.conn.execute("SELECT count(*) FROM revocations").fetchone()[0]
            self._set("revocation_entries", count)
            self._set("revocation_issued_at", rl.issued_at)
            cur_checked = float(self._get("revocation_checked_at") or 0)
            self._set("revocation_checked_at", max(cur_checked, rl.issued_at))
            self._raise_floor(rl.issued_at)
        kind = "revocations-delta" if rl.is_delta else "revocations-full"
        return ApplyResult(kind, rl.version, rl.issued_at, len(rl), len(rl.lifted) // 12)

    # --- passage log ----------------------------------------------------------------------------
    def log(self, row: PassageRow) -> int:
        """Append one passage-log row, durably (fsync'd), and return its sequence number."""
        values = row.columns()
        del values["seq"]  # assigned here: the next number, never reused
        cols = ", ".join(values)
        marks = ", ".join("?" * len(values))
        with self._tx():
            cur = self.conn.execute(f"INSERT INTO passage_log ({cols}) VALUES ({marks})", tuple(values.values()))
        return int(cur.lastrowid)

    def log_rows(self, after_seq: int, limit: int) -> list[dict]:
        """Passage-log rows with ``seq > after_seq``, oldest first."""
        cur = self.conn.execute("SELECT * FROM passage_log WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def last_seq(self) -> int:
        return self.conn.execute("SELECT coalesce(max(seq), 0) FROM passage_log").fetchone()[0]

    # --- sync (used by gatekeeper.gate.uploader) --------------------------------------------------
    def log_count_after(self, seq: int) -> int:
        """How many passage-log rows have ``seq`` above ``seq``: the upload backlog."""
        return self.conn.execute("SELECT count(*) FROM passage_log WHERE seq > ?", (seq,)).fetchone()[0]

    def prune_log(self, upto_seq: int, before: float) -> int:
        """Delete rows the hub acknowledged (``seq <= upto_seq``) decided before ``before``; how many.

        Never touches a row above ``upto_seq``: unacknowledged rows are kept whatever their age.
        """
        with self._tx():
            return self.conn.execute("DELETE FROM passage_log WHERE seq <= ? AND at < ?", (upto_seq, before)).rowcount

    # --- quarantine (used by gatekeeper.gate.uploader) --------------------------------------------
    def park(self, rows: list[dict], status: int, message: str, at: float) -> None:
        """Hold ``rows`` (consecutive-by-seq log rows the hub refused) in the quarantine, with the hub's reply."""
        with self._tx():
            _park(self.conn, rows[0]["seq"], rows[-1]["seq"], status, message, at, rows)

    def parked(self, above: int = 0) -> list[Parked]:
        """The quarantined ranges that end above seq ``above``, oldest first."""
        cur = self.conn.execute(
            "SELECT q.first, q.last, q.status, q.message, q.at, "
            "(SELECT count(*) FROM quarantine_rows r WHERE r.seq BETWEEN q.first AND q.last) "
            "FROM quarantine q WHERE q.last > ? ORDER BY q.first", (above,))
        return [Parked(*row) for row in cur]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self.conn, self.lock = conn, lock

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()

