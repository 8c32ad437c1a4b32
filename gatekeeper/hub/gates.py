"""The gates' health: the latest report of each gate, its state, and the history of state changes.

A gate reports how it is with every signed request (:mod:`gatekeeper.wire.report`); the hub keeps
the latest report per gate and judges it: ``ok``, ``warning`` (an alarm, a stale list, an untrusted
clock, a backlog that is not draining) or ``offline`` (no contact for 3 of the gate's poll
intervals). Every change of state is an event (table ``gate_events``) for the dashboard and, when
a webhook is configured, for :mod:`gatekeeper.hub.alerts`. A state change is written with a
conditional UPDATE, so hub replicas on one PostgreSQL database record each change once.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.admin import Site
from gatekeeper.hub.database import Database, Tx
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import EnrolmentQR, GateReport, decode_report, make_bundle

log = logging.getLogger("gatekeeper.hub.gates")

SCHEMA = [
    ("CREATE TABLE IF NOT EXISTS gate_health (gate_id TEXT PRIMARY KEY, device_id TEXT NOT NULL,"
     " last_seen DOUBLE PRECISION NOT NULL, report TEXT, report_at DOUBLE PRECISION, prev_backlog BIGINT,"
     " state TEXT NOT NULL, reasons TEXT NOT NULL, state_since DOUBLE PRECISION NOT NULL)"),
    # delivery: 'none' (no webhook configured when it happened), 'pending', 'sent', 'failed'
    ("CREATE TABLE IF NOT EXISTS gate_events (event_id TEXT PRIMARY KEY, gate_id TEXT NOT NULL,"
     " at DOUBLE PRECISION NOT NULL, old_state TEXT, new_state TEXT NOT NULL, reasons TEXT NOT NULL,"
     " delivery TEXT NOT NULL, attempts BIGINT NOT NULL, next_try DOUBLE PRECISION, last_error TEXT)"),
    "CREATE INDEX IF NOT EXISTS gate_events_gate ON gate_events (gate_id, at)",
    "CREATE INDEX IF NOT EXISTS gate_events_at ON gate_events (at)",
    "CREATE INDEX IF NOT EXISTS gate_events_due ON gate_events (delivery, next_try)",
]

#: A gate's contact is written at most this often per hub process (a busy uploader calls often).
CONTACT_EVERY_S = 1.0


class GateState(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    OFFLINE = "offline"


class Why(enum.StrEnum):
    """Why a gate is not ``ok``; an alarm is ``alarm:<code>`` with the gate's alarm code."""

    ALARM = "alarm"
    LIST_STALE = "list_stale"
    CLOCK_UNTRUSTED = "clock_untrusted"
    BACKLOG = "backlog"
    NO_CONTACT = "no_contact"


class Delivery(enum.StrEnum):
    NONE = "none"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class HealthPolicy:
    """How the hub judges gates. ``offline_after`` (seconds) overrides ``offline_polls`` poll intervals."""

    offline_after: float | None = None
    offline_polls: int = 3
    default_poll_interval: float = 300.0
    backlog_rows: int = 1000

    def offline_threshold(self, report: GateReport | None) -> float:
        if self.offline_after is not None:
            return self.offline_after
        interval = report.poll_interval if report and report.poll_interval else self.default_poll_interval
        return self.offline_polls * interval


def assess(report: GateReport | None, prev_backlog: int | None,
           policy: HealthPolicy) -> tuple[GateState, tuple[str, ...]]:
    """The state of a gate just heard from, and why. A backlog warns when it is over
    ``policy.backlog_rows`` and not smaller than at the gate's previous report (not draining)."""
    if report is None:
        return GateState.OK, ()
    reasons = [f"{Why.ALARM}:{a}" for a in report.alarms]
    if report.list_stale:
        reasons.append(Why.LIST_STALE.value)
    if not report.clock_trusted:
        reasons.append(Why.CLOCK_UNTRUSTED.value)
    if report.log_backlog > policy.backlog_rows and prev_backlog is not None and report.log_backlog >= prev_backlog:
        reasons.append(Why.BACKLOG.value)
    return (GateState.WARNING if reasons else GateState.OK), tuple(reasons)


@dataclass(frozen=True)
class GateView:
    """One enrolled gate as the console and the API show it."""

    gate_id: str
    device_ids: tuple[str, ...]
    enrolled_at: float
    last_seen: float | None
    state: GateState
    reasons: tuple[str, ...]
    state_since: float | None
    report: GateReport | None

    def api(self) -> dict:
        """The ``GET /v1/admin/gates`` item: exactly the fields the API names."""
        r = self.report
        return {"gate_id": self.gate_id, "last_seen": self.last_seen, "state": self.state.value,
                "software_version": r.software_version if r else None,
                "trust_version": r.trust_version if r else None,
                "revocation_version": r.revocation_version if r else None,
                "list_age_seconds": r.list_age_seconds if r else None,
                "clock_trusted": r.clock_trusted if r else None,
                "log_backlog": r.log_backlog if r else None,
                "alarms": list(r.alarms) if r else []}


