"""Scripted synthetic scenes, timed in seconds, stamped with their own scene clock."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from gatekeeper.scan import synthetic
from gatekeeper.scan.sources.base import Frame, SourceBase, SourceKind

Script = Sequence[tuple[str | None, float]]
"""Steps of a scene: (payload held up to the camera, or None for nobody; seconds)."""

DEMO_SCRIPT: tuple[tuple[str | None, float], ...] = (
    (None, 1.5), ("GATEKEEPER DEMO PASS 1", 1.0), (None, 2.0), ("GATEKEEPER DEMO PASS 2", 0.7),
    (None, 1.0), ("GATEKEEPER DEMO PASS 1", 0.8), (None, 3.0),
)
"""A demo scene: mostly empty frames, three passes (the same one twice, seconds apart)."""


def frame_counts(script: Script, fps: float) -> list[tuple[str | None, int]]:
    """The script as (payload, frames) at ``fps``: frame k shows the step its time k/fps falls in,
    so the steps keep their lengths in seconds at any rate (a step shorter than a frame period
    may get no frame)."""
    out, start = [], 0.0
    for payload, seconds in script:
        end = start + seconds
        # The frames k with start <= k / fps < end; the small epsilon keeps exact multiples stable.
        out.append((payload, math.ceil(end * fps - 1e-9) - math.ceil(start * fps - 1e-9)))
        start = end
    return out


class SyntheticSource(SourceBase):
    """A scripted scene (see :mod:`gatekeeper.scan.synthetic`) at ``fps`` frames per second.

    Each script step is (payload or None, seconds): a pass held up to the camera or nobody.
    Frame k is stamped ``captured_at = t0 + k / fps`` (t0: when opened), the scene's own clock,
    so the presentation rules see the same scene at 3 or 60 frames/s and however fast frames
    are read. ``realtime=True`` plays it in real time (the demo); False as fast as it is read
    (tests, benchmarks). Deterministic for a seed; finite unless ``repeat`` (then the script
    plays again with the next seed). ``poses`` draws each pass's pose
    (:func:`~gatekeeper.scan.synthetic.random_pose`: the range seen at a gate, some unreadable;
    :func:`~gatekeeper.scan.synthetic.steady_pose`: always readable); for its first
    ``settle_s`` seconds a pass is still being raised (:func:`~gatekeeper.scan.synthetic.arriving`).
    """

    def __init__(self, script: Script = DEMO_SCRIPT, *, size: tuple[int, int] = (640, 480),
                 fps: float = 30.0, realtime: bool = True, seed: int = 0, repeat: bool = False,
                 poses: Callable[[np.random.Generator], synthetic.Pose] = synthetic.random_pose,
                 settle_s: float = 0.0) -> None:
        super().__init__()
        if fps is None or fps <= 0:
            raise ValueError(f"a synthetic scene needs a positive frame rate, not {fps}")
        for item in script:
            if len(item) != 2 or not float(item[1]) >= 0:
                raise ValueError(f"a script step is (payload or None, seconds >= 0), not {item!r}")
        self.script = [(p, float(s)) for p, s in script]
        self.size, self.fps, self.realtime = size, float(fps), realtime
        self.seed, self.repeat, self.poses = seed, repeat, poses
        self.settle_frames = math.ceil(settle_s * self.fps - 1e-9)
        self.finite = not repeat
        self._frames: Iterator[np.ndarray] = iter(())
        self.started_at = 0.0  # the scene clock's zero (monotonic), set by open()
        self._n = 0

    @property
    def duration(self) -> float:
        """Seconds of scene in one play of the script."""
        return sum(s for _, s in self.script)

    def _all(self) -> Iterator[np.ndarray]:
        seed = self.seed
        steps = frame_counts(self.script, self.fps)
        while True:
            yield from synthetic.scene_frames(steps, self.size, seed, self.poses, self.settle_frames)
            if not self.repeat:
                return
            seed += 1

    def open(self) -> None:
        """Start the script from its beginning; the scene clock starts now."""
        self._frames = self._all()
        self.started_at = time.monotonic()
        self._n = 0

    def read(self) -> Frame | None:
        """The next scripted frame, or None at the end."""
        image = next(self._frames, None)
        if image is None:
            return None
        due = self.started_at + self._n / self.fps
        self._n += 1
        delay = due - time.monotonic()
        if self.realtime and delay > 0:
            time.sleep(delay)
        return self._frame(image, captured_at=due)


def _build(arg: str, fps: float | None, kw: dict[str, Any]) -> SyntheticSource:
    if arg:
        raise ValueError("synthetic takes no argument")
    kw.setdefault("repeat", True)
    if fps is None:  # as fast as possible, on the default scene clock
        kw.setdefault("realtime", False)
    return SyntheticSource(fps=fps or 30.0, **kw)


KIND = SourceKind("synthetic", "synthetic", live=False, build=_build)
