"""Frame sources: where grayscale frames come from, each stamped with its capture time.

One small interface (:class:`FrameSource`) over a Raspberry Pi camera (picamera2), anything
OpenCV's VideoCapture opens (USB/V4L2 camera, RTSP, video file), still images and synthetic
scenes. :func:`open_source` turns a one-line spec from the configuration into a source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from gatekeeper.scan import synthetic

log = logging.getLogger("gatekeeper.scan")


@dataclass(frozen=True)
class Frame:
    """One grayscale frame.

    ``image`` is 2-D uint8 and may be a view into the camera's buffer (do not keep it past the
    next read of a camera source); ``captured_at`` is ``time.monotonic()`` when the source
    delivered it; ``index`` counts frames from 0 since the source was created.
    """

    image: np.ndarray
    captured_at: float
    index: int


@runtime_checkable
class FrameSource(Protocol):
    """Frames from somewhere. ``read`` returns None at the end of a finite source; a live
    source returns None when no frame came in time (the loop's watchdog counts that)."""

    finite: bool

    def open(self) -> None: ...
    def read(self) -> Frame | None: ...
    def close(self) -> None: ...
    def __enter__(self) -> FrameSource: ...
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


class _SourceBase:
    """Context-manager plumbing and frame numbering shared by the sources."""

    finite = True

    def __init__(self) -> None:
        self._index = 0

    def _frame(self, image: np.ndarray) -> Frame:
        frame = Frame(image, time.monotonic(), self._index)
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


class Picamera2Source(_SourceBase):
    """A Raspberry Pi camera through picamera2: the lores YUV420 stream's Y plane, as is.

    The Y plane of YUV420 *is* a grayscale image, so a frame is a view into the array picamera2
    returns: no colour conversion and no copy of ours. The main stream is kept small (it must
    exist); ``max_frame_us`` caps the frame duration and with it the exposure, because motion
    blur, not resolution, is what limits decoding a hand-held phone. On Camera Module 3,
    ``af_mode="continuous"`` with ``af_range="macro"`` or ``af_mode="manual"`` with a fixed
    ``lens_position`` (dioptres) suits the scanning distance. ``camera_factory`` stands in for
    ``picamera2.Picamera2`` in tests.
    """

    finite = False
    _AF_MODES = {"manual": 0, "auto": 1, "continuous": 2}  # libcamera AfModeEnum values
    _AF_RANGES = {"normal": 0, "macro": 1, "full": 2}  # libcamera AfRangeEnum values

    def __init__(self, size: tuple[int, int] = (640, 480), fps: float = 30.0, *,
                 main_size: tuple[int, int] | None = None, af_mode: str | None = "continuous",
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
        self.main_size = main_size or self.size
        self.af_mode, self.af_range, self.lens_position = af_mode, af_range, lens_position
        self.max_frame_us = max_frame_us
        self.camera_num = camera_num
        self._factory = camera_factory
        self._cam: Any = None

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
            buffer_count=4)
        cam.configure(config)
        cam.start()
        self._cam = cam

    def read(self) -> Frame | None:
        """The newest lores frame's Y plane (a view)."""
        if self._cam is None:
            raise RuntimeError("Picamera2Source.read() before open()")
        yuv = self._cam.capture_array("lores")
        w, h = self.size
        # YUV420 arrives as (h * 3/2, stride): the first h rows are Y; the stride may pad rows.
        return self._frame(yuv[:h, :w])

    def close(self) -> None:
        """Stop and release the camera."""
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
            finally:
                cam.close()


class OpenCVSource(_SourceBase):
    """Anything cv2.VideoCapture opens: a camera index, a V4L2 device path, an RTSP URL, a file.

    Colour frames are converted to grayscale here. A video file is finite and is played at
    ``fps`` in real time (None: as fast as it decodes); a camera or stream is live.
    """

    def __init__(self, target: int | str, fps: float | None = None, *,
                 size: tuple[int, int] | None = None, finite: bool | None = None) -> None:
        super().__init__()
        self.target = target
        self.size = size
        is_file = isinstance(target, str) and "://" not in target and not target.startswith("/dev/")
        self.finite = is_file if finite is None else finite
        self.fps = fps
        self._pacer = Pacer(fps if self.finite else None)
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        """Open the device, stream or file; ValueError if OpenCV cannot."""
        if self.finite and not Path(str(self.target)).is_file():
            raise ValueError(f"video file {self.target}: no such file")
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            raise ValueError(f"OpenCV cannot open {self.target!r} (no such camera, stream or readable video)")
        if not self.finite:
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # a driver queue is latency: keep one frame
            if self.size:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            if self.fps:
                cap.set(cv2.CAP_PROP_FPS, self.fps)
        self._cap = cap
        self._pacer = Pacer(self.fps if self.finite else None)

    def read(self) -> Frame | None:
        """The next frame, or None (end of file, or no frame from a live device)."""
        if self._cap is None:
            raise RuntimeError("OpenCVSource.read() before open()")
        self._pacer.wait()
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return self._frame(image)

    def close(self) -> None:
        """Release the capture."""
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".pgm")


