#!/usr/bin/env python3
"""Scan pipeline benchmark: decoders on the real-photo corpus and on synthetic gate scenes, the
cost of an empty frame, the loop's overhead and latency, and whether decoding scales on 2 threads.

    .venv/bin/python tools/bench_scan.py            # about a minute on 2 shared cores
    .venv/bin/python tools/bench_scan.py --json     # the same figures as JSON

Timings are medians; ratios are taken within this one run (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper.scan.decoders import (
    OpenCVDecoder,
    PyzbarDecoder,
    ZxingDecoder,
    build_decoder,
    default_decoder,
)
from gatekeeper.scan.loop import FrameLoop
from gatekeeper.scan.sources import ArraySource
from gatekeeper.scan.synthetic import render_scene

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
ALPHABET = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$%*+-./:")


def decoders() -> dict:
    """Every raw decoder, and the chains worth comparing."""
    return {
        "zxing (no invert)": ZxingDecoder(try_invert=False),
        "zxing": ZxingDecoder(),
        "pyzbar": PyzbarDecoder(),
        "opencv": OpenCVDecoder(),
        "chain zxing (+own rescues)": build_decoder(["zxing"]),
        "chain default": default_decoder(),
        "chain zxing+pyzbar+opencv": build_decoder(["zxing", "pyzbar", "opencv"]),
    }


def timed(decoder, image) -> tuple[list[bytes], float]:
    t0 = time.perf_counter()
    found = decoder.decode(image)
    return [c.payload for c in found], (time.perf_counter() - t0) * 1000


def corpus() -> tuple[list[tuple[np.ndarray, bytes]], list[np.ndarray]]:
    items, empties = [], []
    for folder in sorted(CORPUS.glob("qrcode-*")):
        for path in sorted(folder.iterdir()):
            text = path.with_suffix(".txt")
            if path.suffix in (".png", ".jpg", ".webp") and text.exists():
                items.append((cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), text.read_bytes()))
    for folder in sorted(CORPUS.glob("falsepositives-*")):
        for path in sorted(folder.iterdir()):
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                empties.append(image)
    return items, empties


def read_rates(decs: dict, items, empties) -> dict:
    out = {}
    for name, d in decs.items():
        hits, ms = 0, []
        for image, expected in items:
            got, dt = timed(d, image)
            hits += expected in got
            ms.append(dt)
        false = sum(bool(d.decode(e)) for e in empties)
        out[name] = {"read": hits, "of": len(items), "rate": round(100 * hits / len(items), 1),
                     "false_positives": false, "median_ms": round(statistics.median(ms), 3)}
    return out


def scenes(n: int, seed: int = 42) -> list[tuple[np.ndarray, bytes]]:
    """Pass-like payloads (alphanumeric, 60-190 characters) on random phone poses."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        text = "GK1:" + "".join(rng.choice(ALPHABET, int(rng.integers(60, 190))))
        out.append((render_scene(text, (640, 480), rng), text.encode()))
    return out


