#!/usr/bin/env python3
"""Benchmark the passage log, the dashboard, exports and the gates page on a real hub over HTTP.

    .venv/bin/python tools/bench_passage_log.py [--rows 1000000] [--gates 50] [--days 90] [--requests 40]
                                                [--no-postgres] [--no-sqlite] [--ingest-cost]

For SQLite and (when the machine has it) a throwaway PostgreSQL cluster with fsync on:

1. ``--rows`` passage-log rows from ``--gates`` gates over ``--days`` days, inserted straight into
   the hub's table in bulk (executemany / COPY; the indexes and the dashboard's counts are built
   once afterwards, as a hub upgraded with rows already there does), with 5,000 units holding two
   passes each in the registry so that a unit filter has something to find.
2. A signed-in console session times: the passage log page with each filter (gate, unit, pass id,
   outcome, reason, time ranges, combinations, a page 20 pages deep) and the dashboard (today per
   gate and outcome, 24 hourly and 30 daily bars per gate); p50/p95 over ``--requests`` requests.
   Budget: p95 <= 300 ms.
3. The export of every row as CSV (``GET /v1/admin/log?format=csv``, read by curl into wc): rows/s and the hub's
   resident memory (VmRSS, sampled every 50 ms) growth. Budget: >= 50,000 rows/s, <= 50 MB.
4. 500 gates with reports: ``/console/gates`` and ``GET /v1/admin/gates``, p50/p95. Budget: <= 200 ms.

``--ingest-cost`` instead measures what the log's indexes and count triggers cost a store (1000-row
batches into SQLite with and without them, in one process).

The client and the hub share this machine's 2 cores: the figures are a floor for the hub alone.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gatekeeper.admin.site import Site  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.accounts import Accounts  # noqa: E402
from gatekeeper.hub.gates import GateHealth  # noqa: E402
from gatekeeper.hub.passages import Passages  # noqa: E402
from gatekeeper.hub.registry import SCHEMA as REGISTRY_SCHEMA  # noqa: E402
from gatekeeper.hub.roles import Role  # noqa: E402
from gatekeeper.hub.store import LOG_COLUMNS, HubStore  # noqa: E402
from gatekeeper.verify import PrivateKey  # noqa: E402
from gatekeeper.wire import GateReport, encode_report  # noqa: E402
from tests.kit.hub import HubProcess, on_each_database  # noqa: E402

PASSWORD = "benchmark password"
UNITS = 5000
REASONS_DENIED = ("revoked", "expired", "not_yet_valid", "bad_signature", "out_of_scope")


def unit_name(i: int) -> str:
    return f"{i // 400 + 1}号楼{i // 100 % 4 + 1}单元{i % 100 + 101}"


def pass_id(i: int) -> str:
    return f"{i:024x}"


def rows(n: int, gates: int, days: int, now: float):
    """``n`` rows, newest ~now, as tuples in LOG_COLUMNS order; 90 % of scans carry a registry pass."""
    rnd = random.Random(7)
    span = days * 86400
    for i in range(n):
        g = i % gates
        at = now - span * rnd.random()
        manual = rnd.random() < 0.01
        allow = manual or rnd.random() < 0.92
        reason = "manual" if manual else "ok" if allow else rnd.choice(REASONS_DENIED)
        known = rnd.random() < 0.9
        pid = None if manual else pass_id(rnd.randrange(UNITS * 2)) if known else f"{rnd.getrandbits(96):024x}"
        yield (f"{g:016x}", f"gate-{g:02d}", i // gates + 1, "manual" if manual else "scan", int(allow), reason, pid,
               "00" * 8, "bench", "green", "B1", at, at, 0.0, "boot", 1, 0, 1, 2.5, at + 1, at, None)


def fill(db_url: str, n: int, gates: int, days: int) -> float:
    t0 = time.perf_counter()
    store = HubStore.open(db_url)
    db = store.db
    with db.transaction() as tx:
        for stmt in REGISTRY_SCHEMA:
            tx.run(stmt)
        now = time.time()
        tx.many("INSERT INTO units(name, label, quota, note, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                [(unit_name(i), f"B{i}", 4, "", now, now) for i in range(UNITS)])
        tx.many("INSERT INTO passes(pass_id, unit, label, kind, valid_from, valid_until, status, text, issued_at, "
                "issued_by, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(pass_id(i), unit_name(i // 2), f"B{i // 2}", "resident", 0, 2**31, "green", "-", now, "bench",
                  "console") for i in range(UNITS * 2)])
        for g in range(gates):
            key = PrivateKey.generate()
            tx.run("INSERT INTO devices(device_id, public_key, gate_id, enrolled_at) VALUES (?,?,?,?)",
                   (f"{g:016x}", key.public.raw, f"gate-{g:02d}", now))
    cols = ",".join(LOG_COLUMNS)
    gen = rows(n, gates, days, time.time())
    if db.is_postgres:
        import psycopg
        with psycopg.connect(db_url) as conn, conn.cursor() as cur, cur.copy(
                f"COPY passage_log ({cols}) FROM STDIN") as copy:
            for r in gen:
                copy.write_row(r)
    else:
        marks = ",".join("?" * len(LOG_COLUMNS))
        batch = []
        for r in gen:
            batch.append(r)
            if len(batch) == 50_000:
                with db.transaction() as tx:
                    tx.many(f"INSERT INTO passage_log ({cols}) VALUES ({marks})", batch)
                batch = []
        with db.transaction() as tx:
            tx.many(f"INSERT INTO passage_log ({cols}) VALUES ({marks})", batch)
    Passages(db)  # the indexes and the counts, built once on the rows
    if db.is_postgres:
        with db.transaction() as tx:
            tx.run("ANALYZE")
    Accounts(db).add("bench", Role.ADMIN, PASSWORD)
    store.close()
    return time.perf_counter() - t0


def add_gates(db_url: str, count: int) -> None:
    """``count`` more gates, each with a device and a report (their states: ok, warning, offline)."""
    store = HubStore.open(db_url)
    health = GateHealth(store.db)
    now = time.time()
    with store.db.transaction() as tx:
        for i in range(count):
            tx.run("INSERT INTO devices(device_id, public_key, gate_id, enrolled_at) VALUES (?,?,?,?) "
                   "ON CONFLICT DO NOTHING", (f"{0xF000 + i:016x}", PrivateKey.generate().public.raw,
                                              f"extra-{i:03d}", now))
    for i in range(count):
        report = encode_report(GateReport(software_version="0.1.0", trust_version=1, revocation_version=40,
                                          list_age_seconds=60, list_stale=i % 10 == 0, log_backlog=i,
                                          poll_interval=300, alarms=("camera_down",) if i % 25 == 0 else ()))
        health.heard(f"{0xF000 + i:016x}", f"extra-{i:03d}", report, now - (i % 7) * 60)
    store.close()


def admin_token(db_url: str) -> str:
    store = HubStore.open(db_url)
    try:
        return store.create_admin_token("bench")
    finally:
        store.close()


def signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=600)
    page = client.get("/console/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    home = client.post("/console/sign-in", data={"csrf": csrf, "username": "bench", "password": PASSWORD,
                                                  "next": "/console/dashboard"}, follow_redirects=True)
    assert home.status_code == 200, home.status_code
    return client


def timed(client: httpx.Client, pages: dict[str, tuple[str, dict]], requests: int) -> None:
    print(f"  {'page':44} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5}")
    for name, (path, params) in pages.items():
        client.get(path, params=params)  # warm
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            r = client.get(path, params=params)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, params, r.status_code, r.text[:300])
        times.sort()
        shown = (r.text.count("data-key=") if path == "/console/log" else len(r.json()) if path.startswith("/v1")
                 else "-")
        print(f"  {name:44} {statistics.median(times):8.1f} {times[int(0.95 * (len(times) - 1))]:8.1f} {shown:>5}")


def log_pages(client: httpx.Client) -> dict[str, tuple[str, dict]]:
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 10 * 86400))
    deep: dict = {}
    for _ in range(20):  # follow "Older" 20 times
        r = client.get("/console/log", params=deep)
        deep = {"after": re.search(r'after=([^"&]+)', r.text).group(1).replace("%7E", "~")}
    return {
        "log, newest first (no filter)": ("/console/log", {}),
        "log, 20 pages deep": ("/console/log", deep),
        "log, gate": ("/console/log", {"gate": "gate-07"}),
        "log, unit": ("/console/log", {"unit": unit_name(1234)}),
        "log, pass id": ("/console/log", {"pass_id": pass_id(777)}),
        "log, outcome denied": ("/console/log", {"outcome": "denied"}),
        "log, outcome manual": ("/console/log", {"outcome": "manual"}),
        "log, reason bad_signature": ("/console/log", {"reason": "bad_signature"}),
        "log, one day ten days ago": ("/console/log", {"since": f"{day}T00:00", "until": f"{day}T23:59"}),
        "log, gate + denied + 7 days": ("/console/log", {"gate": "gate-03", "outcome": "denied",
                                                          "since": time.strftime("%Y-%m-%dT%H:%M", time.localtime(
                                                              time.time() - 7 * 86400))}),
        "log, gate + manual": ("/console/log", {"gate": "gate-11", "outcome": "manual"}),
        "log, unit + allowed": ("/console/log", {"unit": unit_name(42), "outcome": "allowed"}),
        "dashboard": ("/console/dashboard", {}),
    }


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def export(hub: HubProcess, token: str, expected: int) -> None:
    """Every row as CSV, read by curl into wc (C on the client side: the machine's cores go to the hub)."""
    pid = hub.proc.pid
    base = rss_kib(pid)
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_kib(pid))

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    curl = subprocess.Popen(["curl", "-sS", "--fail", "-H", f"Authorization: Bearer {token}",
                             f"{hub.url}/v1/admin/log?format=csv"], stdout=subprocess.PIPE)
    lines = int(subprocess.run(["wc", "-l"], stdin=curl.stdout, capture_output=True, text=True, check=True).stdout)
    assert curl.wait() == 0
    elapsed = time.perf_counter() - t0
    done.set()
    rows_out = lines - 1
    print(f"  export of all rows as CSV: {rows_out} rows in {elapsed:.1f} s = {rows_out / elapsed:,.0f} rows/s; "
          f"hub RSS {base / 1024:.0f} MB before, peak {peak[0] / 1024:.0f} MB (+{(peak[0] - base) / 1024:.0f} MB)")
    assert rows_out == expected, (rows_out, expected)