@dataclass(frozen=True)
class GateEvent:
    event_id: str
    gate_id: str
    at: float
    old_state: GateState | None
    new_state: GateState
    reasons: tuple[str, ...]
    delivery: Delivery


_EVENT_COLUMNS = "event_id, gate_id, at, old_state, new_state, reasons, delivery"


def event_of(row: tuple) -> GateEvent:
    """A gate_events row (the columns of ``_EVENT_COLUMNS``) as an event."""
    return GateEvent(row[0], row[1], row[2], GateState(row[3]) if row[3] else None, GateState(row[4]),
                     tuple(json.loads(row[5])), Delivery(row[6]))


def _report(text: str | None) -> GateReport | None:
    return GateReport.model_validate_json(text) if text else None


class GateHealth:
    """The gate_health and gate_events tables on the hub's database."""

    def __init__(self, db: Database, policy: HealthPolicy | None = None, alerting: bool = False,
                 on_event: Callable[[], None] | None = None) -> None:
        self.db, self.policy, self.alerting, self.on_event = db, policy or HealthPolicy(), alerting, on_event
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()
        with db.transaction() as tx:
            if db.is_postgres:  # replicas starting together must not race on CREATE TABLE
                tx.run("SELECT pg_advisory_xact_lock(4243)")
            for stmt in SCHEMA:
                tx.run(stmt)

    # --- writing ----------------------------------------------------------------------------------
    def due(self, gate_id: str, now: float) -> bool:
        """Whether a contact from ``gate_id`` at ``now`` is to be written (at most one a second per
        gate, in this process); True marks it written."""
        with self._lock:
            if now - self._written.get(gate_id, -1e18) < CONTACT_EVERY_S:
                return False
            self._written[gate_id] = now
            return True

    def heard(self, device_id: str, gate_id: str, report_text: str | None, now: float | None = None) -> None:
        """A signed request from ``device_id``: record the contact and its report (unreadable: kept out)."""
        now = time.time() if now is None else now
        if self.due(gate_id, now):
            with self.db.transaction() as tx:
                self.record(tx, device_id, gate_id, report_text, now)

    def record(self, tx: Tx, device_id: str, gate_id: str, report_text: str | None, now: float) -> None:
        """Write a contact and its report inside ``tx``: an upload's own transaction, so that a burst
        of gates costs no commit (no fsync) of its own per gate."""
        report = None
        if report_text:
            try:
                report = decode_report(report_text)
            except ValueError as e:
                log.warning("gate %s sent a report the hub cannot read (kept the previous one): %s", gate_id, e)
        tx.run("INSERT INTO gate_health(gate_id, device_id, last_seen, state, reasons, state_since) "
               "VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING", (gate_id, device_id, now, "", "[]", now))
        old_state, old_text, old_backlog = tx.one(
            "SELECT state, report, prev_backlog FROM gate_health WHERE gate_id=?" + tx.for_update, (gate_id,))
        prev = _report(old_text)
        fresh = report is not None
        # a request without a (readable) report keeps the previous one, and its backlog baseline
        report = report if fresh else prev
        baseline = (prev.log_backlog if prev else None) if fresh else old_backlog
        state, reasons = assess(report, baseline, self.policy)
        tx.run("UPDATE gate_health SET device_id=?, last_seen=?, report=?, report_at=COALESCE(?, report_at), "
               "prev_backlog=? WHERE gate_id=?", (device_id, now, report.model_dump_json() if report else None,
                                                  now if fresh else None, baseline, gate_id))
        self._change(tx, gate_id, old_state or None, state, reasons, now)

    def _change(self, tx: Tx, gate_id: str, old: str | None, state: GateState, reasons: tuple[str, ...],
                now: float) -> bool:
        """Move a gate to ``state`` if it is still in ``old``; an event when the state changed."""
        why = json.dumps(list(reasons))
        if old == state.value:
            tx.run("UPDATE gate_health SET reasons=? WHERE gate_id=?", (why, gate_id))
            return False
        if tx.run("UPDATE gate_health SET state=?, reasons=?, state_since=? WHERE gate_id=? AND state=?",
                  (state.value, why, now, gate_id, old or "")) != 1:
            return False
        # a gate's first contact is history, not news: only changes from a known state are sent
        delivery = Delivery.PENDING if self.alerting and old else Delivery.NONE
        tx.run("INSERT INTO gate_events(event_id, gate_id, at, old_state, new_state, reasons, delivery, attempts, "
               "next_try) VALUES (?,?,?,?,?,?,?,?,?)",
               (uuid.uuid4().hex, gate_id, now, old, state.value, why, delivery.value, 0, now))
        if self.on_event is not None:
            self.on_event()
        return True

    def sweep(self, now: float | None = None) -> int:
        """Turn gates not heard from for longer than their threshold ``offline``; how many turned."""
        now = time.time() if now is None else now
        rows = self.db.all("SELECT gate_id, last_seen, report, state FROM gate_health WHERE state<>? AND gate_id IN "
                           "(SELECT gate_id FROM devices WHERE revoked_at IS NULL)", (GateState.OFFLINE.value,))
        turned = 0
        for gate_id, last_seen, text, state in rows:
            report = _report(text)
            if now - last_seen <= self.policy.offline_threshold(report):
                continue
            with self.db.transaction() as tx:
                # still not heard from (another replica may have heard it meanwhile)
                if tx.one("SELECT 1 FROM gate_health WHERE gate_id=? AND last_seen=?" + tx.for_update,
                          (gate_id, last_seen)) and self._change(tx, gate_id, state, GateState.OFFLINE,
                                                                  (Why.NO_CONTACT.value,), now):
                    turned += 1
        return turned

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        """The offline sweep, every ``every`` seconds until ``stop``; never raises."""
        while not stop.wait(every):
            try:
                self.sweep()
            except Exception:  # a database hiccup must not end the sweep for the hub's lifetime
                log.exception("gate sweep failed; trying again")

    # --- reading ----------------------------------------------------------------------------------
    def gates(self) -> list[GateView]:
        """Every gate with an unrevoked device, by gate id."""
        devices: dict[str, list[tuple[str, float]]] = {}
        for dev, gate, enrolled in self.db.all("SELECT device_id, gate_id, enrolled_at FROM devices "
                                               "WHERE revoked_at IS NULL ORDER BY enrolled_at"):
            devices.setdefault(gate, []).append((dev, enrolled))
        health = {r[0]: r[1:] for r in self.db.all(
            "SELECT gate_id, last_seen, report, state, reasons, state_since FROM gate_health")}
        out = []
        for gate in sorted(devices):
            h = health.get(gate)
            ids = tuple(d for d, _ in devices[gate])
            first = devices[gate][0][1]
            if h is None or not h[2]:
                out.append(GateView(gate, ids, first, None, GateState.OFFLINE, (Why.NO_CONTACT.value,), None, None))
            else:
                out.append(GateView(gate, ids, first, h[0], GateState(h[2]), tuple(json.loads(h[3])), h[4],
                                    _report(h[1])))
        return out

    def gate(self, gate_id: str) -> GateView | None:
        return next((g for g in self.gates() if g.gate_id == gate_id), None)

    def history(self, gate_id: str | None = None, limit: int = 50) -> list[GateEvent]:
        """State changes, newest first: of one gate, or of all."""
        where, params = ("WHERE gate_id=? ", [gate_id]) if gate_id else ("", [])
        return [event_of(r) for r in self.db.all(f"SELECT {_EVENT_COLUMNS} FROM gate_events {where}"
                                               "ORDER BY at DESC LIMIT ?", (*params, limit))]

    def prune_events(self, before: float) -> int:
        """Drop state changes older than ``before`` (retention)."""
        with self.db.transaction() as tx:
            return tx.run("DELETE FROM gate_events WHERE at<? AND delivery<>?", (before, Delivery.PENDING.value))


