"""The daemon's health: /metrics gauges follow the store on the daemon's own tick, with nobody reading
/status, and reading /status opens no store connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

import gatekeeper.gate.daemon as daemon_module
from gatekeeper.gate.checkpoint import load_authority
from gatekeeper.gate.config import load_settings
from gatekeeper.gate.daemon import Daemon, DaemonOptions, EventSink
from gatekeeper.gate.store import Store
from gatekeeper.scan import ArraySource
from gatekeeper.scan.synthetic import render_scene
from tests.kit.core import wait_until
from tests.kit.gate import GateSite
from tests.kit.hub import log_row


def backlog_gauge(url: str) -> float | None:
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("gatekeeper_log_backlog_rows "):
            return float(line.split()[1])
    return None


@pytest.fixture
def running(gate_site: GateSite) -> Iterator[Daemon]:
    settings = load_settings(gate_site.config)
    blank = render_scene(None, rng=np.random.default_rng(1))
    daemon = Daemon(settings, EventSink(None), DaemonOptions(source=ArraySource([blank] * 3, fps=30),
                                                             pin_factory=MockFactory(), sync=False))
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        assert daemon.ready.wait(15)
        yield daemon
    finally:
        daemon.stop()
        runner.join(10)
    assert not runner.is_alive()


def test_metrics_follow_the_store_without_anyone_reading_status(running: Daemon, gate_site: GateSite) -> None:
    settings = running.settings
    url = running.display.url
    assert wait_until(lambda: backlog_gauge(url) == 0, 10)
    with Store(settings.path(settings.device.store), load_authority(settings)) as store:
        store.log(log_row())
        store.log(log_row())
    # only /metrics is read: the daemon's tick, not a /status request, moved the gauge
    assert wait_until(lambda: backlog_gauge(url) == 2, 10)


def test_status_opens_no_store(running: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_new_store(*args: object, **kw: object) -> Store:
        raise AssertionError("status() opened a store connection")

    monkeypatch.setattr(daemon_module, "Store", no_new_store)
    for _ in range(20):
        s = running.status()
    assert s["log_backlog"] == 0 and s["gate_id"] == "test-gate" and s["trust_version"] == 1
    assert httpx.get(running.display.url + "/status").json()["log_backlog"] == 0
