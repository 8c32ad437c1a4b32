#!/usr/bin/env python3
"""Benchmark residents' self-service (issue 14); print the figures docs/PERFORMANCE.md records.

    .venv/bin/python tools/bench_residents.py [--units 6000] [--residents 200]

1. Letters: ``gatekeeper hub letters --all`` for ``--units`` units (one PDF, one A4 page each, the
   CJK font embedded); wall time of the whole command, pages and size of the PDF.
2. First load: the resident page opened by Chromium (a 375x667 phone, empty cache) through a TCP
   relay that counts bytes; everything the hub sent until the network is idle (the page, its CSS
   and script, the manifest, the icon, the service worker and what it caches), for a unit with two
   active passes.
3. Morning rush: ``--residents`` residents of different units press "Get a pass" at once (one
   connection each, all requests sent together) against ``gatekeeper hub serve`` on SQLite; the
   latency of each request (the POST and the redirect to the unit's page, as a phone does),
   p50/p95/max, and every error.

The clients and the hub share this machine's cores: the figures are a floor for the hub alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from gatekeeper.admin.site import Site  # noqa: E402
from gatekeeper.hub.audit import AuditLog  # noqa: E402
from gatekeeper.hub.publisher import Publisher  # noqa: E402
from gatekeeper.hub.registry import Actor, Registry, Source, UnitInput  # noqa: E402
from gatekeeper.hub.residents import Residents, new_code  # noqa: E402
from gatekeeper.hub.store import HubStore  # noqa: E402
from tests.kit.hub import CountingRelay, HubProcess  # noqa: E402
from tests.residents.phone import ARGS, CHROMIUM, PHONE  # noqa: E402

BENCH = Actor("bench", "", Source.CLI)


def make_units(db: str, site: Site, n: int, quota: int = 4) -> dict[str, str]:
    """``n`` units (Chinese names, as a community names them) and a code for each; {unit: code}."""
    store = HubStore.open(db)
    try:
        audit = AuditLog(store.db)
        registry = Registry(store.db, Publisher(store, site), audit)
        names = [f"{b}号楼{e}单元{f:02d}{r:02d}" for b in range(1, 100) for e in range(1, 5) for f in range(1, 31)
                 for r in range(1, 3)][:n]
        registry.import_units([UnitInput(u, f"{i:06d}", quota) for i, u in enumerate(names)], BENCH)
        codes = {u: new_code() for u in names}
        Residents(store, registry, audit).replace_codes(codes, BENCH)
        return codes
    finally:
        store.close()


def bench_letters(work: Path, site: Site, n: int) -> None:
    db = str(work / "letters.db")
    make_units(db, site, n)
    out = work / "letters.pdf"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gatekeeper", "hub", "letters", "--db", db, "--site", str(site.root),
                    "--all", "--base-url", "https://hub.example.org", "--out", str(out)], check=True,
                   capture_output=True)
    took = time.perf_counter() - t0
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=False).stdout
    pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    print(f"letters: {n} units -> {pages} pages, {out.stat().st_size / 1e6:.1f} MB, {took:.1f} s "
          f"({took / n * 1000:.1f} ms a letter; budget 60 s)")


def bench_first_load(work: Path, site: Site) -> None:
    from playwright.sync_api import sync_playwright
    db = str(work / "page.db")
    (code,) = make_units(db, site, 1).values()
    hub = HubProcess(db, site.root).start()
    relay = CountingRelay(hub.port)
    try:
        for _ in range(2):
            assert httpx.post(f"{hub.url}/r/{code}/get", timeout=30).status_code == 303
        relay.reset()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            context = browser.new_context(viewport=PHONE, locale="en-US")
            page = context.new_page()
            hosts: set[str] = set()
            page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            page.goto(f"{relay.url}/r/{code}", wait_until="networkidle")
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.wait_for_load_state("networkidle")
            browser.close()
        print(f"first load: {relay.received / 1024:.1f} KB from the hub, {relay.sent / 1024:.1f} KB sent, "
              f"{relay.connections} connections, hosts {sorted(hosts)} (budget 150 KB)")
    finally:
        relay.close()
        hub.stop()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request on an open connection: (status, headers, body)."""
    writer.write(request)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if line)
    headers = {k.lower(): v for k, v in headers.items()}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head[0].split()[1]), headers, body


async def _rush(codes: list[str], port: int) -> tuple[list[float], list[float], list[str]]:
    """Every resident on its own connection (opened before the clock starts: phones are online),
    all POSTs sent at once, each followed by the redirect to the unit's page on the same
    connection. A bare asyncio client: httpx's own per-request work, 200 at once on these shared
    cores, took longer than the hub's (measured: /v1/health p95 4.3 s with httpx, 0.1 s without)."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in codes]
    host = f"Host: 127.0.0.1:{port}\r\n"
    go = asyncio.Event()

    async def one(code: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                  ) -> tuple[float, float, str | None]:
        await go.wait()
        t0 = time.perf_counter()
        status, headers, _ = await _exchange(reader, writer, f"POST /r/{code}/get HTTP/1.1\r\n{host}"
                                             "Content-Length: 0\r\n\r\n".encode())
        posted = time.perf_counter() - t0
        if status != 303 or "done=issued" not in headers.get("location", ""):
            return posted, posted, f"POST {status} {headers.get('location')}"
        status, _, body = await _exchange(reader, writer, f"GET {headers['location']} HTTP/1.1\r\n{host}\r\n"
                                          .encode())
        shown = time.perf_counter() - t0
        writer.close()
        return posted, shown, None if status == 200 and b"state-active" in body else f"GET {status}"

    tasks = [asyncio.create_task(one(c, r, w)) for c, (r, w) in zip(codes, conns, strict=True)]
    await asyncio.sleep(0.2)
    go.set()
    done = await asyncio.gather(*tasks)
    return [p for p, _, _ in done], [s for _, s, _ in done], [e for _, _, e in done if e]


def bench_rush(work: Path, site: Site, n: int) -> None:
    db = str(work / "rush.db")
    codes = make_units(db, site, n)
    hub = HubProcess(db, site.root).start()
    try:
        posts, pages, errors = asyncio.run(_rush(list(codes.values()), hub.port))
    finally:
        hub.stop()
    for what, times in (("the POST", posts), ("POST + the page it leads to", pages)):
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"rush: {n} residents 'Get a pass' at once on SQLite, {what}: p50 "
              f"{statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    print(f"rush: errors {len(errors)} (budget: p95 500 ms a request, no error)")
    for e in errors[:5]:
        print(f"  error: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=6000)
    ap.add_argument("--residents", type=int, default=200)
    ap.add_argument("--only", choices=["letters", "page", "rush"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-bench-res-") as tmp:
        work = Path(tmp)
        site = Site.init(work / "site", scope="bench", now=time.time() - 3600, timezone="Asia/Shanghai")
        if args.only in (None, "letters"):
            bench_letters(work, site, args.units)
        if args.only in (None, "page"):
            bench_first_load(work, site)
        if args.only in (None, "rush"):
            bench_rush(work, site, args.residents)


if __name__ == "__main__":
    main()
