#!/usr/bin/env python3
"""Benchmark applying revocation lists; print the figures docs/PERFORMANCE.md records.

    .venv/bin/python tools/bench_lists.py [--entries 1000000] [--delta 1000] [--workdir /tmp/gk-bench-lists]

1. Makes a signed full snapshot of ``--entries`` random entries and reports its file size.
2. Applies it to a fresh device store in a child process that does nothing else, and reports the
   apply time (verify + parse + one SQLite transaction, fsync'd), the child's RSS before the apply
   and its peak RSS (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` after the child exits),
   and the database size.
3. Applies a delta on top (``--delta`` entries added, a tenth of that many lifted) and reports
   its time, then checks a few lookups so the figures are for a list that really took effect.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from gatekeeper.gate.store import Store
from gatekeeper.verify import EntryState, PrivateKey, PublicKey, RevocationList

CHILD = """
import json, resource, sys, time
from pathlib import Path
from gatekeeper.gate.store import Store
from gatekeeper.verify import PublicKey
db, pub, lst = sys.argv[1:4]
store = Store(db, PublicKey.from_raw(bytes.fromhex(pub)))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
data = Path(lst).read_bytes()
r = store.apply_list(data)
dt = time.perf_counter() - t
store.close()
print(json.dumps({"seconds": dt, "rss_before_kb": before, "entries": r.entries, "version": r.version}))
"""


def records(ids: np.ndarray, state: int, since: int) -> bytes:
    rec = np.zeros(len(ids), dtype=[("id", "S12"), ("state", "u1"), ("since", ">u8")])
    rec["id"], rec["state"], rec["since"] = np.sort(ids), state, since
    return rec.tobytes()


def random_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    ids = np.unique(rng.integers(0, 256, size=(n + n // 1000 + 16, 12), dtype=np.uint8).view("S12").ravel())
    return np.sort(rng.choice(ids, n, replace=False))


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def make_lists(workdir: Path, entries: int, delta_n: int) -> None:
    """Write the signed snapshot and delta, and what the checks need, into ``workdir``.

    Run in its own process so that the parent stays small: a child inherits its parent's peak
    RSS across fork and exec, which would blur the apply child's own peak.
    """
    authority = PrivateKey.generate()
    now = int(time.time())
    rng = np.random.default_rng(1)
    ids = random_ids(rng, entries)
    full = RevocationList(1, now - 600, None, records(ids, int(EntryState.REVOKED), now - 86400))
    t = time.perf_counter()
    (workdir / "full.gkl").write_bytes(full.sign(authority))
    sign_s = time.perf_counter() - t
    added = random_ids(np.random.default_rng(2), delta_n)
    lifted = np.sort(rng.choice(ids, max(1, delta_n // 10), replace=False))
    delta = RevocationList(2, now - 300, 1, records(added, int(EntryState.RED), now - 60), lifted.tobytes())
    (workdir / "delta.gkl").write_bytes(delta.sign(authority))
    kept = [bytes(i).hex() for i in ids[:50]]
    (workdir / "facts.json").write_text(json.dumps({
        "authority": authority.public.raw.hex(), "sign_s": sign_s, "added": bytes(added[0]).hex(),
        "lifted": bytes(lifted[0]).hex(), "lifted_n": len(lifted), "kept": kept,
        "lifted_all": [bytes(i).hex() for i in lifted]}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--delta", type=int, default=1000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gk-bench-lists"))
    ap.add_argument("--make", action="store_true", help=argparse.SUPPRESS)  # internal: the list-making child
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.make:
        make_lists(args.workdir, args.entries, args.delta)
        return 0
    db = args.workdir / "device.db"
    for p in args.workdir.glob("device.db*"):
        p.unlink()
    subprocess.run([sys.executable, __file__, "--make", "--entries", str(args.entries), "--delta", str(args.delta),
                    "--workdir", str(args.workdir)], check=True)
    facts = json.loads((args.workdir / "facts.json").read_text())
    full_path = args.workdir / "full.gkl"
    size = full_path.stat().st_size
    print(f"== full snapshot: {args.entries:,} entries, file {size / 1e6:.1f} MB "
          f"({size / max(1, args.entries):.2f} bytes/entry), signed in {facts['sign_s']:.2f} s")
    authority = PublicKey.from_raw(bytes.fromhex(facts["authority"]))
    # the store needs the trust list only for issuer-signed lists: this one is the authority's
    Store(db, authority).close()
    own_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = subprocess.run([sys.executable, "-c", CHILD, str(db), facts["authority"], str(full_path)],
                           capture_output=True, text=True, check=True)
    out = json.loads(child.stdout)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"  apply (child process, fsync'd): {out['seconds']:.2f} s  (budget <= 15 s)")
    print(f"  child RSS: {out['rss_before_kb'] / 1024:.0f} MB after imports, peak {peak_kb / 1024:.0f} MB "
          f"(budget < 200 MB; this parent, whose peak a child inherits, was {own_kb / 1024:.0f} MB)")
    print(f"  database: {size_mb(db):.1f} MB (file + WAL)")

    data = (args.workdir / "delta.gkl").read_bytes()
    with Store(db, authority) as store:
        t = time.perf_counter()
        r = store.apply_list(data)
        dt = time.perf_counter() - t
        assert (r.version, r.entries) == (2, args.delta)
        assert store.lookup(bytes.fromhex(facts["added"])).state is EntryState.RED
        assert store.lookup(bytes.fromhex(facts["lifted"])) is None
        lifted = set(facts["lifted_all"])
        assert all(store.lookup(bytes.fromhex(k)) is not None for k in facts["kept"] if k not in lifted)
        total = store.list_status().revocation_entries
    print(f"== delta: {args.delta:,} added, {facts['lifted_n']:,} lifted, file {len(data) / 1e3:.1f} kB: "
          f"applied in {dt * 1000:.0f} ms  (budget <= 500 ms); {total:,} entries cached")
    print(f"  database after the delta: {size_mb(db):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
