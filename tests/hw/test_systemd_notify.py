"""sd_notify over a real datagram socket, path and abstract namespace."""

from __future__ import annotations

import os
import socket

import pytest

from gatekeeper.gate.systemd_notify import notify, watchdog_seconds


@pytest.mark.parametrize("abstract", [False, True])
def test_notify_sends_datagram(tmp_path, monkeypatch, abstract):
    name = f"gk-test-{os.getpid()}" if abstract else str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name if abstract else name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name if abstract else name)
        assert notify("READY=1")
        assert server.recv(100) == b"READY=1"
        assert notify("WATCHDOG=1")
        assert server.recv(100) == b"WATCHDOG=1"


def test_notify_without_systemd(monkeypatch, tmp_path):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert notify("READY=1") is False


def test_watchdog_seconds(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_seconds() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_seconds() is None  # meant for another process
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_seconds() is None
