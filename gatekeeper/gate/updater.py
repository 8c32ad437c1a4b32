"""The updater: keeps the device's trust and revocation lists current from the hub.

One signed request per poll carries the versions the device holds and their ETag: an unchanged
state costs one small 304. Changed lists arrive as a CBOR array of signed list files, applied in
order through :meth:`gatekeeper.gate.store.Store.apply_list` (the code ``gatekeeper lists apply`` runs).
A delta that does not fit the cached version makes the updater ask once for the full snapshot.
Freshness is renewed only by the hub's signed freshness statement (gatekeeper.wire.freshness).
"""

from __future__ import annotations

import enum
import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import cbor2
import httpx

from gatekeeper.gate.backoff import Outcome, next_delay, outcome_of, retry_after
from gatekeeper.gate.client import Reply
from gatekeeper.gate.config import SyncSettings
from gatekeeper.gate.syncpart import SyncPart
from gatekeeper.verify import ListError, PrivateKey, PublicKey
from gatekeeper.wire import H_FRESHNESS, PATH_LISTS, etag, read_freshness

#: Polls are spread over ±20 % of the interval so gates that booted together drift apart.
JITTER = 0.2


class UpdateOutcome(enum.StrEnum):
    """What one poll did."""

    UNCHANGED = "unchanged"  # 304, or a 200 with nothing new
    APPLIED = "applied"
    RETRY = "retry"  # hub unreachable or busy
    REFUSED = "refused"  # the hub refused the request, or a list failed verification: cache unchanged
    ERROR = "error"  # a local store failure


#: Outcomes that are failures: the status page shows the message as the last error.
FAILED = frozenset({UpdateOutcome.RETRY, UpdateOutcome.REFUSED, UpdateOutcome.ERROR})


@dataclass(frozen=True)
class UpdateResult:
    """What one :meth:`Updater.poll_once` did; ``applied`` names each list applied."""

    outcome: UpdateOutcome
    applied: list[str] = field(default_factory=list)
    fresh_at: float | None = None
    delay: float = 0.0
    message: str = ""


class Updater(SyncPart):
    """Polls the hub for list changes and applies them to the store at ``store_path``."""

    def __init__(self, store_path: str | Path, authority: PublicKey, settings: SyncSettings,
                 device_key: PrivateKey, gate_id: str, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(store_path, authority, settings, device_key, gate_id, transport=transport)
        self._status: dict = {"last_poll_at": None, "last_change_at": None, "last_error": None,
                              "next_poll_at": None, "trust_version": None, "revocation_version": None,
                              "list_checked_at": None, "signed_time": None, "note": None}

    def status(self) -> dict:
        """For the status page, under one key: versions, when last confirmed, last error, next poll."""
        with self._lock:
            return {"lists_sync": json.loads(json.dumps(self._status))}

    def step(self) -> UpdateResult:
        return self.poll_once()

    def poll_once(self) -> UpdateResult:
        """One poll: 304, or apply what the hub sends; records the outcome for :meth:`status`."""
        if not self.settings.hub_url:
            return UpdateResult(UpdateOutcome.REFUSED, delay=self.settings.poll_interval, message="no hub_url")
        try:
            return self._note(self._poll())
        except sqlite3.Error as e:
            return self._note(UpdateResult(UpdateOutcome.ERROR, delay=self.settings.poll_interval,
                                           message=f"device store: {e}"))

    # --- steps ------------------------------------------------------------------------------------
    def _interval(self) -> float:
        return self.settings.poll_interval * random.uniform(1 - JITTER, 1 + JITTER)

    def _poll(self) -> UpdateResult:
        s = self.store.list_status()
        have = (s.trust_version or 0, s.revocation_version or 0)
        reply = self._get(*have)
        outcome = outcome_of(reply.status)
        if outcome is not Outcome.OK:
            return self._failed(reply, outcome)
        applied: list[str] = []
        if reply.status == 200:
            try:
                applied = self._apply(reply.body)
            except ListError as e:
                # Most often a delta that does not fit the cached version: take the full snapshot.
                reply = self._get(have[0], 0)
                if reply.status != 200:
                    return self._failed(reply, outcome_of(reply.status))
                try:
                    applied = self._apply(reply.body)
                except ListError as e2:
                    return UpdateResult(UpdateOutcome.REFUSED, delay=self._interval(),
                                        message=f"list refused, cache unchanged: {e2} (first try: {e})")
        self._attempt = 0
        fresh_at, note = self._confirm(reply)
        return UpdateResult(UpdateOutcome.APPLIED if applied else UpdateOutcome.UNCHANGED, applied, fresh_at,
                            self._interval(), note)

    def _get(self, trust: int, revocations: int) -> Reply:
        return self.client.request("GET", f"{PATH_LISTS}?trust={trust}&revocations={revocations}",
                                   headers={"If-None-Match": etag(trust, revocations)})

    def _apply(self, body: bytes) -> list[str]:
        try:
            files = cbor2.loads(body)
        except Exception:  # noqa: BLE001 -- hostile bytes raise many cbor2 error types; all mean "malformed"
            raise ListError("hub reply is not CBOR") from None
        if not isinstance(files, list) or not all(isinstance(f, bytes) for f in files):
            raise ListError("hub reply is not an array of list files")
        applied = []
        for data in files:
            r = self.store.apply_list(data)
            applied.append(f"{r.kind} v{r.version}")
        return applied

    def _confirm(self, reply: Reply) -> tuple[float | None, str]:
        """Renew the list's freshness from the hub's signed statement, when it holds our versions."""
        header = reply.headers.get(H_FRESHNESS)
        if not header:
            return None, "the hub sent no signed time: the list's age is not renewed"
        try:
            fresh = read_freshness(header, self.authority)
        except ListError as e:
            return None, f"freshness statement refused: {e}"
        s = self.store.list_status()
        if (fresh.trust, fresh.revocations) != (s.trust_version or 0, s.revocation_version or 0):
            return None, "the hub's signed versions differ from the cached ones: the next poll catches up"
        self.store.confirm_revocations_current(fresh.at)
        self.store.raise_time_floor(fresh.at)
        return float(fresh.at), ""

    def _failed(self, reply: Reply, outcome: Outcome) -> UpdateResult:
        code, message = reply.problem() if reply.status else ("unreachable", reply.error)
        text = f"hub {reply.status or 'unreachable'}: {message or code}"
        self._attempt += 1
        if outcome is Outcome.RETRY:
            after = retry_after(reply.headers.get("retry-after"), time.time())
            delay = min(next_delay(self._attempt, self.settings.backoff_cap, after),
                        max(self.settings.poll_interval, after or 0))
            return UpdateResult(UpdateOutcome.RETRY, delay=delay, message=text)
        return UpdateResult(UpdateOutcome.REFUSED, delay=self.settings.backoff_cap, message=text)

    def _note(self, r: UpdateResult) -> UpdateResult:
        now = time.time()
        try:
            s = self.store.list_status()
        except sqlite3.Error:
            s = None
        with self._lock:
            st = self._status
            st["last_poll_at"] = now
            st["next_poll_at"] = now + r.delay
            if r.applied:
                st["last_change_at"] = now
            failed = r.outcome in FAILED
            st["last_error"] = r.message if failed else None
            st["note"] = None if failed else (r.message or None)
            if r.fresh_at is not None:
                st["signed_time"] = r.fresh_at
            if s is not None:
                st["trust_version"], st["revocation_version"] = s.trust_version, s.revocation_version
                st["list_checked_at"] = s.revocation_checked_at
        return r
