#!/usr/bin/env python3
"""Benchmark the gate daemon as it runs: frame-to-relay latency, memory, start-up time.

    .venv/bin/python tools/bench_daemon.py [--revocations 1000000] [--presentations 40]

Runs the real ``gatekeeper run`` as a subprocess on a folder of real frames (paced at 30/s, as a
camera delivers them), with a device store holding ``--revocations`` cached entries, and prints:
- the latency from a frame's capture to the relay command (the decision event's ``latency_ms``,
  measured after the durable log write, just before the gate acts) against the decode time of that
  same frame, as a ratio; and its parts: capture to decided (``decision_ms``), the log write;
- start-up time to READY (process spawn to the ``ready`` event);
- resident memory: VmRSS while running and the peak (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gatekeeper.gate.store import Store  # noqa: E402 -- after the path is set
from gatekeeper.verify import RevocationList  # noqa: E402
from tests.kit.gate import GATEKEEPER, GateSite, write_frames  # noqa: E402


def big_revocation_list(site: GateSite, n: int) -> bytes:
    """A signed full snapshot of ``n`` random entries (version 2, on top of the site's v1)."""
    rng = np.random.default_rng(1)
    ids = np.unique(rng.integers(0, 256, size=(n, 12), dtype=np.uint8).view("S12").ravel())
    rec = np.zeros(len(ids), dtype=[("id", "S12"), ("state", "u1"), ("since", ">u8")])
    rec["id"], rec["state"], rec["since"] = ids, 1, int(time.time()) - 3600
    return RevocationList(2, int(time.time()), None, rec.tobytes()).sign(site.site.authority)


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) // 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--revocations", type=int, default=1_000_000)
    ap.add_argument("--presentations", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        site = GateSite(tmp_path / "site")
        t = time.perf_counter()
        with Store(site.root / "state" / "gatekeeper.db", site.site.authority_public) as store:
            r = store.apply_list(big_revocation_list(site, args.revocations))
        print(f"store: {r.entries:,} revocations applied in {time.perf_counter() - t:.1f} s")
        passes = [site.issue(label=f"U-{i}") for i in range(args.presentations)]
        script: list = [(None, 15)]
        for p in passes:
            script += [(p, 3), (None, 12)]
        frames = tmp_path / "frames"
        write_frames(frames, [*script, (None, 10)])

        start = time.perf_counter()
        proc = subprocess.Popen([*GATEKEEPER, "run", "--config", str(site.config), "--source", f"images:{frames}",
                                 "--events", "json", "--exit-when-done"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        ready_s, mem, decisions = None, {}, []
        assert proc.stdout is not None
        for line in proc.stdout:
            e = json.loads(line)
            if e["event"] == "ready":
                ready_s = time.perf_counter() - start
            elif e["event"] == "decision":
                decisions.append(e)
                if len(decisions) == len(passes) // 2:
                    mem = proc_status(proc.pid)
        proc.wait(60)
    ok = [d for d in decisions if d["reason"] == "ok"]
    lat = [d["latency_ms"] for d in ok]
    dec = [d["decode_ms"] for d in ok]
    ratios = [d["latency_ms"] / d["decode_ms"] for d in ok]
    decided = [d["decision_ms"] - d["decode_ms"] for d in ok]
    logged = [d["latency_ms"] - d["decision_ms"] for d in ok]
    print(f"decisions: {len(decisions)} ({len(ok)} allowed) of {len(passes)} presentations")
    print(f"frame->relay latency: median {statistics.median(lat):.2f} ms, p90 {np.percentile(lat, 90):.2f} ms")
    print(f"decode time of those frames: median {statistics.median(dec):.2f} ms")
    print(f"  of the rest: hand-off + decision median {statistics.median(decided):.2f} ms, "
          f"durable log write (fsync) median {statistics.median(logged):.2f} ms")
    print(f"latency / decode time (same frame): median {statistics.median(ratios):.2f}x   (budget <= 1.5x)")
    print(f"start-up to READY: {ready_s:.2f} s   (budget <= 3 s)")
    print(f"resident memory with {args.revocations:,} revocations: VmRSS {mem.get('VmRSS')} MB, "
          f"peak VmHWM {mem.get('VmHWM')} MB   (budget <= 150 MB)")
    print(f"command: {' '.join(sys.argv)}  (cpus: {os.cpu_count()})")


if __name__ == "__main__":
    main()
