"""Helpers for sync tests: a hub subprocess, a PostgreSQL cluster, devices and log rows."""


from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.admin.site import Site
from gatekeeper.gate.boot import boot_id
from gatekeeper.gate.config import DeviceSettings, Settings, SyncSettings
from gatekeeper.gate.enrolment import enrol
from gatekeeper.gate.store import Store
from gatekeeper.hub.process import HubProcess, free_port
from gatekeeper.hub.store import HubStore
from gatekeeper.verify import PrivateKey
from gatekeeper.wire import PassageRow


# --- PostgreSQL ---------------------------------------------------------------------------------
def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries: ``$GATEKEEPER_PG_BIN``, Debian's
    /usr/lib/postgresql/N/bin, or ``initdb`` on the PATH; None when there are none."""
    if env := os.environ.get("GATEKEEPER_PG_BIN"):
        return Path(env)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                   if p.parts[-3].isdigit() else 0)
    if found:
        return found[-1].parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def _as_server_user() -> tuple[list[str], int | None]:
    """(command prefix, uid) to run the server as: initdb and postgres refuse to run as root, so as
    root they run as the ``postgres`` user (or ``nobody``) through runuser; otherwise as we are."""
    if os.geteuid() != 0:
        return [], None
    import pwd
    for name in ("postgres", "nobody"):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        runner = shutil.which("runuser")
        return ([runner, "-u", name, "--"] if runner else ["su", name, "-s", "/bin/sh", "-c", "exec \"$0\" \"$@\""],
                uid)
    raise RuntimeError("running as root and there is neither a postgres nor a nobody user to run PostgreSQL as")


@dataclass
class PgCluster:
    """A throwaway PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    bin: Path
    root: Path
    port: int
    prefix: list[str]

    def url(self, db: str) -> str:
        return f"postgresql://gk@127.0.0.1:{self.port}/{db}"

    @classmethod
    def start(cls, bin_dir: Path, *, fsync: bool = False, max_connections: int = 300) -> PgCluster:
        """initdb + pg_ctl start; RuntimeError with PostgreSQL's own words when it fails.

        ``fsync=False`` for tests (faster; a test cluster need not survive a power cut); the
        benchmark keeps fsync on, as a deployment would.
        """
        prefix, uid = _as_server_user()
        root = Path(tempfile.mkdtemp(prefix="gk-pg-"))
        if uid is not None:
            os.chown(root, uid, -1)
        port = free_port()
        data = root / "data"
        opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
                + ("" if fsync else " -c fsync=off -c synchronous_commit=off"))
        for cmd in ([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "gk", "-E", "UTF8"],
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", opts, "start"]):
            r = subprocess.run(prefix + cmd, capture_output=True, text=True, check=False)
            if r.returncode != 0:
                log = (root / "log").read_text() if (root / "log").exists() else ""
                shutil.rmtree(root, ignore_errors=True)
                raise RuntimeError(f"{Path(cmd[0]).name} failed: {(r.stderr or r.stdout).strip()} {log.strip()}")
        return cls(bin_dir, root, port, prefix)

    def new_database(self) -> str:
        """A fresh, empty database on the cluster; its URL."""
        import psycopg
        name = "gk_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def on_each_database(run: Callable[[str, str], None], sqlite_url: str, sqlite: bool = True,
                     postgres: bool = True) -> None:
    """``run(label, db_url)`` on SQLite, then on a throwaway PostgreSQL cluster with fsync on (as
    deployed) when the machine has one: how the benchmarks measure both."""
    if sqlite:
        run("sqlite", sqlite_url)
    if not postgres:
        return
    bin_dir = pg_bin()
    if bin_dir is None:
        print("\n[postgresql] skipped: no PostgreSQL server binaries")
        return
    cluster = PgCluster.start(bin_dir, fsync=True)
    try:
        run("postgresql", cluster.new_database())
    finally:
        cluster.stop()


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


def log_row(at: float | None = None, pass_id: str | None = "ab" * 12, allow: bool = True, *, validate: bool = True,
            **extra) -> PassageRow:
    """A passage-log row as the daemon writes it; ``validate=False`` builds one the protocol refuses."""
    t = time.time() if at is None else at
    row = {"kind": "scan", "allow": allow, "reason": "ok" if allow else "revoked", "pass_id": pass_id,
           "issuer": "00" * 8, "scope": "demo", "status": "green", "label": "A-101", "at": t, "wall": t,
           "mono": time.monotonic(), "boot_id": boot_id(), "clock_trusted": True, "list_stale": False,
           "list_version": 1, "latency_ms": 2.5}
    row.update(extra)
    return PassageRow(**row) if validate else PassageRow.model_construct(**row)


def fill_log(store: Store, n: int, start: float | None = None) -> None:
    """``n`` rows in one transaction (the daemon writes one at a time; tests need volume fast)."""
    base = time.time() - n * 0.01 if start is None else start
    rows = [log_row(at=base + i * 0.01, pass_id=f"{i:024x}").columns() for i in range(n)]
    for r in rows:
        del r["seq"]
    cols = list(rows[0])
    with store._tx():
        store.conn.executemany(f"INSERT INTO passage_log ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                               [tuple(r[c] for c in cols) for r in rows])


class CountingRelay:
    """A TCP relay on 127.0.0.1 that counts the bytes each way: what a request really costs on the wire."""

    def __init__(self, target_port: int) -> None:
        import threading
        self.target_port = target_port
        self.sent = self.received = 0  # client->hub, hub->client
        self.connections = 0
        self._pipes_done = 0  # two pipes a connection, each ends when its source closes
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.sent = self.received = self.connections = self._pipes_done = 0

    def idle(self) -> bool:
        """True when every connection made so far has closed both ways: the counts are final."""
        with self._lock:
            return self._pipes_done == 2 * self.connections

    def _accept(self) -> None:
        import threading
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pipe, args=(client, upstream, "sent"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, "received"), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, counter: str) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._pipes_done += 1

    def close(self) -> None:
        self._server.close()
