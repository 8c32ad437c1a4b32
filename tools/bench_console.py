#!/usr/bin/env python3
"""Benchmark the console over real HTTP on 127.0.0.1; print the figures docs/PERFORMANCE.md records.

    .venv/bin/python tools/bench_console.py [--units 10000] [--passes-per-unit 3] [--requests 60] [--no-postgres]

A site of ``--units`` units holding ``--passes-per-unit`` signed passes each (30,000 by default;
a few hundred revoked) is written through the registry, then ``gatekeeper hub serve`` (with the
site) answers a signed-in session:

1. Pages: the unit list (first and a middle page), the unit search, the pass list, the pass
   search by label and by pass-id prefix, the revoked-pass filter, one unit's page; ``--requests``
   GETs each, one at a time; p50/p95 in ms. Budget: p95 <= 200 ms.
2. Bulk issue: a CSV of 1,000 ``unit,count`` rows posted to the bulk-issue page (every row checked,
   1,000 passes signed and written in one transaction); wall time. Budget: <= 10 s.

On SQLite and on PostgreSQL (a throwaway cluster with fsync on, as deployed). The client and the
hub share this machine's cores.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gatekeeper.admin.site import Site  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.accounts import Accounts  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.audit import AuditLog  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.publisher import Publisher  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.registry import Actor, IssueRequest, Registry, UnitInput  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.roles import Role  # noqa: E402  (after the sys.path line)
from gatekeeper.hub.store import HubStore  # noqa: E402  (after the sys.path line)
from tests.kit.hub import HubProcess, on_each_database  # noqa: E402  (after the sys.path line)

PASSWORD = "benchmark password"
REVOKED = 300


def unit_name(i: int) -> str:
    return f"{i // 400 + 1}号楼{i // 100 % 4 + 1}单元{i % 100 + 101}"


def fill(db_url: str, site: Site, units: int, per_unit: int) -> float:
    """Units, passes and revocations through the registry (as the console would write them); seconds."""
    t0 = time.perf_counter()
    store = HubStore.open(db_url)
    try:
        registry = Registry(store.db, Publisher(store, site), AuditLog(store.db))
        actor = Actor("bench")
        registry.import_units([UnitInput(unit_name(i), f"B{i}", per_unit + 2) for i in range(units)], actor)
        issued = []
        step = 1000
        for first in range(0, units, step):
            reqs = [IssueRequest(unit_name(i), per_unit) for i in range(first, min(first + step, units))]
            issued += registry.issue_bulk(reqs, actor)
        for p in issued[:: max(1, len(issued) // REVOKED)][:REVOKED]:
            registry.revoke(p.pass_id, actor)
        Accounts(store.db).add("bench", Role.ADMIN, PASSWORD)
    finally:
        store.close()
    return time.perf_counter() - t0


def signed_in(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=60)
    page = client.get("/console/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    home = client.post("/console/sign-in", data={"csrf": csrf, "username": "bench", "password": PASSWORD,
                                                  "next": "/console/units"}, follow_redirects=True)
    assert home.status_code == 200, home.status_code
    return client, re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)


def timed_pages(client: httpx.Client, units: int, requests: int) -> dict[str, tuple[float, float, int]]:
    some_pass = client.get("/v1/admin/passes", params={"limit": 1}).json()[0]["pass_id"]
    pages = {
        "unit list, page 1": ("/console/units", {}),
        "unit list, middle page": ("/console/units", {"page": units // 100}),
        "unit search (name)": ("/console/units", {"q": "7号楼2单元1"}),
        "pass list, page 1": ("/console/passes", {}),
        "pass search (label)": ("/console/passes", {"q": "B77"}),
        "pass search (id prefix)": ("/console/passes", {"q": some_pass[:6]}),
        "pass filter (revoked)": ("/console/passes", {"state": "revoked"}),
        "one unit's page": ("/console/unit", {"name": unit_name(units // 2)}),
    }
    out = {}
    for name, (path, params) in pages.items():
        client.get(path, params=params)  # warm
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            r = client.get(path, params=params)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.status_code)
        times.sort()
        out[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], len(r.content))
    return out


def bulk_issue(client: httpx.Client, csrf: str, units: int) -> float:
    rows = "".join(f"{unit_name(i)},1\n" for i in range(1000))
    assert units >= 1000
    t0 = time.perf_counter()
    r = client.post("/console/passes/bulk", data={"csrf": csrf, "kind": "resident", "status": "green"},
                    files={"file": ("issue.csv", ("unit,count\n" + rows).encode(), "text/csv")})
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200 and "1000" in r.text, (r.status_code, r.text[:500])
    return elapsed


def run(label: str, db_url: str, work: Path, args: argparse.Namespace) -> None:
    site = Site.init(work / f"site-{label}", scope="bench", now=time.time() - 3600, timezone="Asia/Shanghai")
    fill_s = fill(db_url, site, args.units, args.passes_per_unit)
    print(f"\n[{label}] {args.units} units, {args.units * args.passes_per_unit} passes "
          f"({REVOKED} revoked) written in {fill_s:.1f} s")
    hub = HubProcess(db_url, site.root).start(timeout=120)
    try:
        client, csrf = signed_in(hub.url)
        print(f"  {'page':28} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>8}")
        for name, (p50, p95, size) in timed_pages(client, args.units, args.requests).items():
            print(f"  {name:28} {p50:8.1f} {p95:8.1f} {size:8d}")
        print(f"  bulk issue of 1000 passes from a CSV: {bulk_issue(client, csrf, args.units):.2f} s")
    finally:
        hub.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=10000)
    ap.add_argument("--passes-per-unit", type=int, default=3)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-bench-console-") as tmp:
        work = Path(tmp)
        on_each_database(lambda label, url: run(label, url, work, args), f"sqlite:///{work / 'hub.db'}",
                         postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
