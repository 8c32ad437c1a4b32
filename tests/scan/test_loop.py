"""The threaded frame loop on real sources and real decoders."""

from __future__ import annotations

import logging
import statistics
import threading
import time

import cv2
import numpy as np

from gatekeeper.scan.decoders import default_decoder
from gatekeeper.scan.loop import FrameLoop, FrameStats, LatestSlot
from gatekeeper.scan.sources import (
    ArraySource,
    Frame,
    ImageFolderSource,
    SyntheticSource,
)
from gatekeeper.scan.synthetic import steady_pose
from tests.kit.core import wait_until
from tests.scan.scan_images import on_canvas, qr_image


def run_loop(source, decoder, **kw):
    got, stats = [], []
    loop = FrameLoop(source, decoder, got.append, on_frame=stats.append, **kw)
    loop.start()
    assert loop.join(60), "the loop did not finish a finite source"
    loop.stop()
    return loop, got, stats


def test_a_synthetic_scene_gives_one_presentation_per_pass_in_order():
    script = [(None, 0.25), ("PASS ONE", 0.5), (None, 1.5), ("PASS TWO", 0.5), (None, 0.25)]
    source = SyntheticSource(script, fps=60.0, realtime=False, seed=1)
    loop, got, stats = run_loop(source, default_decoder(), lossless=True)
    assert loop.done
    assert [p.payload for p in got] == [b"PASS ONE", b"PASS TWO"]
    assert 15 <= got[0].frame_index < 45 and 135 <= got[1].frame_index < 165
    for p in got:
        assert p.decode_ms > 0
    assert len(stats) == loop.frames_decoded == 180 and loop.dropped == 0


# One showing, one decision: a pass held 4 s (past the 3 s cooldown), a flicker out of view
# shorter than the gap, the same pass again after a real absence, and a pass shown again 1.5 s
# after its decision (gap passed, cooldown not: decided once the cooldown is over).
SHOWINGS = [(None, 1.0), ("HELD PASS", 4.0), (None, 0.5), ("HELD PASS", 1.0), (None, 2.0),
            ("HELD PASS", 1.0), (None, 1.0), ("QUICK PASS", 0.5), (None, 1.2), ("QUICK PASS", 2.5),
            (None, 1.0)]


def decisions(fps: float, lossless: bool = True) -> list[tuple[bytes, float]]:
    source = SyntheticSource(SHOWINGS, fps=fps, realtime=not lossless, seed=2, poses=steady_pose)
    _, got, _ = run_loop(source, default_decoder(), lossless=lossless)
    t0 = source.started_at
    return [(p.payload, p.captured_at - t0) for p in got]


def test_the_same_scene_gives_the_same_decisions_at_3_and_60_frames_per_second():
    slow, fast = decisions(3.0), decisions(60.0)
    assert [p for p, _ in slow] == [p for p, _ in fast] == [
        b"HELD PASS", b"HELD PASS", b"QUICK PASS", b"QUICK PASS"]
    # Each decision within one slow frame period of the same decision at 60 frames/s; the
    # second QUICK PASS, back at 12.2 s, waits for the cooldown: 3 s after the first.
    assert all(abs(a - b) <= 1 / 3 + 1e-6 for (_, a), (_, b) in zip(slow, fast, strict=True))
    assert [round(t, 2) for _, t in fast] == [1.0, 8.5, 10.5, 13.5]


def test_a_live_loop_that_drops_frames_decides_the_same():
    """At 60 frames/s in real time the loop drops frames when the decoder is busy; the scene clock
    keeps the decisions those of the lossless replay."""
    assert [p for p, _ in decisions(60.0, lossless=False)] == [p for p, _ in decisions(60.0)]


def test_an_image_folder_through_the_loop(tmp_path):
    for i, text in enumerate(["PASS A", "PASS A", "PASS B"]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), on_canvas(qr_image(text)))
    loop, got, _ = run_loop(ImageFolderSource(tmp_path), default_decoder(), lossless=True)
    assert [p.payload for p in got] == [b"PASS A", b"PASS B"] and loop.done


class SlowDecoder:
    """A real decoder made slow: every call sleeps first."""

    name = "slow"

    def __init__(self, delay_s: float):
        self.delay_s, self.inner = delay_s, default_decoder()

    def decode(self, image):
        time.sleep(self.delay_s)
        return self.inner.decode(image)


