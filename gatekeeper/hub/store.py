"""The hub's storage: devices, enrolment and admin tokens, nonces, published lists, the passage log.

Every operation is one transaction on :class:`~gatekeeper.hub.database.Database`, so a hub killed
at any instant (SIGKILL included) holds either all of a batch and its ack or none of it, and
several hub processes on one PostgreSQL database stay consistent.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.hub.database import Database, Tx
from gatekeeper.hub.errors import RefusedError
from gatekeeper.verify import PublicKey
from gatekeeper.wire import (
    FLAG_FIELDS,
    ROW_FIELDS,
    TIME_WINDOW_S,
    Ack,
    Batch,
    b64,
    column_sql,
    conflict,
    device_id,
    hub_time,
)

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, public_key BYTEA NOT NULL,"
     " gate_id TEXT NOT NULL, enrolled_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION,"
     " acked BIGINT, last_seen DOUBLE PRECISION)"),
    ("CREATE TABLE IF NOT EXISTS enrol_tokens (token_hash TEXT PRIMARY KEY, gate_id TEXT,"
     " created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL,"
     " used_at DOUBLE PRECISION, device_id TEXT)"),
    ("CREATE TABLE IF NOT EXISTS admin_tokens (token_hash TEXT PRIMARY KEY, label TEXT NOT NULL,"
     " created_at DOUBLE PRECISION NOT NULL)"),
    ("CREATE TABLE IF NOT EXISTS nonces (device_id TEXT NOT NULL, nonce TEXT NOT NULL,"
     " seen_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (device_id, nonce))"),
    "CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_at)",
    # base is -1 for trust lists and full snapshots, the base version for a delta
    ("CREATE TABLE IF NOT EXISTS lists (kind TEXT NOT NULL, version BIGINT NOT NULL, base BIGINT NOT NULL,"
     " issued_at BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (kind, version, base))"),
    "CREATE TABLE IF NOT EXISTS revocations (pass_id TEXT PRIMARY KEY, state TEXT NOT NULL, since BIGINT NOT NULL)",
    # The device's PassageRow fields, between the hub's key and the columns the hub adds.
    ("CREATE TABLE IF NOT EXISTS passage_log (device_id TEXT NOT NULL, seq BIGINT NOT NULL, gate_id TEXT NOT NULL, "
     + ", ".join(column_sql(portable=True))
     + ", received_at DOUBLE PRECISION NOT NULL, hub_at DOUBLE PRECISION, conflict TEXT,"
     " PRIMARY KEY (device_id, seq))"),
    "CREATE INDEX IF NOT EXISTS passage_log_at ON passage_log (at, device_id, seq)",
    "CREATE INDEX IF NOT EXISTS passage_log_gate_at ON passage_log (gate_id, at, device_id, seq)",
    # A resend of a (device, seq) the hub holds with different content: the first version stays in
    # passage_log, every other version is kept here once (keyed by its digest) and reported.
    ("CREATE TABLE IF NOT EXISTS seq_conflicts (device_id TEXT NOT NULL, seq BIGINT NOT NULL, digest TEXT NOT NULL, "
     "gate_id TEXT NOT NULL, " + ", ".join(column_sql(portable=True))
     + ", received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (device_id, seq, digest))"),
    ("CREATE TABLE IF NOT EXISTS parked (device_id TEXT NOT NULL, first BIGINT NOT NULL, last BIGINT NOT NULL,"
     " status INTEGER NOT NULL, message TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,"
     " PRIMARY KEY (device_id, first))"),
]

#: The columns of the hub's passage_log as they are written and exported: the device and gate, the
#: device's PassageRow fields, then what the hub adds.
LOG_COLUMNS = ("device_id", "gate_id", *ROW_FIELDS, "received_at", "hub_at", "conflict")
#: The columns of a seq conflict: which row of which device, the version that differed, when it came.
SEQ_CONFLICT_COLUMNS = ("device_id", "gate_id", *ROW_FIELDS, "received_at", "digest")
_FLAGS = frozenset(FLAG_FIELDS)
#: An enrolment token lives at most this long, whether made by the CLI or the admin API.
MAX_TOKEN_TTL_S = 30 * 86400
#: Rows per INSERT statement on SQLite (it bounds the parameters of one statement).
_INSERT_CHUNK = 1000
#: PostgreSQL types of LOG_COLUMNS, for inserting a batch as one array per column.
_LOG_TYPES = ("text", "text", "bigint", *(c.split(" ", 2)[1].replace("DOUBLE", "double precision").lower()
                                          for c in column_sql(portable=True)), "double precision",
              "double precision", "text")
_STATE_NAMES = {1: "revoked", 2: "red", 3: "yellow"}
TOKEN_PREFIX = "gk1_"


@dataclass(frozen=True)
class Device:
    device_id: str
    public_key: PublicKey
    gate_id: str
    enrolled_at: float
    revoked_at: float | None
    acked: int | None


@dataclass(frozen=True)
class Upload:
    """A verified upload to store: the device, its batch, when it arrived, the request's nonce, and
    what else to write in the same transaction once its rows are stored (the gate's contact)."""

    device: Device
    batch: Batch
    received_at: float
    nonce: str | None = None
    also: Callable[[Tx], None] | None = None


def next_ack(acked: int | None, batch: Batch) -> int | None:
    """The device's ack after storing ``batch``: it only moves forward, and never past a row stored.

    The batch covers ``(prev, last]`` of the device's log, but the hub acknowledges only up to the
    highest seq it holds from it (a row, or the end of a parked range): an empty batch claiming a
    huge ``last`` moves nothing. The ack joins the batch only when the batch starts at or below it
    (or is the device's first).
    """
    ends = [r.seq for r in batch.rows[-1:]] + [p.last for p in batch.parked]
    if not ends:
        return acked
    covered = max(ends)
    if acked is None or batch.prev <= acked < covered:
        return covered
    return acked


def _row_dict(seq: int, fields: tuple[str, ...], values: tuple) -> dict:
    """Table columns back to a batch row (0/1 flags as booleans)."""
    row = {"seq": seq, **dict(zip(fields, values, strict=True))}
    return {k: bool(v) if k in _FLAGS else v for k, v in row.items()}


def token_hash(token: str) -> str:
    """Tokens are stored hashed: a leaked database enrols nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + b64(secrets.token_bytes(24))


class HubStore:
    """The hub's tables on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            if db.is_postgres:  # replicas starting together must not race on CREATE TABLE
                tx.run("SELECT pg_advisory_xact_lock(4242)")
            for stmt in SCHEMA:
                tx.run(stmt)
        self._nonce_pruned = 0.0

    @classmethod
    def open(cls, url: str) -> HubStore:
        return cls(Database(url))

    def close(self) -> None:
        self.db.close()

    # --- meta -------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM hub_meta WHERE key=?", (key,))
        return row[0] if row else None

    def set_meta(self, tx: Tx, key: str, value: object) -> None:
        tx.run("INSERT INTO hub_meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
               (key, str(value)))

    # --- tokens -----------------------------------------------------------------------------------
    def create_enrol_token(self, gate_id: str | None, ttl_s: float, now: float | None = None) -> str:
        """A one-time enrolment token, valid ``ttl_s`` seconds, for ``gate_id`` (None: any gate)."""
        if not 0 < ttl_s <= MAX_TOKEN_TTL_S:
            raise ValueError(f"a token lives more than 0 s and at most {MAX_TOKEN_TTL_S // 86400} days")
        now = time.time() if now is None else now
        token = new_token()
        with self.db.transaction() as tx:
            tx.run("INSERT INTO enrol_tokens(token_hash, gate_id, created_at, expires_at) VALUES (?,?,?,?)",
                   (token_hash(token), gate_id, now, now + ttl_s))
        return token

    def create_admin_token(self, label: str, now: float | None = None) -> str:
        token = new_token()
        with self.db.transaction() as tx:
            tx.run("INSERT INTO admin_tokens(token_hash, label, created_at) VALUES (?,?,?)",
                   (token_hash(token), label, time.time() if now is None else now))
        return token

    def admin_label(self, token: str) -> str | None:
        """The label of an admin token, or None when it is not one."""
        row = self.db.one("SELECT label FROM admin_tokens WHERE token_hash=?", (token_hash(token),))
        return row[0] if row else None

    def revoke_admin_token(self, token_or_label: str) -> int:
        """Delete an admin token (given as the token itself) or every token with that label; how many."""
        with self.db.transaction() as tx:
            if token_or_label.startswith(TOKEN_PREFIX):
                return tx.run("DELETE FROM admin_tokens WHERE token_hash=?", (token_hash(token_or_label),))
            return tx.run("DELETE FROM admin_tokens WHERE label=?", (token_or_label,))

    # --- devices ----------------------------------------------------------------------------------
    def enrol(self, token: str, public: PublicKey, gate_id: str, now: float | None = None) -> Device:
        """Spend a one-time token on a device key; :class:`RefusedError` says why not."""
        now = time.time() if now is None else now
        dev = device_id(public)
        with self.db.transaction() as tx:
            row = tx.one("SELECT gate_id, expires_at, used_at FROM enrol_tokens WHERE token_hash=?"
                         + tx.for_update, (token_hash(token),))
            if row is None:
                raise RefusedError(403, "token_unknown", "enrolment token not known to this hub: ask the admin "
                                   "for a new one ('gatekeeper hub token')")
            bound_gate, expires_at, used_at = row
            if used_at is not None:
                raise RefusedError(403, "token_used", "enrolment token already used: tokens are one-time; "
                                   "ask the admin for a new one")
            if now > expires_at:
                raise RefusedError(403, "token_expired", "enrolment token expired: ask the admin for a new one")
            if bound_gate is not None and bound_gate != gate_id:
                raise RefusedError(403, "token_gate", f"this token enrols gate {bound_gate!r}, not {gate_id!r}")
            self._insert_device(tx, dev, public, gate_id, now)
            tx.run("UPDATE enrol_tokens SET used_at=?, device_id=? WHERE token_hash=?", (now, dev, token_hash(token)))
        return Device(dev, public, gate_id, now, None, None)

    def register_device(self, public: PublicKey, gate_id: str, now: float | None = None) -> Device:
        """Enrol a device key directly, with no token: for an admin writing an offline bundle."""
        now = time.time() if now is None else now
        dev = device_id(public)
        with self.db.transaction() as tx:
            self._insert_device(tx, dev, public, gate_id, now)
        return Device(dev, public, gate_id, now, None, None)

    @staticmethod
    def _insert_device(tx: Tx, dev: str, public: PublicKey, gate_id: str, now: float) -> None:
        if tx.one("SELECT 1 FROM devices WHERE device_id=?", (dev,)) is not None:
            raise RefusedError(409, "device_exists", f"device key {dev} is already enrolled: make a new key")
        tx.run("INSERT INTO devices(device_id, public_key, gate_id, enrolled_at) VALUES (?,?,?,?)",
               (dev, public.raw, gate_id, now))

    def device(self, dev: str) -> Device | None:
        row = self.db.one("SELECT device_id, public_key, gate_id, enrolled_at, revoked_at, acked FROM devices "
                          "WHERE device_id=?", (dev,))
        if row is None:
            return None
        return Device(row[0], PublicKey.from_raw(bytes(row[1])), row[2], row[3], row[4], row[5])

    def devices(self) -> list[dict]:
        rows = self.db.all("SELECT device_id, gate_id, enrolled_at, revoked_at, acked, last_seen FROM devices "
                           "ORDER BY gate_id, device_id")
        names = ("device_id", "gate_id", "enrolled_at", "revoked_at", "acked", "last_seen")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def revoke_device(self, dev: str, now: float | None = None) -> bool:
        """Refuse every further request of ``dev``; False when no such device."""
        with self.db.transaction() as tx:
            if tx.one("SELECT 1 FROM devices WHERE device_id=?", (dev,)) is None:
                return False
            tx.run("UPDATE devices SET revoked_at=? WHERE device_id=? AND revoked_at IS NULL",
                   (time.time() if now is None else now, dev))
        return True

    def use_nonce(self, dev: str, nonce: str, now: float) -> bool:
        """Record a request nonce in the database (every replica sees it); False on a replay."""
        with self.db.transaction() as tx:
            return self._use_nonce(tx, dev, nonce, now)

    def _use_nonce(self, tx: Tx, dev: str, nonce: str, now: float) -> bool:
        fresh = tx.run("INSERT INTO nonces(device_id, nonce, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                       (dev, nonce, now)) == 1
        # Nonces older than twice the time window cannot be replayed (the time check refuses
        # them first), so they are dropped, about once a minute.
        if now - self._nonce_pruned > 60:
            self._nonce_pruned = now
            tx.run("DELETE FROM nonces WHERE seen_at < ?", (now - 2 * TIME_WINDOW_S,))
        return fresh

    # --- passage log ------------------------------------------------------------------------------
    def ingest(self, dev: Device, batch: Batch, received_at: float, nonce: str | None = None) -> Ack:
        """Store a batch idempotently on (device, seq) and move the device's ack; one transaction.

        ``nonce``: the request's nonce, recorded in the same transaction (one commit per upload);
        :class:`RefusedError` ``replay`` when it was used before, and nothing is stored.
        """
        result = self.ingest_many([Upload(dev, batch, received_at, nonce)])[0]
        if isinstance(result, RefusedError):
            raise result
        return result

    def ingest_many(self, uploads: list[Upload]) -> list[Ack | RefusedError]:
        """Several uploads in one transaction (one commit, one fsync: group commit), each in its own
        savepoint, so a refused one (a replay, a revoked device) changes nothing and the others stay.

        Devices are locked in id order, so two hub processes grouping the same devices cannot deadlock.
        """
        results: dict[int, Ack | RefusedError] = {}
        with self.db.transaction() as tx:
            for i in sorted(range(len(uploads)), key=lambda i: uploads[i].device.device_id):
                tx.run("SAVEPOINT upload")
                try:
                    results[i] = self._ingest(tx, uploads[i])
                    if uploads[i].also is not None:
                        uploads[i].also(tx)
                except RefusedError as e:
                    tx.run("ROLLBACK TO SAVEPOINT upload")
                    results[i] = e
                tx.run("RELEASE SAVEPOINT upload")
        return [results[i] for i in range(len(uploads))]

    def _ingest(self, tx: Tx, up: Upload) -> Ack:
        dev, batch, received_at = up.device, up.batch, up.received_at
        if up.nonce is not None and not self._use_nonce(tx, dev.device_id, up.nonce, received_at):
            raise RefusedError(401, "replay", "nonce already used: a replayed request is refused")
        row = tx.one("SELECT acked, revoked_at FROM devices WHERE device_id=?" + tx.for_update, (dev.device_id,))
        if row is None or row[1] is not None:
            raise RefusedError(403, "device_revoked", f"device {dev.device_id} was revoked by an admin")
        acked = row[0]
        entries = self._revocation_entries(tx, {r.pass_id for r in batch.rows if r.allow and r.pass_id})
        values, flags = [], {}
        for r in batch.rows:
            when = hub_time(r, batch, received_at)
            flags[r.seq] = conflict(r, entries.get(r.pass_id) if r.pass_id else None, when)
            values.append((dev.device_id, dev.gate_id, *r.columns().values(), received_at, when, flags[r.seq]))
        stored = self._insert_new(tx, values)
        resent = [r for r in batch.rows if r.seq not in stored]
        clashes = self._seq_conflicts(tx, dev, resent, received_at) if resent else []
        tx.many("INSERT INTO parked(device_id, first, last, status, message, received_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                [(dev.device_id, p.first, p.last, p.status, p.message, received_at) for p in batch.parked])
        acked = next_ack(acked, batch)
        tx.run("UPDATE devices SET acked=?, last_seen=? WHERE device_id=?", (acked, received_at, dev.device_id))
        return Ack(ack=acked or 0, stored=len(stored), duplicates=len(resent),
                   conflicts=[s for s in sorted(stored) if flags[s] is not None], seq_conflicts=clashes,
                   hub_time=received_at)

    @staticmethod
    def _insert_new(tx: Tx, values: list[tuple]) -> set[int]:
        """Insert log rows, skipping (device, seq) already held; the seqs newly stored.

        One multi-row statement per chunk, which tells which rows it inserted (RETURNING): no
        per-row lookup, and a concurrent replica inserting the same rows cannot make one count twice.
        """
        stored: set[int] = set()
        if tx.db.is_postgres and values:
            # The rows as one JSON parameter: psycopg splits placeholders and dumps arrays in
            # Python (a 1000-row VALUES list has 22,000 placeholders: 180 ms a batch), while
            # json.dumps and PostgreSQL's JSON parser are C. Floats round-trip exactly (repr).
            cols = ", ".join(f"(r->>{i})::{t}" for i, t in enumerate(_LOG_TYPES))
            got = tx.all(f"INSERT INTO passage_log ({','.join(LOG_COLUMNS)}) SELECT {cols} "
                         "FROM json_array_elements(?::json) r ON CONFLICT DO NOTHING RETURNING seq",
                         (json.dumps(values),))
            return {s for (s,) in got}
        width = len(LOG_COLUMNS)
        for i in range(0, len(values), _INSERT_CHUNK):
            chunk = values[i:i + _INSERT_CHUNK]
            marks = ",".join(["(" + ",".join("?" * width) + ")"] * len(chunk))
            got = tx.all(f"INSERT INTO passage_log ({','.join(LOG_COLUMNS)}) VALUES {marks} "
                         "ON CONFLICT DO NOTHING RETURNING seq", [v for row in chunk for v in row])
            stored.update(s for (s,) in got)
        return stored

    @staticmethod
    def _seq_conflicts(tx: Tx, dev: Device, resent: list, received_at: float) -> list[int]:
        """Of rows the hub already held, the seqs whose content differs; each new version is kept."""
        fields = ROW_FIELDS[1:]
        held = {r[0]: r[1:] for r in tx.all(
            f"SELECT seq, {','.join(fields)} FROM passage_log WHERE device_id=? AND seq>=? AND seq<=?",
            (dev.device_id, resent[0].seq, resent[-1].seq))}
        clashes, keep = [], []
        for r in resent:
            cols = r.columns()
            mine = tuple(cols[f] for f in fields)
            if held.get(r.seq) == mine:
                continue
            clashes.append(r.seq)
            digest = hashlib.sha256(repr(mine).encode()).hexdigest()
            keep.append((dev.device_id, dev.gate_id, *cols.values(), received_at, digest))
        marks = ",".join("?" * len(SEQ_CONFLICT_COLUMNS))
        tx.many(f"INSERT INTO seq_conflicts ({','.join(SEQ_CONFLICT_COLUMNS)}) VALUES ({marks}) "
                "ON CONFLICT DO NOTHING", keep)
        return clashes

    def seq_conflicts(self, device: str | None = None, limit: int = 1000) -> list[dict]:
        """Versions of rows that differed from what the hub held, newest first, each with the held row:
        ``{"device_id", "gate_id", "seq", "received_at", "digest", "sent": {...}, "held": {...}}``."""
        fields = ROW_FIELDS[1:]
        where, params = ("WHERE c.device_id=?", [device]) if device else ("", [])
        rows = self.db.all(
            f"SELECT c.device_id, c.gate_id, c.seq, c.received_at, c.digest, {','.join('c.' + f for f in fields)}, "
            f"l.seq, {','.join('l.' + f for f in fields)} FROM seq_conflicts c LEFT JOIN passage_log l "
            f"ON l.device_id = c.device_id AND l.seq = c.seq {where} "
            "ORDER BY c.received_at DESC, c.device_id, c.seq LIMIT ?", (*params, limit))
        n = len(fields)
        out = []
        for r in rows:
            sent, held = r[5:5 + n], r[6 + n:]
            out.append({"device_id": r[0], "gate_id": r[1], "seq": r[2], "received_at": r[3], "digest": r[4],
                        "sent": _row_dict(r[2], fields, sent),
                        "held": None if r[5 + n] is None else _row_dict(r[2], fields, held)})
        return out

    @staticmethod
    def _revocation_entries(tx: Tx, pass_ids: set[str]) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        ids = sorted(pass_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for pid, state, since in tx.all(f"SELECT pass_id, state, since FROM revocations WHERE pass_id IN "
                                            f"({','.join('?' * len(chunk))})", chunk):
                out[pid] = (state, since)
        return out

    def count_rows(self, dev: str | None = None) -> int:
        if dev is None:
            return self.db.one("SELECT count(*) FROM passage_log")[0]
        return self.db.one("SELECT count(*) FROM passage_log WHERE device_id=?", (dev,))[0]

    # --- lists ------------------------------------------------------------------------------------
    def known_lists(self) -> set[tuple[str, int, int]]:
        return {(k, v, b) for k, v, b in self.db.all("SELECT kind, version, base FROM lists")}

    def add_lists(self, files: list[tuple[str, int, int, int, bytes]]) -> None:
        """Publish signed list files: (kind, version, base or -1, issued_at, bytes)."""
        with self.db.transaction() as tx:
            tx.many("INSERT INTO lists(kind, version, base, issued_at, data) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                    files)

    def latest_versions(self) -> tuple[int, int]:
        """(trust version, revocation version) the hub publishes; 0 when it has none."""
        got = dict(self.db.all("SELECT kind, max(version) FROM lists WHERE base=-1 GROUP BY kind"))
        return int(got.get("trust") or 0), int(got.get("revocations") or 0)

    def list_file(self, kind: str, version: int, base: int = -1) -> bytes | None:
        row = self.db.one("SELECT data FROM lists WHERE kind=? AND version=? AND base=?", (kind, version, base))
        return bytes(row[0]) if row else None

    def revocation_steps(self, since: int, upto: int) -> list[tuple[int, int, bytes]]:
        """Deltas (version, base, bytes) with ``since <= base`` and ``version <= upto``, by version."""
        rows = self.db.all("SELECT version, base, data FROM lists WHERE kind='revocations' AND base>=? AND version<=? "
                           "ORDER BY version, base", (since, upto))
        return [(v, b, bytes(d)) for v, b, d in rows]

    def revocations_version(self) -> int:
        """The version the hub's revocation table (used to flag conflicts) reflects."""
        return int(self.meta("revocations_table_version") or 0)

    def set_revocations(self, version: int, entries: list[tuple[bytes, int, int]], lifted: list[bytes],
                        full: bool) -> None:
        """Bring the hub's revocation table to ``version``: a full replace or a delta's changes."""
        with self.db.transaction() as tx:
            if full:
                tx.run("DELETE FROM revocations")
            tx.many("INSERT INTO revocations(pass_id, state, since) VALUES (?,?,?) ON CONFLICT (pass_id) DO UPDATE "
                    "SET state=excluded.state, since=excluded.since",
                    [(pid.hex(), _STATE_NAMES[state], since) for pid, state, since in entries])
            tx.many("DELETE FROM revocations WHERE pass_id=?", [(pid.hex(),) for pid in lifted])
            self.set_meta(tx, "revocations_table_version", version)

    def site_facts(self) -> dict[str, str | None]:
        """What an enrolment reply tells a device of the site: ``authority_key`` (PEM), ``scope``, ``site_name``."""
        return {"authority_key": self.meta("authority_pem"), "scope": self.meta("site_scope"),
                "site_name": self.meta("site_name")}

    def set_site(self, authority_pem: str, scope: str, name: str) -> None:
        """Remember the site this hub serves, for enrolment replies on replicas without its keys."""
        with self.db.transaction() as tx:
            for k, v in (("authority_pem", authority_pem), ("site_scope", scope), ("site_name", name)):
                self.set_meta(tx, k, v)
