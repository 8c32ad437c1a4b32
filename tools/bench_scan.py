#!/usr/bin/env python3
"""Scan pipeline benchmark: decoders on real photos of codes in hard conditions (per folder, at
1280 and 640 px), on the corpus and on synthetic gate scenes; the cost of an empty frame; the
time from a code's first appearance to its decision across frames; the loop's overhead and
latency; whether decoding scales on 2 threads.

    .venv/bin/python tools/bench_scan.py            # a few minutes on 2 shared cores
    .venv/bin/python tools/bench_scan.py --json     # the same figures as JSON

Timings are medians; ratios are taken within this one run (the machine is shared and noisy).
Real photos (../shared/corpus-realphoto, see its NOTICE.md): a marked code counts as read when a
decoder returns a code whose centre lies inside its hand-marked corners, each marked code once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper.scan.decoders import (
    OpenCVDecoder,
    PyzbarDecoder,
    RescueChain,
    ZxingDecoder,
    build_decoder,
    decode_held,
    default_decoder,
    zxing_rescuers,
)
from gatekeeper.scan.loop import FrameLoop
from gatekeeper.scan.presentations import PresentationTracker
from gatekeeper.scan.sources import ArraySource, SyntheticSource
from gatekeeper.scan.synthetic import Pose, random_pose, render_scene

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus"
REALPHOTO = SHARED / "corpus-realphoto"
GATE_FOLDERS_SKIP = ("lots",)  # sheets of many tiny codes: not what a gate sees
PI4 = "chain default, 4 ms rescue budget (Pi 4 estimate)"
PI4_NO_RESUME = "chain default, 4 ms rescue budget, no resume"
NO_BUDGET = "chain default, no rescue budget"
NO_CYCLE = "chain default without the cycle of looks, no rescue budget"
HELD_FRAMES = (1, 3, 10, 30)  # a code held in view for a second at 30 frames/s
HELD = 10  # the per-folder tables' held figure: a third of a second, a whole cycle of looks
ALPHABET = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$%*+-./:")


def decoders() -> dict:
    """Every raw decoder, and the chains worth comparing."""
    return {
        "zxing (no invert)": ZxingDecoder(try_invert=False),
        "zxing": ZxingDecoder(),
        "pyzbar": PyzbarDecoder(),
        "opencv": OpenCVDecoder(),
        "chain zxing (+own rescues)": build_decoder(["zxing"]),
        "chain default, no second look": RescueChain(ZxingDecoder(), zxing_rescuers([PyzbarDecoder()]),
                                                     second_look=False),
        "chain default": default_decoder(),
        # Reads with no time limit on rescues: the same on any machine under any load.
        NO_BUDGET: RescueChain(ZxingDecoder(), zxing_rescuers([PyzbarDecoder()]), budget_ms=None),
        # Every frame as the first frame of a cycle (dark mode tried, no look): the chain before the cycle.
        NO_CYCLE: RescueChain(ZxingDecoder(), zxing_rescuers([PyzbarDecoder()]), budget_ms=None, cycle=()),
        # A Pi 4 core is 4-6x slower: its 20 ms budget leaves the rescues what 4-5 ms leave here.
        PI4: RescueChain(ZxingDecoder(), zxing_rescuers([PyzbarDecoder()]), budget_ms=4.0),
        # Each frame restarts its rescues from the first step (as before the resume existed).
        PI4_NO_RESUME: RescueChain(ZxingDecoder(), zxing_rescuers([PyzbarDecoder()]), budget_ms=4.0,
                                   resume=False),
        "chain zxing+pyzbar+opencv": build_decoder(["zxing", "pyzbar", "opencv"]),
    }


def still(decoder, image, detail=None) -> list:
    """Codes in a still image: a scene of its own, nothing resumed from the image before."""
    if isinstance(decoder, RescueChain):
        decoder.forget()
    return decoder.decode(image, detail)


def timed(decoder, image) -> tuple[list[bytes], float]:
    if isinstance(decoder, RescueChain):
        decoder.forget()
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
    """Per decoder: images read on one frame (each a new scene), and held in view for one cycle of
    a chain's looks (``held``; the same as one frame for a decoder without looks); false positives
    over the held frames."""
    out = {}
    for name, d in decs.items():
        hits, held, ms = 0, 0, []
        frames = max(1, len(d.cycle)) if isinstance(d, RescueChain) else 1
        for image, expected in items:
            got, dt = timed(d, image)
            hits += expected in got
            held += expected in got or expected in [c.payload for c in decode_held(image, d, frames)]
            ms.append(dt)
        false = sum(bool(decode_held(e, d, frames)) for e in empties)
        out[name] = {"read": hits, "held": held, "of": len(items), "rate": round(100 * hits / len(items), 1),
                     "held_rate": round(100 * held / len(items), 1),
                     "false_positives": false, "median_ms": round(statistics.median(ms), 3)}
    return out


def marked_quads(path: Path) -> list[np.ndarray]:
    """The hand-marked corners in a real photo's .txt (NOTICE.md: SETS of 8 numbers, or 4 lines of 2)."""
    rows, sets = [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == "SETS":
            sets = True
            continue
        rows.append([float(v) for v in line.split()])
    flat = rows if sets else [[v for r in rows for v in r]]
    return [np.float32(r).reshape(4, 2) for r in flat]


def realphotos() -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
    """(folder, gray image, marked quads) for every real photo, as stored (long side <= 1280)."""
    out = []
    for folder in sorted(p for p in REALPHOTO.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg")):
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is not None and path.with_suffix(".txt").exists():
                out.append((folder.name, image, marked_quads(path.with_suffix(".txt"))))
    return out


def marked_read(codes, quads: list[np.ndarray], scale: float = 1.0) -> int:
    """How many marked codes a decoder's results read: a centre inside the marks, each mark once."""
    return len(marked_hits(codes, quads, scale))


def marked_hits(codes, quads: list[np.ndarray], scale: float = 1.0) -> set[int]:
    """Which marked codes a decoder's results read (indices into ``quads``)."""
    hit: set[int] = set()
    for c in codes:
        if c.position is None:
            continue
        cx, cy = (sum(p[0] for p in c.position) / 4 / scale, sum(p[1] for p in c.position) / 4 / scale)
        for i, q in enumerate(quads):
            if i not in hit and cv2.pointPolygonTest(q.reshape(-1, 1, 2), (cx, cy), False) >= 0:
                hit.add(i)
                break
    return hit


def main_stream(image: np.ndarray, scale: float):
    """A Frame.detail reading boxes of a frame scaled by ``scale`` from the full ``image``."""
    def detail(box):
        x0, y0, x1, y1 = (round(v / scale) for v in box)
        return image[y0:y1, x0:x1]
    return detail


def realphoto_rates(decs: dict, photos, width: int | None, main: bool = False) -> dict:
    """Per folder, marked codes read by each decoder with the photo scaled to ``width`` px wide
    (None: as stored). ``main``: the scaled photo is the scanning frame and the stored one its
    high-resolution main stream (a Pi camera's two streams)."""
    out: dict = {}
    for name, d in decs.items():
        per: dict[str, list[int]] = {}
        ms = []
        for folder, image, quads in photos:
            scale = 1.0 if width is None else width / image.shape[1]
            frame = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                           interpolation=cv2.INTER_AREA)
            detail = main_stream(image, scale) if main else None
            if isinstance(d, RescueChain):
                d.forget()  # each photo is a scene of its own
            t0 = time.perf_counter()
            codes = d.decode(frame, detail) if detail is not None else d.decode(frame)
            ms.append((time.perf_counter() - t0) * 1000)
            got = per.setdefault(folder, [0, 0])
            got[0] += marked_read(codes, quads, scale)
            got[1] += len(quads)
        gate = [v for f, v in per.items() if f not in GATE_FOLDERS_SKIP]
        read, of = sum(r for r, _ in gate), sum(n for _, n in gate)
        out[name] = {"folders": {f: {"read": r, "of": n} for f, (r, n) in per.items()},
                     "gate_read": read, "gate_of": of, "gate_rate": round(100 * read / of, 1),
                     "all_rate": round(100 * sum(r for r, _ in per.values()) / sum(n for _, n in per.values()), 1),
                     "median_ms": round(statistics.median(ms), 2), "mean_ms": round(statistics.fmean(ms), 2),
                     "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(max(ms), 1)}
    return out


def held_photos(decs: dict, photos, width: int | None) -> dict:
    """A code held in view: each real photo (15 gate folders) decoded as up to 30 consecutive
    frames of one camera, the decoder's state kept between them; marked codes read within 1, 3, 10
    and 30 frames (a gate decides on the first read). Time budgets make this depend on load."""
    out: dict = {}
    for name, d in decs.items():
        within = dict.fromkeys(HELD_FRAMES, 0)
        folders: dict[str, dict[str, int]] = {}
        of = 0
        for folder, image, quads in photos:
            if folder in GATE_FOLDERS_SKIP:
                continue
            scale = 1.0 if width is None else width / image.shape[1]
            frame = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                           interpolation=cv2.INTER_AREA)
            d.forget()
            of += len(quads)
            seen: set[int] = set()
            # Without a time budget a chain's frames repeat after one cycle of looks: later ones add nothing.
            last = max(1, len(d.cycle)) if d.budget_ms is None else HELD_FRAMES[-1]
            for n in range(1, HELD_FRAMES[-1] + 1):
                if len(seen) < len(quads) and n <= last:  # all read: later frames add nothing
                    seen |= marked_hits(d.decode(frame), quads, scale)
                if n in within:
                    within[n] += len(seen)
                if n == HELD:
                    f = folders.setdefault(folder, {"read": 0, "of": 0})
                    f["read"] += len(seen)
                    f["of"] += len(quads)
        out[name] = {"of": of, "within": {str(n): v for n, v in within.items()}, "folders": folders}
    return out


def small_codes(decs: dict, n: int = 80, seed: int = 3) -> dict:
    """A Pi camera's two streams: passes small in the frame (12-25% of its height) rendered at
    1280x960 (the main stream), scaled to 640x480 (the lores frame the gate scans). Each chain
    reads the lores frame alone and with the main stream as its detail."""
    rng = np.random.default_rng(seed)
    shots = []
    for _ in range(n):
        text = "GK1:" + "".join(rng.choice(ALPHABET, 120))
        pose = replace(random_pose(rng), scale=float(rng.uniform(0.12, 0.25)))
        main = render_scene(text, (1280, 960), rng, pose=pose)
        shots.append((text.encode(), main, cv2.resize(main, (640, 480), interpolation=cv2.INTER_AREA)))
    out = {}
    for name, d in decs.items():
        alone = sum(t in [c.payload for c in still(d, lo)] for t, _, lo in shots)
        both = sum(t in [c.payload for c in still(d, lo, main_stream(main, 0.5))] for t, main, lo in shots)
        out[name] = {"of": n, "lores": alone, "lores_main": both}
    return out


def hard_pose(rng: np.random.Generator) -> Pose:
    """A gate pose with motion blur and glare always on: the hard frames."""
    p = random_pose(rng)
    return Pose(cx=p.cx, cy=p.cy, scale=p.scale, angle=p.angle, tilt=p.tilt, tilt_dir=p.tilt_dir,
                blur=p.blur, motion=rng.uniform(2, 6), glare=rng.uniform(0.4, 0.85), noise=p.noise,
                brightness=p.brightness, dark_mode=p.dark_mode)


def time_to_decision(decs: dict, showings: int = 40, hold_s: float = 2.0, fps: float = 30.0,
                     settle_s: float = 0.6) -> dict:
    """Across frames: scenes of ``showings`` passes, each raised over ``settle_s`` (moving,
    turned away) then held to ``hold_s`` with motion blur and glare, gaps of 1.5 s; per decoder,
    the share decided during the showing and the time from a pass's first frame to its decision
    (scene clock, every frame decoded)."""
    script: list[tuple[str | None, float]] = [(None, 0.5)]
    starts = []
    rng = np.random.default_rng(5)
    t = 0.5
    for i in range(showings):
        text = f"GK1:{i:03d}:" + "".join(rng.choice(ALPHABET, 80))
        script += [(text, hold_s), (None, 1.5)]
        starts.append((text.encode(), t))
        t += hold_s + 1.5
    out = {}
    for name, d in decs.items():
        source = SyntheticSource(script, fps=fps, realtime=False, seed=21, poses=hard_pose, settle_s=settle_s)
        tracker = PresentationTracker()
        if isinstance(d, RescueChain):
            d.forget()
        first: dict[bytes, float] = {}
        frames = 0
        with source:
            while (frame := source.read()) is not None:
                frames += 1
                for payload in tracker.feed([c.payload for c in d.decode(frame.image)],
                                            frame.captured_at - source.started_at):
                    first.setdefault(payload, frame.captured_at - source.started_at)
        waits = [first[p] - t0 for p, t0 in starts if p in first]
        out[name] = {"showings": showings, "decided": len(waits),
                     "decided_pct": round(100 * len(waits) / showings, 1),
                     "median_s": round(statistics.median(waits), 3) if waits else None,
                     "p90_s": round(float(np.percentile(waits, 90)), 3) if waits else None,
                     "within_settle_pct": round(100 * sum(w < settle_s for w in waits) / showings, 1)}
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


def empty_cost(decs: dict, empties: list[np.ndarray], rounds: int = 9) -> dict:
    """Mean and dearest ms per empty frame, each decoder reading the frames as one camera's
    stream (a chain's looks take their turns, nothing forgotten between frames); the decoders
    take turns round by round, so a change in the machine's load falls on all of them."""
    for d in decs.values():
        if isinstance(d, RescueChain):
            d.forget()
    ms: dict[str, list[float]] = {name: [] for name in decs}
    for _ in range(rounds):
        for name, d in decs.items():
            for e in empties:
                t0 = time.perf_counter()
                d.decode(e)
                ms[name].append((time.perf_counter() - t0) * 1000)
    return {name: {"mean": round(statistics.fmean(v), 3), "max": round(max(v), 3)} for name, v in ms.items()}


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
    ap.add_argument("--showings", type=int, default=40, help="passes in the time-to-decision scene (default 40)")
    ap.add_argument("--realphoto-only", action="store_true",
                    help="only the real photos (about a minute): per-folder reads at 1280, 640 and 640 + main")
    ap.add_argument("--empty-only", action="store_true",
                    help="only the empty 640x480 frames' cost, each decoder against raw zxing-cpp (seconds)")
    args = ap.parse_args()
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    results: dict = {}
    decs = decoders()

    if args.empty_only:
        empty = empty_cost(decs, empty_frames(30))
        ratios = {name: {**v, "ratio": round(v["mean"] / empty["zxing"]["mean"], 2)} for name, v in empty.items()}
        print(json.dumps(ratios, indent=2) if args.json else table(
            "Empty 640x480 frames as a stream: mean and dearest ms per frame, mean as a ratio to raw zxing-cpp "
            "(same run)", ["decoder", "mean ms", "dearest ms", "mean / zxing"],
            [[n, v["mean"], v["max"], v["ratio"]] for n, v in ratios.items()]))
        return 0
    if REALPHOTO.is_dir():
        photos = realphotos()
        for label, width, main in (("1280", None, False), ("640", 640, False), ("640+main1280", 640, True)):
            say(f"real photos at {label} ...")
            chosen = decs if not main else {k: v for k, v in decs.items() if k.startswith("chain")}
            results[f"realphoto_{label}"] = realphoto_rates(chosen, photos, width, main)
        held = {k: decs[k] for k in (NO_BUDGET, NO_CYCLE, "chain default", PI4, PI4_NO_RESUME)}
        for label, width in (("1280", None), ("640", 640)):
            say(f"real photos held in view at {label} ...")
            results[f"held_{label}"] = held_photos(held, photos, width)
    if args.realphoto_only:
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print_realphoto_tables(results, list(decs))
        return 0
    if CORPUS.is_dir():
        say("corpus ...")
        items, fp_images = corpus()
        results["corpus"] = read_rates(decs, items, fp_images)
    say("synthetic scenes ...")
    results["synthetic"] = read_rates(decs, scenes(args.scenes), empty_frames(40, seed=3))
    say("empty frames ...")
    empties = empty_frames(30)
    results["empty_ms"] = empty_cost(decs, empties)
    say("small codes, two streams ...")
    results["small_codes"] = small_codes({k: v for k, v in decs.items() if k.startswith("chain")})
    say("time to decision ...")
    results["time_to_decision"] = time_to_decision(
        {k: decs[k] for k in ("zxing", "chain default, no second look", "chain default", PI4, PI4_NO_RESUME)},
        args.showings)
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
    print_tables(results, list(decs))
    return 0


def print_tables(results: dict, names: list[str]) -> None:
    """The figures as the Markdown tables docs/PERFORMANCE.md keeps."""
    empty = results["empty_ms"]
    rows = []
    for name in names:
        c = results.get("corpus", {}).get(name, {})
        s = results["synthetic"][name]
        rows.append([name, f"{c.get('rate', '-')}% ({c.get('read', '-')}/{c.get('of', '-')})",
                     f"{c.get('held_rate', '-')}% ({c.get('held', '-')})",
                     c.get("false_positives", "-"), c.get("median_ms", "-"),
                     f"{s['rate']}% ({s['read']}/{s['of']})", f"{s['held_rate']}% ({s['held']})",
                     s["false_positives"], s["median_ms"],
                     f"{empty[name]['mean']} / {empty[name]['max']}",
                     round(empty[name]["mean"] / empty["zxing"]["mean"], 2)])
    print(table("Decoders (one frame of each image, and held for a chain's cycle of looks; false positives: "
                "falsepositives-* / empty scenes, held; empty frames as a stream)",
                ["decoder", "corpus read", "corpus held", "corpus FP", "corpus ms", "synthetic read", "synthetic held",
                 "synth FP", "synthetic ms", "empty 640x480 mean / dearest ms", "empty mean / zxing"], rows))
    if "realphoto_1280" in results:
        print_realphoto_tables(results, names)
    print_scene_tables(results)


def print_realphoto_tables(results: dict, names: list[str]) -> None:
    """The real-photo tables: per folder (raw decoders and the default chain), and every decoder."""
    if "realphoto_1280" in results:
        wide, narrow, main = results["realphoto_1280"], results["realphoto_640"], results["realphoto_640+main1280"]
        cols = ["zxing", "pyzbar", "opencv", NO_BUDGET]  # the same under any load
        short = ["zxing", "pyzbar", "opencv", "chain"]
        held_w, held_n = results["held_1280"][NO_BUDGET], results["held_640"][NO_BUDGET]
        header = ["folder", *(f"{c} 1280" for c in short), f"**chain 1280 held {HELD} frames**",
                  *(f"{c} 640" for c in short), f"**chain 640 held {HELD} frames**", "chain 640 + main 1280"]
        rows = []
        for folder in wide["zxing"]["folders"]:
            def cell(r, c, folder=folder):
                v = r[c]["folders"][folder]
                return f"{v['read']}/{v['of']}"

            def held(h, folder=folder):
                v = h["folders"].get(folder)
                return "-" if v is None else f"{v['read']}/{v['of']}"
            rows.append([folder, *(cell(wide, c) for c in cols), held(held_w), *(cell(narrow, c) for c in cols),
                         held(held_n), cell(main, cols[-1])])

        def held_rate(h):
            return f"{round(100 * h['within'][str(HELD)] / h['of'], 1)}% ({h['within'][str(HELD)]}/{h['of']})"
        rows.append(["**15 gate folders**", *(f"{wide[c]['gate_rate']}%" for c in cols), held_rate(held_w),
                     *(f"{narrow[c]['gate_rate']}%" for c in cols), held_rate(held_n),
                     f"{main[cols[-1]]['gate_rate']}%"])
        rows.append(["all 16", *(f"{wide[c]['all_rate']}%" for c in cols), "-",
                     *(f"{narrow[c]['all_rate']}%" for c in cols), "-", f"{main[cols[-1]]['all_rate']}%"])
        rows.append(["median / mean ms", *(f"{wide[c]['median_ms']} / {wide[c]['mean_ms']}" for c in cols), "-",
                     *(f"{narrow[c]['median_ms']} / {narrow[c]['mean_ms']}" for c in cols), "-",
                     f"{main[cols[-1]]['median_ms']} / {main[cols[-1]]['mean_ms']}"])
        print(table(f"Real photos: marked codes read per folder (chain: the default, no rescue budget, one frame; "
                    f"held: the same chain on {HELD} frames of the photo)", header, rows))
        chains = [n for n in names if n in narrow]  # every decoder; the main-stream run has the chains
        print(table("Real photos, 15 gate folders, every decoder",
                    ["decoder", "1280 px", "640 px", "640 + main 1280", "640 px: median / p99 / max ms"],
                    [[n, f"{wide[n]['gate_rate']}% ({wide[n]['gate_read']}/{wide[n]['gate_of']})",
                      f"{narrow[n]['gate_rate']}%", f"{main[n]['gate_rate']}%" if n in main else "-",
                      f"{narrow[n]['median_ms']} / {narrow[n]['p99_ms']} / {narrow[n]['max_ms']}"] for n in chains]))
    if "held_1280" in results:
        rows = [[f"{n} at {label}", *(f"{v['within'][str(k)]}/{v['of']}" for k in HELD_FRAMES)]
                for label in ("1280", "640") for n, v in results[f"held_{label}"].items()]
        print(table("Real photos held in view (15 gate folders): marked codes read within N frames",
                    ["decoder", *(f"{k} frame{'s' if k > 1 else ''}" for k in HELD_FRAMES)], rows))


def print_scene_tables(results: dict) -> None:
    """Small codes with two streams, time to decision and the loop's figures."""
    sc = results["small_codes"]
    print(table("Small codes (12-25% of the frame height): lores 640x480 alone and with the 1280x960 main stream",
                ["decoder", "lores alone", "lores + main stream"],
                [[n, f"{v['lores']}/{v['of']}", f"{v['lores_main']}/{v['of']}"] for n, v in sc.items()]))
    ttd = results["time_to_decision"]
    print(table("Time to decision: passes raised over 0.6 s then held to 2 s, with motion blur and glare, "
                "30 frames/s, every frame decoded",
                ["decoder", "decided", "decided while still raised", "median s", "p90 s"],
                [[n, f"{v['decided_pct']}% ({v['decided']}/{v['showings']})", f"{v['within_settle_pct']}%",
                  v["median_s"], v["p90_s"]] for n, v in ttd.items()]))
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


if __name__ == "__main__":
    raise SystemExit(main())
