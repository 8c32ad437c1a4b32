#!/usr/bin/env python3
"""Benchmark sync over real HTTP on 127.0.0.1; print the figures docs/PERFORMANCE.md records.

    .venv/bin/python tools/bench_sync.py [--rows 100000] [--bursts 50x1000,200x100,1000x100,2000x100]
                                         [--targets sqlite,postgresql,nginx1,nginx2] [--processes 4]
                                         [--no-drain] [--no-poll]

1. Drain: one device with a backlog of ``--rows`` passage-log rows uploads it with the real
   :class:`Uploader` (default batch limits) to ``gatekeeper hub serve`` on SQLite; wall time.
2. Bursts: G gates x R rows at once (``GxR``; batches of at most 1000 rows, the device's default,
   prepared before the clock starts), the gates as asyncio tasks in ``--processes`` worker
   processes (tests/kit/burst.py: the device's rules, Retry-After and full-jitter backoff), against
   one hub on SQLite, one on PostgreSQL (a throwaway cluster with fsync on), and one or two
   PostgreSQL hub processes behind nginx. For each: rows/s (all rows stored / time to the last
   ack), 429 replies, connection errors (and 5xx), p99 time to a gate's last ack, and CPU seconds
   per 1,000 rows of the hub processes, PostgreSQL (postmaster and backends), nginx and the gates
   (from /proc/<pid>/stat utime+stime before and after).
3. Unchanged list poll: the real :class:`Updater` through a TCP relay that counts bytes each way;
   requests (connections) and bytes on the wire for one poll that finds nothing new.

The gates, the hubs, PostgreSQL and nginx share this machine's cores: the figures are a floor.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gatekeeper.admin.site import Site  # noqa: E402
from gatekeeper.gate import Updater, Uploader  # noqa: E402
from gatekeeper.hub.store import HubStore  # noqa: E402
from gatekeeper.verify import PrivateKey  # noqa: E402
from tests.kit.balancer import Balancer  # noqa: E402
from tests.kit.burst import batches, burst  # noqa: E402
from tests.kit.hub import CountingRelay, HubProcess, PgCluster, enrolled_device, fill_log, pg_bin  # noqa: E402

BATCH_ROWS = 1000  # the device's default [sync] batch_max_rows


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


def cpu_s(pids: list[int]) -> float:
    """utime + stime (and reaped children's) of these processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited: its time went to its parent's cutime/cstime
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def postgres_pids(cluster: PgCluster) -> list[int]:
    master = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
    return [master, *children(master)]


TARGETS = {"sqlite": "SQLite, 1 hub", "postgresql": "PostgreSQL, 1 hub",
           "nginx1": "PostgreSQL, 1 hub behind nginx", "nginx2": "PostgreSQL, 2 hubs behind nginx"}


def run_burst(work: Path, site: Site, cluster: PgCluster | None, target: str, gates: int, rows: int,
              processes: int) -> None:
    if target != "sqlite" and cluster is None:
        print(f"burst {gates}x{rows} {TARGETS[target]}: skipped (no PostgreSQL)")
        return
    url = str(work / f"burst-{gates}x{rows}.db") if target == "sqlite" else cluster.new_database()
    store = HubStore.open(url)
    keys = [PrivateKey.generate() for _ in range(gates)]
    for i, k in enumerate(keys):
        store.register_device(k.public, f"gate-{i}")
    store.close()
    hubs = [HubProcess(url, site.root).start()] + ([HubProcess(url, None).start()] if target == "nginx2" else [])
    balancer = Balancer([h.port for h in hubs]).start() if target.startswith("nginx") else None
    try:
        bodies = batches(rows, min(rows, BATCH_ROWS))
        hub_pids = [h.proc.pid for h in hubs]
        pg = (lambda: postgres_pids(cluster)) if cluster and target != "sqlite" else list
        ng = balancer.pids if balancer else list
        before = (cpu_s(hub_pids), cpu_s(pg()), cpu_s(ng()), resource.getrusage(resource.RUSAGE_CHILDREN))
        runs, took = burst(balancer.url if balancer else hubs[0].url, [(k.to_pem(), bodies) for k in keys],
                           processes=processes)
        after = (cpu_s(hub_pids), cpu_s(pg()), cpu_s(ng()), resource.getrusage(resource.RUSAGE_CHILDREN))
        stored = hub_count(hubs[0])
        per_k = 1000 / max(stored, 1)
        gate_cpu = (after[3].ru_utime + after[3].ru_stime) - (before[3].ru_utime + before[3].ru_stime)
        times = sorted(r.seconds for r in runs)
        errors = sum((r.errors for r in runs), Counter())
        unfinished = sum(not r.finished for r in runs)
        print(f"burst {gates}x{rows} {TARGETS[target]}: {stored:,} of {gates * rows:,} rows in {took:.1f} s = "
              f"{stored / took:,.0f} rows/s; 429: {sum(r.busy for r in runs)} "
              f"({sum(r.busy for r in runs) / gates:.2f}/gate); connection errors/5xx: "
              f"{sum(errors.values())} {dict(errors) or ''}; "
              f"p99 time to ack {times[int(0.99 * (len(times) - 1))]:.1f} s"
              f" (max {times[-1]:.1f}); unfinished gates: {unfinished}; CPU s per 1,000 rows: hub "
              f"{(after[0] - before[0]) * per_k:.3f}, PostgreSQL {(after[1] - before[1]) * per_k:.3f}, nginx "
              f"{(after[2] - before[2]) * per_k:.3f}, gates {gate_cpu * per_k:.3f}", flush=True)
    finally:
        if balancer:
            balancer.stop()
        for h in hubs:
            h.stop()


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
    # 2000 x 100 is twice what the hub takes within --max-wait: overload must not lower throughput
    ap.add_argument("--bursts", default="50x1000,200x100,1000x100,2000x100")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--processes", type=int, default=4, help="Worker processes the gates run in.")
    ap.add_argument("--no-drain", action="store_true")
    ap.add_argument("--no-poll", action="store_true")
    a = ap.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(1/5/15 min), {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="gk-bench-sync-") as tmp:
        work = Path(tmp)
        site = Site.init(work / "site", scope="demo", now=time.time() - 3600)
        if not a.no_drain:
            drain(work, site, a.rows)
        targets = a.targets.split(",")
        bin_dir = pg_bin() if any(t != "sqlite" for t in targets) else None
        cluster = PgCluster.start(bin_dir, fsync=True, max_connections=400) if bin_dir else None
        try:
            for spec in a.bursts.split(","):
                gates, rows = (int(x) for x in spec.split("x"))
                for target in targets:
                    run_burst(work, site, cluster, target, gates, rows, a.processes)
        finally:
            if cluster:
                cluster.stop()
        if not a.no_poll:
            unchanged_poll(work, site)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
