"""The frame loop: capture on one thread, decode the newest frame on another, report presentations.

Latency is the product: a frame that arrives while the decoder is busy replaces the one waiting
(a one-frame "latest" slot, as Frigate does), so a slow decoder costs frames, never delay. The
presentation callback runs on the decode thread, so the path from frame to decision has no
extra hop; the daemon's decision is fast and must not block for long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from gatekeeper.scan.decoders import Decoder
from gatekeeper.scan.presentations import Presentation, PresentationTracker
from gatekeeper.scan.sources import Frame, FrameSource

__all__ = ["FrameLoop", "FrameStats", "LatestSlot", "Presentation", "PresentationTracker"]

log = logging.getLogger("gatekeeper.scan")


@dataclass(frozen=True)
class FrameStats:
    """What happened to one decoded frame (for metrics and benchmarks)."""

    frame_index: int
    captured_at: float
    decoded_at: float
    decode_ms: float
    codes: int
    dropped_total: int
    failed: bool = False


class LatestSlot:
    """A one-frame mailbox: ``put`` replaces what is waiting (counted as dropped);
    ``take`` waits for a frame. With ``block=True``, ``put`` waits for room instead (offline
    replay of a file, where every frame should be decoded)."""

    def __init__(self, block: bool = False) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.block = block
        self.dropped = 0

    def put(self, frame: Frame, stop: threading.Event | None = None) -> None:
        """Offer a frame."""
        with self._cond:
            if self.block:
                while self._frame is not None and not (stop and stop.is_set()):
                    self._cond.wait(0.05)
            elif self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def close(self) -> None:
        """No more frames will come: wake a waiting ``take`` at once instead of at its timeout."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """True after ``close``."""
        return self._closed

    def take(self, timeout: float) -> Frame | None:
        """The waiting frame, or None after ``timeout`` seconds with none (at once if closed)."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self._cond.notify_all()
            return frame

    def empty(self) -> bool:
        """True when no frame waits."""
        with self._cond:
            return self._frame is None


class FrameLoop:
    """Runs ``source`` through ``decoder`` and calls ``on_presentation`` once per pass shown.

    ``cooldown_s``/``gap_s``: see :class:`PresentationTracker`. ``on_frame`` gets a
    :class:`FrameStats` for every decoded frame. A live source that delivers no frame for
    ``reopen_after_s`` is closed and opened again; ``last_frame_at`` (monotonic, or None before
    the first frame) lets a watchdog see a camera stuck inside its driver. ``lossless=True``
    makes capture wait for the decoder instead of dropping frames (file replay, benchmarks).
    """

    def __init__(self, source: FrameSource, decoder: Decoder,
                 on_presentation: Callable[[Presentation], None], cooldown_s: float = 3.0,
                 gap_s: float = 1.0, on_frame: Callable[[FrameStats], None] | None = None, *,
                 reopen_after_s: float = 5.0, lossless: bool = False) -> None:
        self.source = source
        self.decoder = decoder
        self.on_presentation = on_presentation
        self.on_frame = on_frame
        self.tracker = PresentationTracker(cooldown_s, gap_s)
        self.reopen_after_s = reopen_after_s
        self.slot = LatestSlot(block=lossless)
        self.last_frame_at: float | None = None
        self.frames_read = 0
        self.frames_decoded = 0
        self.decode_errors = 0
        self.reopens = 0
        self._stop = threading.Event()
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def dropped(self) -> int:
        """Frames replaced in the slot before the decoder took them."""
        return self.slot.dropped

    @property
    def done(self) -> bool:
        """True when a finite source has been read to its end and every frame taken decoded."""
        return self._done.is_set()

    def start(self) -> None:
        """Open the source and start the capture and decode threads."""
        if self._threads:
            raise RuntimeError("FrameLoop.start() called twice")
        self.source.open()
        self._threads = [threading.Thread(target=self._capture, name="scan-capture", daemon=True),
                         threading.Thread(target=self._decode, name="scan-decode", daemon=True)]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop both threads and close the source (idempotent)."""
        self._stop.set()
        self.join(2.0)
        try:
            self.source.close()
        except Exception:  # closing a broken camera must not stop the shutdown
            log.exception("closing the frame source failed")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads to end (a finite source ends by itself); True if they did."""
        end = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if end is None else max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # The capture thread: read as fast as the source gives frames; keep only the newest.
    def _capture(self) -> None:
        quiet_since = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except Exception:
                    log.exception("frame source read failed")
                    frame = None
                    if self.source.finite:
                        return
                    time.sleep(0.05)
                if frame is None:
                    if self.source.finite:
                        return
                    if time.monotonic() - quiet_since > self.reopen_after_s:
                        self._reopen()
                        quiet_since = time.monotonic()
                    continue
                quiet_since = frame.captured_at
                self.last_frame_at = frame.captured_at
                self.frames_read += 1
                self.slot.put(frame, self._stop)
        finally:
            self.slot.close()

    def _reopen(self) -> None:
        self.reopens += 1
        log.warning("no frame for %.1f s: reopening the camera (reopen #%d)", self.reopen_after_s, self.reopens)
        try:
            self.source.close()
        except Exception:
            log.exception("closing the stuck frame source failed")
        try:
            self.source.open()
        except Exception:
            log.exception("reopening the frame source failed; will retry")

    # The decode thread: newest frame -> decoder -> tracker -> callback.
    def _decode(self) -> None:
        while not self._stop.is_set():
            ended = self.slot.closed  # read before take: no frame can follow the end
            frame = self.slot.take(0.05)
            if frame is None:
                if ended:
                    self._done.set()
                    return
                continue
            self._handle(frame)

    def _handle(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        failed = False
        try:
            codes = (self.decoder.decode(frame.image) if frame.detail is None
                     else self.decoder.decode(frame.image, frame.detail))
        except Exception:
            # One odd frame must not stop the gate: log it and go on with the next frame.
            log.exception("decoder %s failed on frame %d", getattr(self.decoder, "name", "?"), frame.index)
            self.decode_errors += 1
            codes, failed = [], True
        decode_ms = (time.perf_counter() - t0) * 1000.0
        decoded_at = time.monotonic()
        self.frames_decoded += 1
        for payload in self.tracker.feed([c.payload for c in codes], frame.captured_at):
            try:
                self.on_presentation(Presentation(payload, frame.captured_at, decoded_at, frame.index, decode_ms))
            except Exception:
                log.exception("presentation handler failed")
        if self.on_frame is not None:
            try:
                self.on_frame(FrameStats(frame.index, frame.captured_at, decoded_at, decode_ms,
                                         len(codes), self.slot.dropped, failed))
            except Exception:
                log.exception("frame stats handler failed")