def test_a_slow_decoder_drops_frames_and_latency_does_not_grow():
    # Frames come at 100/s, the decoder takes 40 ms: a queue would make the wait grow by
    # ~30 ms per frame; the latest slot keeps it under one decode plus one frame period.
    images = [on_canvas(qr_image("HELD")) for _ in range(150)]
    loop, got, stats = run_loop(ArraySource(images, fps=100.0), SlowDecoder(0.04))
    assert loop.dropped > 50
    assert len(stats) + loop.dropped == 150
    waits = [(s.decoded_at - s.captured_at) * 1000 - s.decode_ms for s in stats]
    # A queue would have the last frames waiting ~3 s (150 frames x 30 ms of backlog each);
    # the bound is 15x looser than that so a busy machine cannot fail it, a queue always would.
    assert statistics.median(waits[-5:]) < 200
    assert [p.payload for p in got] == [b"HELD"]


class FlakyDecoder:
    """Raises on every third frame, decodes the others for real."""

    name = "flaky"

    def __init__(self):
        self.calls, self.inner = 0, default_decoder()

    def decode(self, image):
        self.calls += 1
        if self.calls % 3 == 0:
            raise RuntimeError("decoder blew up")
        return self.inner.decode(image)


def test_a_decoder_that_raises_does_not_stop_the_loop(caplog):
    images = [on_canvas(qr_image("FIRST"))] * 10 + [on_canvas(None)] * 40 + [on_canvas(qr_image("SECOND"))] * 10
    with caplog.at_level(logging.ERROR, logger="gatekeeper.scan"):
        loop, got, stats = run_loop(ArraySource(images, fps=30.0), FlakyDecoder(), lossless=True)
    assert loop.done and loop.frames_decoded == 60 and loop.decode_errors == 20
    assert sum(s.failed for s in stats) == 20
    assert [p.payload for p in got] == [b"FIRST", b"SECOND"]
    assert any("decoder blew up" in r.exc_text for r in caplog.records if r.exc_text)


def test_a_presentation_handler_that_raises_does_not_stop_the_loop():
    calls = []

    def handler(p):
        calls.append(p.payload)
        raise ValueError("daemon bug")

    images = [on_canvas(qr_image("ONE"))] * 3 + [on_canvas(qr_image("TWO"))] * 3
    loop = FrameLoop(ArraySource(images), default_decoder(), handler, lossless=True)
    loop.start()
    assert loop.join(30) and loop.done
    assert calls == [b"ONE", b"TWO"]


class DeadCamera:
    """A live source that gives two frames, then nothing until it is reopened."""

    finite = False

    def __init__(self):
        self.opens = self.closes = 0
        self.served = 0

    def open(self):
        self.opens += 1
        self.served = 0

    def read(self):
        if self.served < 2:
            self.served += 1
            return Frame(np.full((48, 64), 128, np.uint8), time.monotonic(), self.served)
        time.sleep(0.01)
        return None

    def close(self):
        self.closes += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_a_camera_with_no_frames_is_reopened_and_last_frame_at_shows_it():
    cam = DeadCamera()
    loop = FrameLoop(cam, default_decoder(), lambda p: None, reopen_after_s=0.2)
    loop.start()
    first = wait_until(lambda: loop.last_frame_at is not None, timeout=30) and loop.last_frame_at
    reopened = wait_until(lambda: cam.opens >= 3 and loop.reopens >= 2, timeout=30)
    last = loop.last_frame_at
    loop.stop()
    assert reopened
    # each reopened camera gave frames again: last_frame_at moved on, and never into the future
    assert first and first < last <= time.monotonic()
    assert not loop.done  # a live source is never "done"


def test_latest_slot_replaces_and_counts():
    slot = LatestSlot()
    for i in range(5):
        slot.put(Frame(np.zeros((2, 2), np.uint8), float(i), i))
    assert slot.take(0.01).index == 4 and slot.dropped == 4 and slot.take(0.01) is None


def test_latest_slot_blocking_waits_for_room():
    slot = LatestSlot(block=True)
    slot.put(Frame(np.zeros((2, 2), np.uint8), 0.0, 0))
    t = threading.Thread(target=slot.put, args=(Frame(np.zeros((2, 2), np.uint8), 1.0, 1),))
    t.start()
    t.join(0.1)
    assert t.is_alive()  # the second put waits for the first frame to be taken (it cannot end before a take)
    assert slot.take(0.1).index == 0
    t.join(1)
    assert slot.take(0.1).index == 1 and slot.dropped == 0


def test_stats_are_per_decoded_frame():
    images = [on_canvas(None)] * 5
    _, _, stats = run_loop(ArraySource(images), default_decoder(), lossless=True)
    assert [s.frame_index for s in stats] == list(range(5))
    assert all(isinstance(s, FrameStats) and s.codes == 0 for s in stats)

