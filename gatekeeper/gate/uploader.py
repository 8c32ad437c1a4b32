"""The uploader: ships the passage log to the hub in batches, exactly once in effect.

The device's watermark (state ``sync.acked``) is the hub's last ack: every row up to it is held by
the hub. A batch is rows above the watermark, bounded by rows and bytes, gzip'd, signed. A resend
after a lost reply is harmless (the hub stores by device and seq). Only acknowledged rows are ever
pruned, after ``retention``.

Failures: connection errors, 408, 429 and 5xx are retried with full-jitter backoff (cap from
``[sync] backoff_cap``), never sooner than ``Retry-After``. 413 halves the batch. 401/403 (the hub
does not accept this device) wait at the cap, rows untouched. Any other 4xx parks the batch in the
quarantine (the store's ``quarantine`` tables: the range, the hub's message and a copy of the rows)
and declares the parked range to the hub, so one bad row cannot stop every row behind it. The
watermark never passes the last row sent: an ack above it (a confused or hostile hub) is not
believed, or the rows between would never be sent. See docs/sync-protocol.md.
"""

from __future__ import annotations

import enum
import errno
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import ValidationError

from gatekeeper.gate.backoff import Outcome, next_delay, outcome_of, retry_after
from gatekeeper.gate.boot import boot_id
from gatekeeper.gate.config import SyncSettings
from gatekeeper.gate.store import Parked, Store
from gatekeeper.gate.syncpart import SyncPart
from gatekeeper.verify import PrivateKey, PublicKey
from gatekeeper.wire import PATH_LOG, Ack, encode_batch, take_within

K_ACKED = "sync.acked"
#: Below this much free space on the store's file system, status() raises the disk alarm.
MIN_FREE_BYTES = 64 * 1024 * 1024
#: The end of every disk alarm: what happens to the log meanwhile.
KEPT = "acknowledged rows are pruned after the retention period, unacknowledged rows are kept"
#: Pruning runs at most this often.
PRUNE_EVERY_S = 600.0


def unacknowledged(store: Store) -> int:
    """Rows of the passage log the hub has not acknowledged yet (the backlog)."""
    return store.log_count_after(int(store.get_state(K_ACKED) or 0))


class UploadOutcome(enum.StrEnum):
    """What one upload step did."""

    IDLE = "idle"  # nothing to send
    SENT = "sent"
    RETRY = "retry"  # hub unreachable or busy
    REFUSED = "refused"  # 401/403: device not accepted
    QUARANTINED = "quarantined"
    ERROR = "error"  # a local failure, such as a full disk


#: Outcomes that are failures: the status page shows the message and when the next try is.
FAILED = frozenset({UploadOutcome.RETRY, UploadOutcome.REFUSED, UploadOutcome.ERROR})


