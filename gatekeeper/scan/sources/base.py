"""What every frame source shares: the frame record, the source interface, pacing, the registry entry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

Box = tuple[int, int, int, int]
"""A region of a frame in its pixels: x0, y0, x1, y1 (x1, y1 exclusive)."""

Detail = Callable[[Box], "np.ndarray | None"]
"""Reads the region ``box`` of a frame from a higher-resolution stream of the same capture: the
same field of view, more pixels. None when that capture's buffer is gone."""


@dataclass(frozen=True)
class Frame:
    """One grayscale frame.

    ``image`` is 2-D uint8; ``captured_at`` is the monotonic capture time (a scripted scene
    stamps its own scene clock, so what follows from it does not depend on how fast frames are
    read); ``index`` counts frames from 0 since the source was created. ``detail`` is set by a
    source with a second, high-resolution stream (a Pi camera's main stream): the decoder reads a
    located but unreadable code again there. Sources with one stream leave it None.
    """

    image: np.ndarray
    captured_at: float
    index: int
    detail: Detail | None = None


@runtime_checkable
class FrameSource(Protocol):
    """Frames from somewhere. ``read`` returns None at the end of a finite source; a live
    source returns None when no frame came in time (the loop's watchdog counts that)."""

    finite: bool

    def open(self) -> None: ...
    def read(self) -> Frame | None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


class Pacer:
    """Holds a finite source to ``fps`` in real time (None: as fast as the reader asks)."""

    def __init__(self, fps: float | None) -> None:
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be positive or None (as fast as possible), not {fps}")
        self.fps = fps
        self._start: float | None = None
        self._n = 0

    def wait(self) -> None:
        """Sleep until the next frame is due."""
        if self.fps is None:
            return
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._n / self.fps
        self._n += 1
        if due > now:
            time.sleep(due - now)


class SourceBase:
    """Context-manager plumbing and frame numbering shared by the sources."""

    finite = True

    def __init__(self) -> None:
        self._index = 0

    def _frame(self, image: np.ndarray, captured_at: float | None = None,
               detail: Detail | None = None) -> Frame:
        frame = Frame(image, time.monotonic() if captured_at is None else captured_at, self._index, detail)
        self._index += 1
        return frame

    def open(self) -> None:
        """Start delivering frames."""

    def close(self) -> None:
        """Release the device or files."""

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class SourceKind:
    """One entry of the source registry: the spec prefix, how it is written, how it is built.

    ``build(arg, fps, kw)`` gets what follows ``name:`` in the spec ("" when nothing does) and
    raises ValueError for an argument it cannot use. ``live`` sources need a frame rate.
    """

    name: str
    forms: str
    live: bool
    build: Callable[[str, float | None, dict[str, Any]], FrameSource]