def arriving(made) -> list[tuple]:
    """Rows as a hub receives them: in time order, each device's seq rising with it."""
    out, seqs, at = [], {}, LOG_COLUMNS.index("at")
    for r in sorted(made, key=lambda r: r[at]):
        seqs[r[0]] = seqs.get(r[0], 0) + 1
        out.append((*r[:2], seqs[r[0]], *r[3:]))
    return out


def ingest_cost(work: Path) -> None:
    """What the search indexes and count triggers cost a store: 1000-row batches of rows in time order
    into passage_log on SQLite, store.py's schema alone vs with hub/passages.py's; best of 3 each."""
    cols, marks = ",".join(LOG_COLUMNS), ",".join("?" * len(LOG_COLUMNS))
    best = {False: 0.0, True: 0.0}
    for k in range(3):
        for with_log in (False, True):
            store = HubStore.open(str(work / f"ingest-{k}-{with_log}.db"))
            if with_log:
                Passages(store.db)
            batches = arriving(rows(60_000, 8, 1, time.time()))
            t0 = time.perf_counter()
            for i in range(0, len(batches), 1000):
                with store.db.transaction() as tx:
                    tx.many(f"INSERT INTO passage_log ({cols}) VALUES ({marks})", batches[i:i + 1000])
            best[with_log] = max(best[with_log], len(batches) / (time.perf_counter() - t0))
            store.close()
    print(f"\n[ingest cost] store.py's schema alone {best[False]:,.0f} rows/s; with the log's indexes and "
          f"count triggers {best[True]:,.0f} rows/s")


