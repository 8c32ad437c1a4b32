"""Retention: the hub keeps passage-log rows (and gate state changes) for a set period, then drops them.

Pruning runs in the hub's background once at start and then daily, in small transactions of
:data:`CHUNK` rows, so uploads and searches never wait long behind it. Rows go by their decision
time ``at``. docs/operations.md says who sees what, and for how long.
"""

from __future__ import annotations

import logging
import threading
import time

from gatekeeper.hub.database import Database
from gatekeeper.hub.gates import GateHealth
from gatekeeper.hub.passages import Passages

log = logging.getLogger("gatekeeper.hub.retention")

DAY = 86400.0
DEFAULT_RETENTION_S = 180 * DAY
CHUNK = 1000


def prune(db: Database, passages: Passages, gates: GateHealth, keep_s: float, now: float | None = None,
          chunk: int = CHUNK) -> int:
    """Drop passage rows decided more than ``keep_s`` ago, ``chunk`` rows a transaction; how many."""
    cutoff = (time.time() if now is None else now) - keep_s
    dropped = 0
    while True:
        with db.transaction() as tx:
            n = tx.run("DELETE FROM passage_log WHERE (device_id, seq) IN (SELECT device_id, seq FROM passage_log "
                       "WHERE at<? ORDER BY at LIMIT ?)", (cutoff, chunk))
            if n < chunk:
                passages.prune_counts(tx)
        dropped += n
        if n < chunk:
            break
    gates.prune_events(cutoff)
    return dropped


def run(stop: threading.Event, db: Database, passages: Passages, gates: GateHealth, keep_s: float,
        every: float = DAY) -> None:
    """Prune now, then every ``every`` seconds, until ``stop``; never raises."""
    while True:
        try:
            n = prune(db, passages, gates, keep_s)
            if n:
                log.info("retention: dropped %d passage rows older than %.0f days", n, keep_s / DAY)
        except Exception:  # a database hiccup must not end retention for the hub's lifetime
            log.exception("retention pruning failed; trying again at the next run")
        if stop.wait(every):
            return
