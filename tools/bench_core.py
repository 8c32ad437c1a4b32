#!/usr/bin/env python3
"""Benchmark the decision core and the pass size; print the figures docs/PERFORMANCE.md records.

    .venv/bin/python tools/bench_core.py [--seconds 3] [--big 10000000] [--workdir /tmp/gk-bench]

Measures, on one core (one thread):
  * decisions/s of the pure core (parse + Ed25519 verify + policy) with a valid pass;
  * decisions/s of ``Checkpoint.decide`` (the core plus the store: trust list, meta, revocation
    lookup) against 1,000,000 and ``--big`` cached revocation entries;
  * the revocation lookup's median and p99 latency at each size (half hits, half misses);
  * the length of a pass text (ASCII and Chinese labels) and the QR version it needs at levels M
    and L (segno).

The 1,000,000-entry database is made through the real list path (a signed snapshot applied by
``Store.apply_list``). The ``--big`` one is filled with direct SQL inserts into the same table
(the list path would need a 210 MB file for 10 M entries, and it is timed by bench_lists.py);
both are kept in ``--workdir`` and reused by the next run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import segno

from gatekeeper.gate.checkpoint import Checkpoint
from gatekeeper.gate.config import DeviceSettings, Settings
from gatekeeper.gate.store import Store
from gatekeeper.verify import (
    Clock,
    Issuer,
    PassClaims,
    Policy,
    PrivateKey,
    RevocationList,
    Status,
    TrustList,
    decide,
    issue,
    new_pass_id,
)

SCOPE = "maple-court"
DAY = 86400


def rate(fn, seconds: float) -> float:
    """Calls per second of ``fn``: the median of five timed rounds (noisy shared machines)."""
    n = 1
    while True:  # size a round to about seconds / 5
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt > seconds / 10:
            break
        n *= 2
    n = max(1, int(n * (seconds / 5) / dt))
    rates = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def random_ids(n: int, seed: int) -> np.ndarray:
    """``n`` distinct random 12-byte pass ids, sorted (as a snapshot carries them)."""
    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(0, 256, size=(int(n * 1.001) + 16, 12), dtype=np.uint8).view("S12").ravel())
    return ids[rng.choice(len(ids), n, replace=False)] if len(ids) > n else ids


def snapshot_bytes(ids: np.ndarray, since: int) -> bytes:
    rec = np.zeros(len(ids), dtype=[("id", "S12"), ("state", "u1"), ("since", ">u8")])
    rec["id"], rec["state"], rec["since"] = np.sort(ids), 1, since
    return rec.tobytes()


def build_store(path: Path, authority: PrivateKey, trust: bytes, n: int, now: int, via_list: bool) -> np.ndarray:
    """A device store with ``n`` revocation entries; returns some ids that are in it."""
    ids = random_ids(n, seed=n)
    marker = path.with_suffix(".ok")
    if path.exists() and marker.exists() and marker.read_text() == authority.public.raw.hex():
        print(f"  reusing {path} ({path.stat().st_size / 1e6:.0f} MB)")
        return ids[:: max(1, n // 10000)]
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), marker):
        p.unlink(missing_ok=True)
    t = time.perf_counter()
    with Store(path, authority.public) as store:
        store.apply_list(trust)
        if via_list:
            store.apply_list(RevocationList(1, now, None, snapshot_bytes(ids, now - DAY)).sign(authority))
        else:
            ids_sorted = np.sort(ids)
            conn = store.conn
            conn.execute("BEGIN")
            step = 500_000
            for off in range(0, n, step):
                conn.executemany("INSERT INTO revocations(pass_id, state, since) VALUES (?, 1, ?)",
                                 ((bytes(i), now - DAY) for i in ids_sorted[off:off + step]))
            for k, v in {"revocation_version": 1, "revocation_issued_at": now, "revocation_checked_at": now,
                         "revocation_entries": n}.items():
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (k, str(v)))
            conn.execute("COMMIT")
            store.raise_time_floor(now)
    how = "Store.apply_list of a signed snapshot" if via_list else "direct SQL inserts"
    size = path.stat().st_size / 1e6
    print(f"  built {n:,} entries in {time.perf_counter() - t:.1f} s ({how}); database {size:.0f} MB")
    marker.write_text(authority.public.raw.hex())
    return ids[:: max(1, n // 10000)]


def lookup_latency(store: Store, present: np.ndarray, samples: int = 20000) -> tuple[float, float]:
    """Median and p99 of single lookups in microseconds: half ids in the list, half not."""
    rng = np.random.default_rng(7)
    probes = [bytes(present[i]) for i in rng.integers(0, len(present), samples // 2)]
    probes += [rng.bytes(12) for _ in range(samples // 2)]
    rng.shuffle(probes)
    lat = []
    for pid in probes:
        t = time.perf_counter_ns()
        store.lookup(pid)
        lat.append(time.perf_counter_ns() - t)
    lat.sort()
    return lat[len(lat) // 2] / 1000, lat[int(len(lat) * 0.99)] / 1000


def load_or_make_key(path: Path) -> PrivateKey:
    if path.exists():
        return PrivateKey.from_pem(path.read_bytes())
    key = PrivateKey.generate()
    path.write_bytes(key.to_pem())
    return key


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per throughput measurement")
    ap.add_argument("--big", type=int, default=10_000_000, help="entries in the large cache (0: skip)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gk-bench"))
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the issue asks
    args.workdir.mkdir(parents=True, exist_ok=True)
    # The keys are kept with the databases so that a cached database's trust list still fits.
    authority, issuer = (load_or_make_key(args.workdir / f"{name}.key") for name in ("authority", "issuer"))
    now = int(time.time())
    tl = TrustList(1, now - 60, (Issuer(issuer.public, now - DAY, now + 365 * DAY, (SCOPE,)),))
    trust_bytes = tl.sign(authority)

    print("== pass size")
    # Chinese labels (issue 12): a typical unit label and the longest the 24-byte budget allows.
    for scope, label in (("maple-court", "A-101-1203"), ("maple-court/east", "B7-1203-02"), ("maple-court", None),
                         ("maple-court", "3栋2单元101"), ("maple-court", "3号楼2单元101"),
                         ("maple-court/east", "栋" * 8)):
        text = issue(issuer, PassClaims(issuer.kid, new_pass_id(), now, now + 30 * DAY, scope, Status.GREEN, label))
        qm = segno.make(text, error="m", boost_error=False, micro=False)
        ql = segno.make(text, error="l", boost_error=False, micro=False)
        size = f"{len(label.encode())} B" if label else "-"
        print(f"  scope {scope!r:19} label {label!r:13} ({size:>4}) {len(text):3} chars  QR {qm.designator} "
              f"({qm.symbol_size(border=0)[0]} modules), {ql.designator} ({ql.symbol_size(border=0)[0]} modules)")
    text = issue(issuer, PassClaims(issuer.kid, new_pass_id(), now - DAY, now + 30 * DAY, SCOPE, Status.GREEN,
                                    "A-101-1203"))

    print(f"== decisions/s, one core ({args.seconds:g} s per figure, median of 5 rounds)")
    policy, clock = Policy(SCOPE), Clock(time.time(), now - 60)
    assert decide(text, tl, policy, clock, lambda pid: None, now).allow
    pure = rate(lambda: decide(text, tl, policy, clock, lambda pid: None, now), args.seconds)
    print(f"  pure core, valid pass (parse + verify + policy): {pure:8,.0f} /s  (budget >= 5,000)")

    for n, via_list in ((1_000_000, True), (args.big, False)):
        if not n:
            continue
        print(f"== {n:,} cached revocation entries")
        path = args.workdir / f"core-{n}.db"
        present = build_store(path, authority, trust_bytes, n, now, via_list)
        settings = Settings(device=DeviceSettings(scope=SCOPE, store=path), base_dir=args.workdir)
        cp = Checkpoint(settings, Store(path, authority.public))
        d = cp.decide(text)
        assert d.allow, d
        revoked = issue(issuer, PassClaims(issuer.kid, bytes(present[0]), now - DAY, now + DAY, SCOPE))
        assert cp.decide(revoked).reason.value == "revoked"
        med, p99 = lookup_latency(cp.store, present)
        print(f"  lookup: median {med:6.1f} us, p99 {p99:6.1f} us  (budget p99 <= 1000 us)")
        full = rate(lambda cp=cp: cp.decide(text), args.seconds)
        print(f"  Checkpoint.decide (core + store), valid pass: {full:8,.0f} /s  (budget >= 5,000)")
        cp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