# --- enrolling and revoking gates ------------------------------------------------------------------
@dataclass(frozen=True)
class Enrolment:
    """A one-time token for a new gate and, from a hub with the site, the signed enrolment QR's text."""

    gate_id: str
    token: str
    expires_at: float
    qr_text: str | None


def enrol_gate(store: HubStore, site: Site | None, gate_id: str, hub_url: str, ttl_s: float,
               now: float | None = None) -> Enrolment:
    """A token bound to ``gate_id``; the QR (``gatekeeper provision --scan``) needs the site's authority."""
    now = time.time() if now is None else now
    token = store.create_enrol_token(gate_id, ttl_s, now)
    qr = EnrolmentQR(hub_url, token, gate_id, site.authority_public).text(site.authority) if site else None
    return Enrolment(gate_id, token, now + ttl_s, qr)


def gate_bundle(store: HubStore, site: Site, gate_id: str, hub_url: str) -> tuple[bytes, str]:
    """An offline bundle for ``gate_id`` with a new device key, registered now: (bytes, device id)."""
    key = PrivateKey.generate()
    data = make_bundle(site.authority, key, gate_id, site.scope, site.name, hub_url,
                       [site.trust_file().read_bytes(), site.revocation_file().read_bytes()])
    return data, store.register_device(key.public, gate_id).device_id


def revoke_gate(store: HubStore, gate_id: str) -> list[str]:
    """Revoke every active device of ``gate_id``; their ids (empty: no such gate)."""
    ids = [d["device_id"] for d in store.devices() if d["gate_id"] == gate_id and d["revoked_at"] is None]
    for dev in ids:
        store.revoke_device(dev)
    return ids
