"""Anything OpenCV's VideoCapture opens: a USB/V4L2 camera, an RTSP stream, a video file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2

from gatekeeper.scan.sources.base import Frame, Pacer, SourceBase, SourceKind


class OpenCVSource(SourceBase):
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


def _camera(arg: str, fps: float | None, kw: dict[str, Any]) -> OpenCVSource:
    target: int | str = int(arg) if arg.isdigit() else arg
    if not arg or (isinstance(target, str) and not (target.startswith("/dev/") or "://" in target)):
        raise ValueError("opencv takes a camera index, a /dev/ path or a stream URL (for a file use video:PATH)")
    return OpenCVSource(target, fps, finite=False, **kw)


def _video(arg: str, fps: float | None, kw: dict[str, Any]) -> OpenCVSource:
    if not arg:
        raise ValueError("video takes a file path")
    return OpenCVSource(arg, fps, finite=True, **kw)


CAMERA = SourceKind("opencv", "opencv:0, opencv:/dev/video0, opencv:rtsp://...", live=True, build=_camera)
VIDEO = SourceKind("video", "video:PATH", live=False, build=_video)
