#!/usr/bin/env python3
"""Benchmark sync over real HTTP on 127.0.0.1; print the figures docs/PERFORMANCE.md records.

    .venv/bin/python tools/bench_sync.py [--rows 100000] [--devices 50] [--device-rows 2000] [--no-postgres]

1. Drain: one device with a backlog of ``--rows`` passage-log rows uploads it with the real
   :class:`Uploader` (default batch limits) to ``gatekeeper hub serve`` on SQLite; wall time.
2. Ingest: ``--devices`` enrolled devices upload ``--device-rows`` rows each at once (one thread
   per device, batches of 1000 rows prepared before the clock starts, so the figure is the hub's),
   to a hub on SQLite and on PostgreSQL (a throwaway cluster with fsync on, as deployed); rows/s,
   and how many 429 ``busy`` replies the hub's load shedding gave.
3. Unchanged list poll: the real :class:`Updater` through a TCP relay that counts bytes each way;
   requests (connections) and bytes on the wire for one poll that finds nothing new.

The devices and the hub share this machine's cores: the figures are a floor for the hub alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gatekeeper.admin.site import Site
from gatekeeper.gate import Updater, Uploader
from gatekeeper.gate.boot import boot_id
from gatekeeper.gate.client import HubClient
from gatekeeper.hub.store import HubStore
from gatekeeper.wire.batch import Ack, encode_batch, take_within
from gatekeeper.wire.protocol import PATH_LOG
from tests.kit.hub import (
    CountingRelay,
    HubProcess,
    PgCluster,
    enrolled_device,
    fill_log,
    log_row,
    pg_bin,
)

BATCH_ROWS = 1000
GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def drain(work: Path, site: Site, rows: int) -> None:
    hub = HubProcess(str(work / "drain.db"), site.root).start()
    try:
        dev = enrolled_device(work, site, hub)
        with dev.store() as s:
            fill_log(s, rows)
        up = Uploader(*dev.sync_args())
        batches, t0 = 0, time.perf_counter()
        while True:
            r = up.run_once()
            batches += 1
            if r.outcome != "sent" or r.backlog == 0:
                break
        took = time.perf_counter() - t0
        up.close()
        stored = hub_count(hub)
        print(f"drain: {stored} of {rows} rows in {took:.1f} s ({stored / took:,.0f} rows/s), {batches} batches, "
              f"last outcome {r.outcome}, hub on SQLite")
    finally:
        hub.stop()


def hub_count(hub: HubProcess) -> int:
    store = HubStore.open(hub.db_url)
    try:
        return store.count_rows()
    finally:
        store.close()


def prepared_batches(n: int) -> list[bytes]:
    """A device's backlog of ``n`` rows as the gzip'd batch bodies it will send, in order."""
    base = time.time() - n * 0.01
    rows = [dict(log_row(at=base + i * 0.01, pass_id=f"{i:024x}"), seq=i + 1) for i in range(n)]
    out = []
    for i in range(0, n, BATCH_ROWS):
        chunk = rows[i:i + BATCH_ROWS]
        out.append(encode_batch(i, chunk[-1]["seq"], take_within(chunk, 1 << 30), time.monotonic(), boot_id()))
    return out


def upload_all(client: HubClient, bodies: list[bytes], busy: list[int]) -> None:
    """Send the batches in order; a 429 waits its Retry-After and resends the same batch."""
    i = 0
    while i < len(bodies):
        reply = client.request("POST", PATH_LOG, bodies[i], GZIP_JSON)
        if reply.status == 429:
            busy.append(1)
            time.sleep(float(reply.headers.get("retry-after", "1")))
            continue
        if reply.status != 200:
            raise RuntimeError(f"hub {reply.status}: {reply.body[:200]!r}")
        Ack.model_validate_json(reply.body)
        i += 1


def ingest(work: Path, site: Site, db_url: str, label: str, devices: int, device_rows: int) -> None:
    hub = HubProcess(db_url, site.root).start()
    try:
        devs = [enrolled_device(work, site, hub, gate_id=f"gate-{i}") for i in range(devices)]
        bodies = prepared_batches(device_rows)  # the same rows for each device: (device, seq) differs
        clients = [HubClient(hub.url, d.key) for d in devs]
        busy: list[int] = []
        errors: list[BaseException] = []

        def run(c: HubClient) -> None:
            try:
                upload_all(c, bodies, busy)
            except BaseException as e:  # noqa: BLE001 -- reported below, the benchmark must not hang
                errors.append(e)

        threads = [threading.Thread(target=run, args=(c,)) for c in clients]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - t0
        for c in clients:
            c.close()
        stored = hub_count(hub)
        print(f"ingest {label}: {devices} devices x {device_rows} rows = {stored} rows stored in {took:.1f} s: "
              f"{stored / took:,.0f} rows/s; {len(busy)} x 429 busy; errors: {errors[:1] or 'none'}")
    finally:
        hub.stop()


def unchanged_poll(work: Path, site: Site) -> None:
    hub = HubProcess(str(work / "poll.db"), site.root).start()
    relay = CountingRelay(hub.port)
    try:
        dev = enrolled_device(work, site, hub)
        sync = dev.settings.sync.model_copy(update={"hub_url": relay.url})
        args = (dev.store_path, site.authority_public, sync, dev.key, dev.gate_id)
        warm = Updater(*args)
        warm.poll_once()  # the clock offset and the cached lists, as on a running device
        warm.close()
        poll = Updater(*args)
        relay.reset()
        r = poll.poll_once()
        poll.close()
        time.sleep(0.2)  # the relay's threads count the last bytes
        print(f"unchanged poll: outcome {r.outcome}, {relay.connections} connection(s), {relay.sent} B sent + "
              f"{relay.received} B received = {relay.sent + relay.received} B (HTTP on the wire, no TLS)")
    finally:
        relay.close()
        hub.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--device-rows", type=int, default=2000)
    ap.add_argument("--no-postgres", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-bench-sync-") as tmp:
        work = Path(tmp)
        site = Site.init(work / "site", scope="demo", now=time.time() - 3600)
        drain(work, site, a.rows)
        ingest(work, site, str(work / "ingest.db"), "SQLite", a.devices, a.device_rows)
        bin_dir = None if a.no_postgres else pg_bin()
        if bin_dir is None:
            print("ingest PostgreSQL: skipped (no PostgreSQL binaries, or --no-postgres)")
        else:
            cluster = PgCluster.start(bin_dir, fsync=True)
            try:
                ingest(work, site, cluster.new_database(), f"PostgreSQL ({bin_dir.parent.name}, fsync on)",
                       a.devices, a.device_rows)
            finally:
                cluster.stop()
        unchanged_poll(work, site)


if __name__ == "__main__":
    main()
