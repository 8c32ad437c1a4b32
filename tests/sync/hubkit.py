"""Helpers for sync tests: a hub subprocess, a PostgreSQL cluster, devices and log rows."""


from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from gatekeeper.config import DeviceSettings, Settings, SyncSettings
from gatekeeper.site import Site
from gatekeeper.store import Store
from gatekeeper.sync.boot import boot_id
from gatekeeper.sync.enrolment import enrol
from gatekeeper.sync.hubstore import HubStore
from gatekeeper.verify import PrivateKey

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """``gatekeeper hub serve`` in a subprocess: start, SIGKILL, restart on the same port."""

    def __init__(self, db_url: str, site_dir: Path | None, port: int | None = None) -> None:
        self.db_url, self.site_dir, self.port = db_url, site_dir, port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HubProcess":
        cmd = [sys.executable, "-c", "from gatekeeper.cli import main; main()", "hub", "serve",
               "--db", self.db_url, "--port", str(self.port)]
        if self.site_dir:
            cmd += ["--site", str(self.site_dir)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.proc.stderr.read().decode()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("hub did not start in 20 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, like a power cut of the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


# --- PostgreSQL ---------------------------------------------------------------------------------
@dataclass
class PgCluster:
    root: Path
    port: int

    def url(self, db: str) -> str:
        return f"postgresql://gk@127.0.0.1:{self.port}/{db}"


def as_postgres(cmd: str) -> list[str]:
    # initdb refuses to run as root: run the cluster as the postgres user when we are root.
    return ["su", "postgres", "-s", "/bin/sh", "-c", cmd] if os.geteuid() == 0 else ["/bin/sh", "-c", cmd]


def new_pg_database(cluster: PgCluster) -> str:
    import psycopg
    name = "gk_" + uuid.uuid4().hex[:12]
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)


# --- site, hub, devices -------------------------------------------------------------------------
@dataclass
class Device:
    """A device: its key, its store (with the site's lists), and settings pointing at the hub."""

    key: PrivateKey
    store_path: Path
    site: Site
    settings: Settings
    gate_id: str

    def store(self) -> Store:
        return Store(self.store_path, self.site.authority_public)

    def sync_args(self) -> tuple:
        return (self.store_path, self.site.authority_public, self.settings.sync, self.key, self.gate_id)


def make_device(tmp_path: Path, site: Site, hub_url: str, gate_id: str = "gate-1", **sync) -> Device:
    root = tmp_path / f"device-{uuid.uuid4().hex[:6]}"
    (root / "keys").mkdir(parents=True)
    (root / "keys" / "authority.pub").write_bytes(site.authority_public.to_pem())
    key = PrivateKey.generate()
    (root / "keys" / "device.key").write_bytes(key.to_pem())
    settings = Settings(device=DeviceSettings(gate_id=gate_id, scope=site.scope),
                        sync=SyncSettings(hub_url=hub_url, **sync), base_dir=root)
    store_path = settings.path(settings.device.store)
    with Store(store_path, site.authority_public) as store:
        for f in (site.trust_file(), site.revocation_file()):
            store.apply_list(f.read_bytes())
    return Device(key, store_path, site, settings, gate_id)


def enrolled_device(tmp_path: Path, site: Site, hub: HubProcess, gate_id: str = "gate-1", **sync) -> Device:
    dev = make_device(tmp_path, site, hub.url, gate_id, **sync)
    store = HubStore.open(hub.db_url)
    try:
        token = store.create_enrol_token(gate_id, 600)
    finally:
        store.close()
    enrol(hub.url, token, gate_id, dev.key)
    return dev


def log_row(at: float | None = None, pass_id: str | None = "ab" * 12, allow: bool = True, **extra) -> dict:
    t = time.time() if at is None else at
    row = {"kind": "scan", "allow": int(allow), "reason": "ok" if allow else "revoked", "pass_id": pass_id,
           "issuer": "00" * 8, "scope": "demo", "status": "green", "label": "A-101", "at": t, "wall": t,
           "mono": time.monotonic(), "boot_id": boot_id(), "clock_trusted": 1, "list_stale": 0, "list_version": 1,
           "latency_ms": 2.5}
    row.update(extra)
    return row


def fill_log(store: Store, n: int, start: float | None = None) -> None:
    """``n`` rows in one transaction (the daemon writes one at a time; tests need volume fast)."""
    base = time.time() - n * 0.01 if start is None else start
    rows = [log_row(at=base + i * 0.01, pass_id=f"{i:024x}") for i in range(n)]
    cols = list(rows[0])
    with store._tx():
        store.conn.executemany(f"INSERT INTO passage_log ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                               [tuple(r[c] for c in cols) for r in rows])
