"""A Raspberry Pi camera through picamera2 (imported when the camera is opened, never before)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from gatekeeper.scan.sources.base import Box, Frame, SourceBase, SourceKind


class Picamera2Source(SourceBase):
    """A Raspberry Pi camera: the lores YUV420 stream's Y plane for scanning, the main stream for detail.

    The Y plane of YUV420 *is* a grayscale image, so a frame is a view into the array picamera2
    returns: no colour conversion. With ``main_size`` larger than ``size`` (the default: 1280x960
    over 640x480) each frame carries :attr:`Frame.detail`, which reads a region of the same
    capture's main stream, so a code located but unreadable in the lores frame is read again
    with four times the pixels; the main stream is copied only then. ``main_size=None`` (or a
    main size not larger than ``size``) keeps one small stream and frames without detail.
    ``max_frame_us`` caps the frame duration and with it the exposure, because motion blur,
    not resolution, limits decoding a hand-held phone. On
    Camera Module 3, ``af_mode="continuous"`` with ``af_range="macro"`` or ``af_mode="manual"``
    with a fixed ``lens_position`` (dioptres) suits the scanning distance. ``camera_factory``
    stands in for ``picamera2.Picamera2`` in tests.
    """

    finite = False
    _AF_MODES: ClassVar[dict[str, int]] = {"manual": 0, "auto": 1, "continuous": 2}  # libcamera AfModeEnum values
    _AF_RANGES: ClassVar[dict[str, int]] = {"normal": 0, "macro": 1, "full": 2}  # libcamera AfRangeEnum values
    # Captures whose main stream a frame may still read: the one being decoded and the one
    # waiting in the loop's slot. Older ones go back to the camera.
    _HELD = 2

    def __init__(self, size: tuple[int, int] = (640, 480), fps: float = 30.0, *,
                 main_size: tuple[int, int] | None = (1280, 960), af_mode: str | None = "continuous",
                 af_range: str = "macro", lens_position: float | None = None,
                 max_frame_us: int | None = None, camera_num: int = 0,
                 camera_factory: Callable[[int], Any] | None = None) -> None:
        super().__init__()
        if af_mode is not None and af_mode not in self._AF_MODES:
            raise ValueError(f"af_mode must be one of {sorted(self._AF_MODES)} or None, not {af_mode!r}")
        if af_range not in self._AF_RANGES:
            raise ValueError(f"af_range must be one of {sorted(self._AF_RANGES)}, not {af_range!r}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, not {fps}")
        self.size = (int(size[0]) & ~1, int(size[1]) & ~1)  # YUV420 needs even sizes
        self.fps = fps
        main = self.size if main_size is None else (int(main_size[0]) & ~1, int(main_size[1]) & ~1)
        # A main stream no larger than the scanning one would add nothing: one stream, as before.
        self.main_size = main if main[0] > self.size[0] and main[1] > self.size[1] else self.size
        self.af_mode, self.af_range, self.lens_position = af_mode, af_range, lens_position
        self.max_frame_us = max_frame_us
        self.camera_num = camera_num
        self._factory = camera_factory
        self._cam: Any = None
        self._held: deque[Any] = deque()
        self._lock = threading.Lock()

    @property
    def two_streams(self) -> bool:
        """True when frames carry a high-resolution main stream to read detail from."""
        return self.main_size != self.size

    def controls(self, available: Any = ()) -> dict[str, Any]:
        """The libcamera controls to set; autofocus only where the camera has it."""
        min_us = int(1_000_000 / self.fps)
        ctl: dict[str, Any] = {"FrameDurationLimits": (min_us, max(min_us, self.max_frame_us or min_us))}
        if self.af_mode is not None and "AfMode" in available:
            ctl["AfMode"] = self._AF_MODES[self.af_mode]
            if self.af_mode != "manual" and "AfRange" in available:
                ctl["AfRange"] = self._AF_RANGES[self.af_range]
            if self.af_mode == "manual" and self.lens_position is not None:
                ctl["LensPosition"] = float(self.lens_position)
        return ctl

    def open(self) -> None:
        """Configure and start the camera (imports picamera2 only now: it exists only on a Pi)."""
        factory = self._factory
        if factory is None:
            try:
                from picamera2 import Picamera2
            except ImportError as exc:
                raise RuntimeError("picamera2 is not installed: on Raspberry Pi OS install the "
                                   "python3-picamera2 package, or use an 'opencv:0' source") from exc
            factory = Picamera2
        cam = factory(self.camera_num)
        config = cam.create_video_configuration(
            main={"size": tuple(self.main_size), "format": "YUV420"},
            lores={"size": self.size, "format": "YUV420"},
            controls=self.controls(getattr(cam, "camera_controls", {})),
            buffer_count=4 + (self._HELD if self.two_streams else 0))
        cam.configure(config)
        cam.start()
        self._cam = cam

    def read(self) -> Frame | None:
        """The newest lores frame's Y plane (a view), with the main stream as detail when there is one."""
        if self._cam is None:
            raise RuntimeError("Picamera2Source.read() before open()")
        w, h = self.size
        if not self.two_streams:
            # YUV420 arrives as (h * 3/2, stride): the first h rows are Y; the stride may pad rows.
            return self._frame(self._cam.capture_array("lores")[:h, :w])
        request = self._cam.capture_request()
        with self._lock:
            self._held.append(request)
            while len(self._held) > self._HELD:
                self._held.popleft().release()
        image = request.make_array("lores")[:h, :w]
        return self._frame(image, detail=lambda box: self._detail(request, box))

    def _detail(self, request: Any, box: Box) -> np.ndarray | None:
        with self._lock:
            if not any(r is request for r in self._held):
                return None  # back with the camera: the chain reads the lores frame instead
            main = request.make_array("main")
        mw, mh = self.main_size
        sx, sy = mw / self.size[0], mh / self.size[1]
        x0, y0, x1, y1 = box
        return main[int(y0 * sy):min(mh, int(np.ceil(y1 * sy))), int(x0 * sx):min(mw, int(np.ceil(x1 * sx)))]

    def close(self) -> None:
        """Return the held captures, stop and release the camera."""
        cam, self._cam = self._cam, None
        with self._lock:
            held, self._held = list(self._held), deque()
        if cam is not None:
            try:
                for request in held:
                    request.release()
                cam.stop()
            finally:
                cam.close()


def _build(arg: str, fps: float | None, kw: dict[str, Any]) -> Picamera2Source:
    if arg:
        raise ValueError("picamera2 takes no argument (choose the camera with camera_num)")
    return Picamera2Source(fps=fps, **kw)


KIND = SourceKind("picamera2", "picamera2", live=True, build=_build)
