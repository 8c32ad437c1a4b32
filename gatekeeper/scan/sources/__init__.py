"""Frame sources: where grayscale frames come from, each stamped with its capture time.

One source per module, each registering a :class:`SourceKind` under the prefix of its spec; the
registry below is what :func:`open_source` reads, so a new source is one new module and one line
here. picamera2 is imported only when a Pi camera is opened.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.scan.sources import images, opencv, pi_camera, synthetic
from gatekeeper.scan.sources.base import (
    Box,
    Detail,
    Frame,
    FrameSource,
    Pacer,
    SourceKind,
)
from gatekeeper.scan.sources.images import (
    IMAGE_SUFFIXES,
    ArraySource,
    ImageFolderSource,
)
from gatekeeper.scan.sources.opencv import OpenCVSource
from gatekeeper.scan.sources.pi_camera import Picamera2Source
from gatekeeper.scan.sources.synthetic import DEMO_SCRIPT, SyntheticSource, frame_counts

REGISTRY: dict[str, SourceKind] = {k.name: k for k in (
    pi_camera.KIND, opencv.CAMERA, opencv.VIDEO, images.KIND, synthetic.KIND)}
"""Source kinds by spec prefix."""

SPECS = ", ".join(k.forms for k in REGISTRY.values())


def open_source(spec: str, fps: float | None = 30.0, **kw: Any) -> FrameSource:
    """A source for a configuration spec; ValueError naming the accepted forms for a bad one.

    ``fps`` is the camera rate for live sources and the replay rate for files and synthetic
    scenes (``None``: replay as fast as possible; live sources need a rate). ``kw`` go to the
    source's constructor. The source is returned unopened.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty frame source spec; use one of: {SPECS}")
    name, _, arg = spec.strip().partition(":")
    kind = REGISTRY.get(name)
    if kind is None:
        raise ValueError(f"bad frame source spec {spec!r}; use one of: {SPECS}")
    if fps is None and kind.live:
        raise ValueError(f"source {spec!r} is a live camera: give it a frame rate (fps), not None")
    try:
        return kind.build(arg, fps, dict(kw))
    except ValueError as exc:
        raise ValueError(f"bad frame source spec {spec!r}: {exc}; accepted: {SPECS}") from None


__all__ = [
    "DEMO_SCRIPT", "IMAGE_SUFFIXES", "REGISTRY", "SPECS", "ArraySource", "Box", "Detail", "Frame",
    "FrameSource", "ImageFolderSource", "OpenCVSource", "Pacer", "Picamera2Source", "SourceKind",
    "SyntheticSource", "frame_counts", "open_source",
]
