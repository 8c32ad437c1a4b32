"""What the uploader and the updater share: their own store and hub client, and the loop."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx

from gatekeeper.gate.client import HubClient
from gatekeeper.gate.config import SyncSettings
from gatekeeper.gate.store import Store
from gatekeeper.verify import PrivateKey, PublicKey

log = logging.getLogger("gatekeeper.sync")


class _Step(Protocol):
    delay: float


class SyncPart(ABC):
    """A background part of the daemon with its own :class:`Store` and :class:`HubClient`.

    Both are made on first use, in the thread that runs the part: SQLite connections and httpx
    clients are not shared across threads here.
    """

    def __init__(self, store_path: str | Path, authority: PublicKey, settings: SyncSettings,
                 device_key: PrivateKey, gate_id: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.store_path, self.authority, self.settings = Path(store_path), authority, settings
        self.device_key, self.gate_id, self.transport = device_key, gate_id, transport
        self._store: Store | None = None
        self._client: HubClient | None = None
        self._attempt = 0
        self._lock = threading.Lock()
        #: Makes the gate report sent with every request (the daemon sets it); None: no report.
        self.report: Callable[[], str | None] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.store_path, self.authority)
        return self._store

    @property
    def client(self) -> HubClient:
        if self._client is None:
            self._client = HubClient(self.settings.hub_url, self.device_key, self.settings.timeout, self.transport,
                                     self.report)
        return self._client

    def close(self) -> None:
        for r in (self._client, self._store):
            if r is not None:
                r.close()
        self._client = self._store = None

    @abstractmethod
    def step(self) -> _Step:
        """One unit of work (an upload, a poll); its ``delay`` says when to come back."""

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; never raises (every failure is in ``status()``)."""
        try:
            while not stop.is_set():
                try:
                    delay = self.step().delay
                except Exception:  # an unforeseen failure must not end sync for the daemon's lifetime
                    log.exception("%s failed; starting again with a new store connection and client",
                                  type(self).__name__)
                    self.close()
                    delay = self.settings.backoff_cap
                stop.wait(delay)
        finally:
            self.close()
