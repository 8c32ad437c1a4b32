"""The uploader: ships the passage log to the hub in batches, exactly once in effect.

The device's watermark (state ``sync.acked``) is the hub's last ack: every row up to it is held by
the hub. A batch is rows above the watermark, bounded by rows and bytes, gzip'd, signed. A resend
after a lost reply is harmless (the hub stores by device and seq). Only acknowledged rows are ever
pruned, after ``retention``.

Failures: connection errors, 408, 429 and 5xx are retried with full-jitter backoff (cap from
``[sync] backoff_cap``), never sooner than ``Retry-After``. 413 halves the batch. 401/403 (the hub
does not accept this device) wait at the cap, rows untouched. Any other 4xx parks the batch in the
quarantine (state ``sync.quarantine``: the rows and the hub's message) and declares the parked range
to the hub, so one bad row cannot stop every row behind it. See docs/sync-protocol.md.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import ValidationError

from gatekeeper.gate.backoff import next_delay, outcome_of, retry_after
from gatekeeper.gate.boot import boot_id
from gatekeeper.gate.config import SyncSettings
from gatekeeper.gate.store import Store
from gatekeeper.gate.syncpart import SyncPart
from gatekeeper.verify import PrivateKey, PublicKey
from gatekeeper.wire import PATH_LOG, Ack, encode_batch, take_within

K_ACKED = "sync.acked"
K_QUARANTINE = "sync.quarantine"
#: Below this much free space on the store's file system, status() raises the disk alarm.
MIN_FREE_BYTES = 64 * 1024 * 1024
#: The end of every disk alarm: what happens to the log meanwhile.
KEPT = "acknowledged rows are pruned after the retention period, unacknowledged rows are kept"
#: Pruning runs at most this often.
PRUNE_EVERY_S = 600.0


def unacknowledged(store: Store) -> int:
    """Rows of the passage log the hub has not acknowledged yet (the backlog)."""
    return store.log_count_after(int(store.get_state(K_ACKED) or 0))


@dataclass(frozen=True)
class UploadResult:
    """What one :meth:`Uploader.run_once` did.

    ``outcome``: ``idle`` (nothing to send), ``sent``, ``retry`` (hub unreachable or busy),
    ``refused`` (401/403: device not accepted), ``quarantined``, ``error`` (local failure, such as
    a full disk). ``delay``: seconds until the next attempt.
    """

    outcome: str
    sent: int = 0
    acked: int = 0
    backlog: int = 0
    delay: float = 0.0
    message: str = ""
    conflicts: list[int] = field(default_factory=list)


class Uploader(SyncPart):
    """Uploads the passage log of the store at ``store_path``; run it in its own thread."""

    def __init__(self, store_path: str | Path, authority: PublicKey, settings: SyncSettings,
                 device_key: PrivateKey, gate_id: str, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(store_path, authority, settings, device_key, gate_id, transport=transport)
        self._max_rows = settings.batch_max_rows
        self._pruned_at = 0.0
        self._status: dict = {"backlog": None, "acked_seq": None, "last_ack_at": None, "last_error": None,
                              "next_retry_at": None, "quarantine": [], "quarantine_message": None,
                              "disk_alarm": None, "conflicts_flagged": 0, "hub": settings.hub_url or None}

    def step(self) -> UploadResult:
        return self.run_once()

    def run_once(self) -> UploadResult:
        """Send at most one batch (or one quarantine declaration) and record what happened."""
        if not self.settings.hub_url:
            return self._note(UploadResult("idle", delay=self.settings.upload_interval, message="no hub_url"))
        try:
            self._check_disk()
            self._prune()
            return self._note(self._send_one())
        except (sqlite3.Error, OSError) as e:  # a full disk, a locked file: an alarm, the gate keeps deciding
            if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or getattr(e, "errno", None) == errno.ENOSPC:
                with self._lock:
                    self._status["disk_alarm"] = f"disk full: the device store cannot write ({e}); {KEPT}"
            return self._note(UploadResult("error", delay=self.settings.upload_interval,
                                           message=f"device store: {e}"), error=f"device store: {e}")

    def status(self) -> dict:
        """For the status page, under one key: backlog, last ack, quarantine, last error, next retry,
        disk alarm."""
        with self._lock:
            return {"upload": json.loads(json.dumps(self._status))}

    # --- steps ------------------------------------------------------------------------------------
    def _acked(self) -> int:
        return int(self.store.get_state(K_ACKED) or 0)

    def _quarantine(self) -> list[dict]:
        return json.loads(self.store.get_state(K_QUARANTINE) or "[]")

    def _send_one(self) -> UploadResult:
        acked = self._acked()
        parked_all = self._quarantine()
        parked = [p for p in parked_all if p["last"] > acked]
        rows = self.store.log_rows(acked, self._max_rows)
        rows = [r for r in rows if not any(p["first"] <= r["seq"] <= p["last"] for p in parked)]
        encoded = take_within(rows, self.settings.batch_max_bytes)
        rows = rows[:len(encoded)]
        last_row = rows[-1]["seq"] if rows else 0
        # A parked range is declared in the batch that covers it: below the last row sent, or
        # on its own when no row follows it yet.
        declare = [p for p in parked if p["last"] < last_row] if rows else parked[:1]
        if not rows and not declare:
            return UploadResult("idle", acked=acked, backlog=0, delay=self.settings.upload_interval)
        last = max([last_row] + [p["last"] for p in declare])
        body = encode_batch(acked, last, encoded, time.monotonic(), boot_id(),
                            [{k: p[k] for k in ("first", "last", "status", "message")} for p in declare])
        reply = self.client.request("POST", PATH_LOG, body,
                                    {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        outcome = outcome_of(reply.status) if reply.status else "retry"
        if outcome == "ok":
            try:
                ack = Ack.model_validate_json(reply.body)
            except ValidationError:  # a proxy's page, a truncated reply: not an ack, so try again
                outcome = "retry"
            else:
                return self._acknowledged(ack, len(rows))
        code, message = reply.problem() if reply.status else ("unreachable", reply.error)
        hub_says = f"hub {reply.status or 'unreachable'}: {message or code}"
        if outcome == "retry":
            self._attempt += 1
            after = retry_after(reply.headers.get("retry-after"), time.time())
            return self._later("retry", next_delay(self._attempt, self.settings.backoff_cap, after), hub_says)
        if outcome == "refused_identity":
            self._attempt += 1
            return self._later("refused", self.settings.backoff_cap, hub_says)
        if outcome == "too_large" and len(rows) > 1:
            self._max_rows = max(1, len(rows) // 2)
            return UploadResult("retry", delay=0, message=hub_says, backlog=self.store.log_count_after(acked))
        if not rows:  # the hub refuses even a declaration: nothing to park, wait at the cap
            return self._later("refused", self.settings.backoff_cap, hub_says)
        self._park(rows, reply.status, message or code)
        return UploadResult("quarantined", delay=0, message=hub_says, backlog=self.store.log_count_after(acked))

    def _acknowledged(self, ack: Ack, sent: int) -> UploadResult:
        # The hub's ack is the truth even when it is lower (a hub restored from a backup): the
        # rows above it are still here (only acknowledged rows are pruned), and are sent again.
        self.store.set_state(K_ACKED, ack.ack)
        self._attempt = 0
        self._max_rows = self.settings.batch_max_rows
        backlog = self.store.log_count_after(ack.ack)
        with self._lock:
            self._status["last_ack_at"] = time.time()
            self._status["conflicts_flagged"] += len(ack.conflicts)
        return UploadResult("sent", sent=sent, acked=ack.ack, backlog=backlog,
                            delay=0 if backlog else self.settings.upload_interval, conflicts=list(ack.conflicts))

    def _later(self, outcome: str, delay: float, message: str) -> UploadResult:
        acked = self._acked()
        return UploadResult(outcome, acked=acked, backlog=self.store.log_count_after(acked), delay=delay,
                            message=message)

    def _park(self, rows: list[dict], status: int, message: str) -> None:
        entry = {"first": rows[0]["seq"], "last": rows[-1]["seq"], "status": status, "message": message[:500],
                 "at": time.time(), "rows": rows}
        self.store.set_state(K_QUARANTINE, json.dumps(self._quarantine() + [entry]))
        self._max_rows = self.settings.batch_max_rows

    def _prune(self) -> None:
        now = time.time()
        if now - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = now
            self.store.prune_log(self._acked(), now - self.settings.retention)

    def _check_disk(self) -> None:
        free = shutil.disk_usage(self.store_path.parent).free
        alarm = None if free >= MIN_FREE_BYTES else (
            f"disk almost full ({free // 1048576} MB free): the passage log needs space; {KEPT}")
        with self._lock:
            self._status["disk_alarm"] = alarm

    def _note(self, r: UploadResult, error: str | None = None) -> UploadResult:
        with self._lock:
            s = self._status
            s["backlog"], s["acked_seq"] = r.backlog, r.acked or s["acked_seq"]
            if r.outcome in ("retry", "refused", "error") or error:
                s["last_error"] = error or r.message
                s["next_retry_at"] = time.time() + r.delay
            elif r.outcome == "sent":
                s["last_error"], s["next_retry_at"] = None, None
            if self._store is not None:
                try:
                    q = self._quarantine()
                except sqlite3.Error:
                    q = []
                s["quarantine"] = [{k: p[k] for k in ("first", "last", "status", "message", "at")} | {"rows": len(p["rows"])}
                                   for p in q]
                s["quarantine_message"] = (f"{sum(len(p['rows']) for p in q)} row(s) parked: hub said "
                                           f"{q[-1]['status']} {q[-1]['message']}") if q else None
        return r