@dataclass(frozen=True)
class UploadResult:
    """What one :meth:`Uploader.run_once` did; ``delay``: seconds until the next attempt."""

    outcome: UploadOutcome
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
            return self._note(UploadResult(UploadOutcome.IDLE, delay=self.settings.upload_interval,
                                           message="no hub_url"))
        try:
            self._check_disk()
            self._prune()
            return self._note(self._send_one())
        except (sqlite3.Error, OSError) as e:  # a full disk, a locked file: an alarm, the gate keeps deciding
            if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or getattr(e, "errno", None) == errno.ENOSPC:
                with self._lock:
                    self._status["disk_alarm"] = f"disk full: the device store cannot write ({e}); {KEPT}"
            return self._note(UploadResult(UploadOutcome.ERROR, delay=self.settings.upload_interval,
                                           message=f"device store: {e}"), error=f"device store: {e}")

    def status(self) -> dict:
        """For the status page, under one key: backlog, last ack, quarantine, last error, next retry,
        disk alarm."""
        with self._lock:
            return {"upload": json.loads(json.dumps(self._status))}

    # --- steps ------------------------------------------------------------------------------------
    def _acked(self) -> int:
        return int(self.store.get_state(K_ACKED) or 0)

    def _send_one(self) -> UploadResult:
        acked = self._acked()
        parked = self.store.parked(above=acked)
        rows = self.store.log_rows(acked, self._max_rows)
        rows = [r for r in rows if not any(p.first <= r["seq"] <= p.last for p in parked)]
        encoded = take_within(rows, self.settings.batch_max_bytes)
        rows = rows[:len(encoded)]
        last_row = rows[-1]["seq"] if rows else 0
        # A parked range is declared in the batch that covers it: below the last row sent, or
        # on its own when no row follows it yet.
        declare = [p for p in parked if p.last < last_row] if rows else parked[:1]
        if not rows and not declare:
            return UploadResult(UploadOutcome.IDLE, acked=acked, backlog=0, delay=self.settings.upload_interval)
        last = max([last_row] + [p.last for p in declare])
        body = encode_batch(acked, last, encoded, time.monotonic(), boot_id(),
                            [{"first": p.first, "last": p.last, "status": p.status, "message": p.message}
                             for p in declare])
        reply = self.client.request("POST", PATH_LOG, body,
                                    {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        outcome = outcome_of(reply.status)
        if outcome is Outcome.OK:
            try:
                ack = Ack.model_validate_json(reply.body)
            except ValidationError:  # a proxy's page, a truncated reply: not an ack, so try again
                outcome = Outcome.RETRY
            else:
                return self._acknowledged(ack, len(rows), last)
        code, message = reply.problem() if reply.status else ("unreachable", reply.error)
        hub_says = f"hub {reply.status or 'unreachable'}: {message or code}"
        if outcome is Outcome.RETRY:
            self._attempt += 1
            after = retry_after(reply.headers.get("retry-after"), time.time())
            return self._later(UploadOutcome.RETRY, next_delay(self._attempt, self.settings.backoff_cap, after),
                               hub_says)
        if outcome is Outcome.REFUSED_IDENTITY:
            self._attempt += 1
            return self._later(UploadOutcome.REFUSED, self.settings.backoff_cap, hub_says)
        if outcome is Outcome.TOO_LARGE and len(rows) > 1:
            self._max_rows = max(1, len(rows) // 2)
            return UploadResult(UploadOutcome.RETRY, delay=0, message=hub_says,
                                backlog=self.store.log_count_after(acked))
        if not rows:  # the hub refuses even a declaration: nothing to park, wait at the cap
            return self._later(UploadOutcome.REFUSED, self.settings.backoff_cap, hub_says)
        self.store.park(rows, reply.status, (message or code)[:500], time.time())
        self._max_rows = self.settings.batch_max_rows
        return UploadResult(UploadOutcome.QUARANTINED, delay=0, message=hub_says,
                            backlog=self.store.log_count_after(acked))

    def _acknowledged(self, ack: Ack, sent: int, last: int) -> UploadResult:
        # The hub's ack is the truth when it is lower (a hub restored from a backup): the rows above
        # it are still here (only acknowledged rows are pruned), and are sent again. It is not when
        # it is above the last row this batch covered: no hub can hold rows it was never sent.
        acked = min(ack.ack, last)
        self.store.set_state(K_ACKED, acked)
        self._attempt = 0
        self._max_rows = self.settings.batch_max_rows
        backlog = self.store.log_count_after(acked)
        with self._lock:
            self._status["last_ack_at"] = time.time()
            self._status["conflicts_flagged"] += len(ack.conflicts)
        return UploadResult(UploadOutcome.SENT, sent=sent, acked=acked, backlog=backlog,
                            delay=0 if backlog else self.settings.upload_interval, conflicts=list(ack.conflicts))

    def _later(self, outcome: UploadOutcome, delay: float, message: str) -> UploadResult:
        acked = self._acked()
        return UploadResult(outcome, acked=acked, backlog=self.store.log_count_after(acked), delay=delay,
                            message=message)

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
            if r.outcome in FAILED or error:
                s["last_error"] = error or r.message
                s["next_retry_at"] = time.time() + r.delay
            elif r.outcome is UploadOutcome.SENT:
                s["last_error"], s["next_retry_at"] = None, None
            if self._store is not None:
                try:
                    q: list[Parked] = self._store.parked()
                except sqlite3.Error:
                    q = []
                s["quarantine"] = [{"first": p.first, "last": p.last, "status": p.status, "message": p.message,
                                    "at": p.at, "rows": p.rows} for p in q]
                s["quarantine_message"] = (f"{sum(p.rows for p in q)} row(s) parked: hub said "
                                           f"{q[-1].status} {q[-1].message}") if q else None
        return r
