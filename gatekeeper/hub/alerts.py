"""Alerts: each gate state change, POSTed as signed JSON to a webhook, retried with backoff.

Delivery runs in its own thread and never blocks a request: a state change is a row in
``gate_events`` (delivery ``pending``); the deliverer claims due rows, POSTs them, and marks them
``sent``, or tries again after ``min(2^attempts, 3600)`` seconds (with jitter) up to
:data:`MAX_ATTEMPTS`, then ``failed``. Delivery is at least once: receivers drop repeats by
``event_id``.

The signature: ``GK-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, TIME "." BODY)>`` with
``GK-Webhook-Time: TIME`` (Unix seconds). A receiver recomputes it over the raw body and refuses
a time far from its own clock (a replayed alert).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import tzinfo

import httpx

from gatekeeper.hub.database import Database
from gatekeeper.hub.gates import Delivery, GateEvent, event_of
from gatekeeper.isotime import local_iso

log = logging.getLogger("gatekeeper.hub.alerts")

H_WEBHOOK_SIGNATURE = "GK-Webhook-Signature"
H_WEBHOOK_TIME = "GK-Webhook-Time"
MAX_ATTEMPTS = 16
BACKOFF_CAP_S = 3600.0
#: A claimed event is left to the claimer this long (a replica that died mid-POST hands it back).
CLAIM_S = 60.0


@dataclass(frozen=True)
class Webhook:
    """Where alerts go, and the shared secret that signs them."""

    url: str
    secret: bytes


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``GK-Webhook-Signature`` value for ``body`` sent at ``timestamp``."""
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def payload(event: GateEvent, zone: tzinfo) -> dict:
    """The JSON an alert carries."""
    return {"event": "gate_state", "event_id": event.event_id, "gate_id": event.gate_id,
            "at": local_iso(event.at, zone), "state": event.new_state.value,
            "previous_state": event.old_state.value if event.old_state else None, "reasons": list(event.reasons)}


def backoff(attempts: int) -> float:
    return min(2.0 ** attempts, BACKOFF_CAP_S) * random.uniform(0.5, 1.0)


class Deliverer:
    """Sends pending alerts; :meth:`run` in a thread, woken by :attr:`wake` when an event is written."""

    def __init__(self, db: Database, webhook: Webhook, zone: tzinfo, timeout: float = 5.0) -> None:
        self.db, self.webhook, self.zone = db, webhook, zone
        self.wake = threading.Event()
        self.http = httpx.Client(timeout=timeout, headers={"User-Agent": "gatekeeper-hub"})

    def deliver_due(self, now: float | None = None) -> int:
        """POST every due event once; how many were delivered."""
        now = time.time() if now is None else now
        rows = self.db.all("SELECT event_id, gate_id, at, old_state, new_state, reasons, delivery, attempts, "
                           "next_try FROM gate_events WHERE delivery=? AND next_try<=? ORDER BY at LIMIT 50",
                           (Delivery.PENDING.value, now))
        sent = 0
        for row in rows:
            event, attempts, due = event_of(row[:7]), row[7], row[8]
            with self.db.transaction() as tx:  # claim it: only one replica sends it
                if tx.run("UPDATE gate_events SET next_try=? WHERE event_id=? AND delivery=? AND next_try=?",
                          (now + CLAIM_S, event.event_id, Delivery.PENDING.value, due)) != 1:
                    continue
            error = self._post(event)
            attempts += 1
            with self.db.transaction() as tx:
                if error is None:
                    tx.run("UPDATE gate_events SET delivery=?, attempts=?, last_error=NULL WHERE event_id=?",
                           (Delivery.SENT.value, attempts, event.event_id))
                    sent += 1
                else:
                    failed = attempts >= MAX_ATTEMPTS
                    log.warning("alert %s to %s failed (attempt %d%s): %s", event.event_id, self.webhook.url,
                                attempts, ", giving up" if failed else "", error)
                    tx.run("UPDATE gate_events SET delivery=?, attempts=?, next_try=?, last_error=? WHERE event_id=?",
                           ((Delivery.FAILED if failed else Delivery.PENDING).value, attempts,
                            time.time() + backoff(attempts), error[:500], event.event_id))
        return sent

    def _post(self, event: GateEvent) -> str | None:
        body = json.dumps(payload(event, self.zone), ensure_ascii=False, separators=(",", ":")).encode()
        ts = int(time.time())
        try:
            r = self.http.post(self.webhook.url, content=body, headers={
                "Content-Type": "application/json", H_WEBHOOK_TIME: str(ts),
                H_WEBHOOK_SIGNATURE: signature(self.webhook.secret, ts, body)})
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        """Deliver until ``stop``: at once when woken, else every ``every`` seconds (retries, other replicas)."""
        try:
            while not stop.is_set():
                self.wake.wait(every)
                self.wake.clear()
                try:
                    self.deliver_due()
                except Exception:  # a database hiccup must not end delivery for the hub's lifetime
                    log.exception("alert delivery failed; trying again")
        finally:
            self.http.close()