class ImageFolderSource(_SourceBase):
    """Still images, in name order, from a folder or an explicit list; finite.

    A file that is not a readable image is logged and skipped, so one bad file does not stop
    a replay. ``fps=None`` plays as fast as files load; otherwise paced in real time.
    """

    def __init__(self, images: str | Path | Sequence[str | Path], fps: float | None = None) -> None:
        super().__init__()
        self.images = images
        self._pacer = Pacer(fps)
        self.fps = fps
        self._files: Iterator[Path] = iter(())

    def files(self) -> list[Path]:
        """The files this source will play."""
        if isinstance(self.images, (str, Path)):
            folder = Path(self.images)
            if not folder.is_dir():
                raise ValueError(f"image folder {folder}: no such folder")
            return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return sorted(Path(p) for p in self.images)

    def open(self) -> None:
        """List the files; ValueError if there are none."""
        files = self.files()
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {self.images}")
        self._files = iter(files)
        self._pacer = Pacer(self.fps)

    def read(self) -> Frame | None:
        """The next readable image, or None after the last."""
        for path in self._files:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None or image.size == 0:
                log.warning("skipping %s: not a readable image", path)
                continue
            self._pacer.wait()
            return self._frame(image)
        return None


class ArraySource(_SourceBase):
    """Frames already in memory (benchmarks, tests, a replay prepared by the caller); finite.
    ``fps=None`` hands them out as fast as they are read, else paced in real time."""

    def __init__(self, images: Sequence[np.ndarray], fps: float | None = None) -> None:
        super().__init__()
        self.images = list(images)
        self.fps = fps
        self._next = 0
        self._pacer = Pacer(fps)

    def open(self) -> None:
        """Start from the first image."""
        self._next = 0
        self._pacer = Pacer(self.fps)

    def read(self) -> Frame | None:
        """The next image, or None after the last."""
        if self._next >= len(self.images):
            return None
        self._pacer.wait()
        self._next += 1
        return self._frame(self.images[self._next - 1])


DEMO_SCRIPT: tuple[tuple[str | None, int], ...] = (
    (None, 45), ("GATEKEEPER DEMO PASS 1", 30), (None, 60), ("GATEKEEPER DEMO PASS 2", 20),
    (None, 30), ("GATEKEEPER DEMO PASS 1", 25), (None, 90),
)
"""A demo scene: mostly empty frames, three passes (the same one twice, seconds apart)."""


class SyntheticSource(_SourceBase):
    """Scripted synthetic scenes (see :mod:`gatekeeper.scan.synthetic`): each (payload or None,
    n_frames) is a pass held up to the camera or a stretch of empty frames. Deterministic for a
    seed. Finite unless ``repeat`` (then the script plays again with the next seed). ``poses``
    draws each pass's pose (:func:`~gatekeeper.scan.synthetic.random_pose`: the range seen at a
    gate, some unreadable; :func:`~gatekeeper.scan.synthetic.steady_pose`: always readable)."""

    def __init__(self, script: Sequence[tuple[str | None, int]] = DEMO_SCRIPT, *,
                 size: tuple[int, int] = (640, 480), fps: float | None = None,
                 seed: int = 0, repeat: bool = False,
                 poses: Callable[[np.random.Generator], synthetic.Pose] = synthetic.random_pose) -> None:
        super().__init__()
        for item in script:
            if len(item) != 2 or int(item[1]) < 0:
                raise ValueError(f"a script step is (payload or None, n_frames >= 0), not {item!r}")
        self.script = [(p, int(n)) for p, n in script]
        self.size, self.fps, self.seed, self.repeat, self.poses = size, fps, seed, repeat, poses
        self.finite = not repeat
        self._frames: Iterator[np.ndarray] = iter(())
        self._pacer = Pacer(fps)

    def _all(self) -> Iterator[np.ndarray]:
        seed = self.seed
        while True:
            yield from synthetic.scene_frames(self.script, self.size, seed, self.poses)
            if not self.repeat:
                return
            seed += 1

    def open(self) -> None:
        """Start the script from its beginning."""
        self._frames = self._all()
        self._pacer = Pacer(self.fps)

    def read(self) -> Frame | None:
        """The next scripted frame, or None at the end."""
        image = next(self._frames, None)
        if image is None:
            return None
        self._pacer.wait()
        return self._frame(image)


SPECS = "picamera2, opencv:0, opencv:/dev/video0, opencv:rtsp://..., video:PATH, images:DIR, synthetic"


def open_source(spec: str, fps: float | None = 30.0, **kw: Any) -> FrameSource:
    """A source for a configuration spec; ValueError naming the accepted forms for a bad one.

    ``fps`` is the camera rate for live sources and the replay rate for files and synthetic
    scenes (``None``: replay as fast as possible; live sources need a rate). ``kw`` go to the
    source's constructor. The source is returned unopened.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty frame source spec; use one of: {SPECS}")
    kind, _, arg = spec.strip().partition(":")
    if fps is None and kind in ("picamera2", "opencv"):
        raise ValueError(f"source {spec!r} is a live camera: give it a frame rate (fps), not None")
    if kind == "picamera2" and not arg:
        return Picamera2Source(fps=fps, **kw)
    if kind == "synthetic" and not arg:
        kw.setdefault("repeat", True)
        return SyntheticSource(fps=fps, **kw)
    if kind == "opencv" and arg:
        target: int | str = int(arg) if arg.isdigit() else arg
        if isinstance(target, str) and not (target.startswith("/dev/") or "://" in target):
            raise ValueError(f"bad source spec {spec!r}: opencv takes a camera index, a /dev/ path or "
                             f"a stream URL (for a file use video:PATH); accepted: {SPECS}")
        return OpenCVSource(target, fps, finite=False, **kw)
    if kind == "video" and arg:
        return OpenCVSource(arg, fps, finite=True, **kw)
    if kind == "images" and arg:
        return ImageFolderSource(arg, fps, **kw)
    raise ValueError(f"bad frame source spec {spec!r}; use one of: {SPECS}")
