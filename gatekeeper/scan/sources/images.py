"""Still images from a folder or a list, and frames already in memory."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gatekeeper.scan.sources.base import Frame, Pacer, SourceBase, SourceKind

log = logging.getLogger("gatekeeper.scan")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".pgm")


class ImageFolderSource(SourceBase):
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


class ArraySource(SourceBase):
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


def _build(arg: str, fps: float | None, kw: dict[str, Any]) -> ImageFolderSource:
    if not arg:
        raise ValueError("images takes a folder")
    return ImageFolderSource(arg, fps, **kw)


KIND = SourceKind("images", "images:DIR", live=False, build=_build)