def empty_frames(n: int, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [render_scene(None, (640, 480), rng) for _ in range(n)]


def empty_cost(decs: dict, empties: list[np.ndarray], rounds: int = 5) -> dict:
    out = {}
    for name, d in decs.items():
        ms = [timed(d, e)[1] for _ in range(rounds) for e in empties]
        out[name] = round(statistics.median(ms), 3)
    return out


def loop_vs_bare(frames: list[np.ndarray], rounds: int = 3) -> dict:
    """Frames/s of bare decoder calls and of the loop (lossless: every frame decoded), interleaved."""
    bare, looped = [], []
    for _ in range(rounds):
        d = default_decoder()
        t0 = time.perf_counter()
        for f in frames:
            d.decode(f)
        bare.append(len(frames) / (time.perf_counter() - t0))
        loop = FrameLoop(ArraySource(frames), default_decoder(), lambda p: None, lossless=True)
        t0 = time.perf_counter()
        loop.start()
        loop.join(120)
        looped.append(loop.frames_decoded / (time.perf_counter() - t0))
        loop.stop()
    b, lp = statistics.median(bare), statistics.median(looped)
    return {"bare_fps": round(b, 1), "loop_fps": round(lp, 1), "ratio": round(lp / b, 3)}


def latency(frames: list[np.ndarray], fps: float) -> dict:
    """Capture-to-decision time through the live (dropping) loop at a camera's frame rate."""
    added, decode, total = [], [], []

    def stat(s):
        total.append((s.decoded_at - s.captured_at) * 1000)
        decode.append(s.decode_ms)
        added.append(total[-1] - s.decode_ms)

    loop = FrameLoop(ArraySource(frames, fps=fps), default_decoder(), lambda p: None, on_frame=stat)
    loop.start()
    loop.join(120)
    loop.stop()
    return {"fps": fps, "frames": len(frames), "decoded": loop.frames_decoded, "dropped": loop.dropped,
            "median_capture_to_decision_ms": round(statistics.median(total), 2),
            "median_decode_ms": round(statistics.median(decode), 2),
            "median_added_ms": round(statistics.median(added), 2),
            "p95_added_ms": round(float(np.percentile(added, 95)), 2)}


def threads_scale(frames: list[np.ndarray], rounds: int = 3) -> dict:
    """Throughput of the same work on one thread and split over two (one decoder each)."""
    def work(chunk, out, i):
        d = default_decoder()
        for f in chunk:
            d.decode(f)
        out[i] = True

    one, two = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        work(frames, {}, 0)
        one.append(len(frames) / (time.perf_counter() - t0))
        halves = [frames[0::2], frames[1::2]]
        done: dict = {}
        ts = [threading.Thread(target=work, args=(h, done, i)) for i, h in enumerate(halves)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        two.append(len(frames) / (time.perf_counter() - t0))
    a, b = statistics.median(one), statistics.median(two)
    return {"one_thread_fps": round(a, 1), "two_threads_fps": round(b, 1), "speedup": round(b / a, 2)}


def table(title: str, header: list[str], rows: list[list]) -> str:
    lines = [f"\n{title}", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--scenes", type=int, default=150, help="synthetic pass frames (default 150)")
    args = ap.parse_args()
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    results: dict = {}
    decs = decoders()

    if CORPUS.is_dir():
        say("corpus ...")
        items, fp_images = corpus()
        results["corpus"] = read_rates(decs, items, fp_images)
    say("synthetic scenes ...")
    results["synthetic"] = read_rates(decs, scenes(args.scenes), empty_frames(40, seed=3))
    say("empty frames ...")
    empties = empty_frames(30)
    results["empty_ms"] = empty_cost(decs, empties)
    mix = empties * 9 + [f for f, _ in scenes(30, seed=9)]  # a gate: mostly empty frames
    say("loop vs bare ...")
    results["loop"] = loop_vs_bare(mix)
    say("latency ...")
    results["latency"] = latency(mix[::2], fps=60.0)
    say("threads ...")
    results["threads"] = threads_scale(mix)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = []
    for name in decs:
        c = results.get("corpus", {}).get(name, {})
        s = results["synthetic"][name]
        rows.append([name, f"{c.get('rate', '-')}% ({c.get('read', '-')}/{c.get('of', '-')})",
                     c.get("false_positives", "-"), c.get("median_ms", "-"),
                     f"{s['rate']}% ({s['read']}/{s['of']})", s["false_positives"], s["median_ms"],
                     results["empty_ms"][name]])
    print(table("Decoders (one image each; false positives: falsepositives-* / empty scenes)",
                ["decoder", "corpus read", "corpus FP", "corpus ms", "synthetic read", "synth FP",
                 "synthetic ms", "empty 640x480 ms"], rows))
    lp, la, th = results["loop"], results["latency"], results["threads"]
    print(table("Loop (default chain; 270 empty + 30 pass frames)", ["measure", "value"], [
        ["bare decoder calls, frames/s", lp["bare_fps"]],
        ["through FrameLoop (lossless), frames/s", lp["loop_fps"]],
        ["loop / bare", lp["ratio"]],
        [f"capture-to-decision median at {la['fps']:g} fps, ms", la["median_capture_to_decision_ms"]],
        ["decode median, ms", la["median_decode_ms"]],
        ["added by the loop: median / p95, ms", f"{la['median_added_ms']} / {la['p95_added_ms']}"],
        ["frames decoded / dropped", f"{la['decoded']} / {la['dropped']}"],
        ["1 thread / 2 threads, frames/s", f"{th['one_thread_fps']} / {th['two_threads_fps']}"],
        ["2-thread speedup", th["speedup"]],
    ]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