def run(label: str, db_url: str, work: Path, args: argparse.Namespace) -> None:
    site = Site.init(work / f"site-{label}", scope="bench", now=time.time() - 3600, timezone="Asia/Shanghai")
    fill_s = fill(db_url, args.rows, args.gates, args.days)
    print(f"\n[{label}] {args.rows:,} rows from {args.gates} gates over {args.days} days written and indexed "
          f"in {fill_s:.0f} s")
    hub = HubProcess(db_url, site.root).start(timeout=300)
    try:
        client = signed_in(hub.url)
        timed(client, log_pages(client), args.requests)
        export(hub, admin_token(db_url), args.rows)
        add_gates(db_url, 500 - args.gates)
        timed(client, {"gates page (500 gates)": ("/console/gates", {}),
                       "GET /v1/admin/gates (500 gates)": ("/v1/admin/gates", {})}, args.requests)
    finally:
        hub.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--gates", type=int, default=50)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--ingest-cost", action="store_true", help="Only the A/B of the indexes' cost on inserts.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-bench-log-") as tmp:
        work = Path(tmp)
        if args.ingest_cost:
            ingest_cost(work)
            return
        on_each_database(lambda label, url: run(label, url, work, args), str(work / "hub.db"),
                         sqlite=not args.no_sqlite, postgres=not args.no_postgres)

if __name__ == "__main__":
    main()
