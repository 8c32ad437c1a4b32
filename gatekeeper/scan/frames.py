"""Compatibility: frame sources moved to :mod:`gatekeeper.scan.sources` (one per module).

Only for imports elsewhere in the tree not yet switched to ``gatekeeper.scan``; delete this
module when nothing imports ``gatekeeper.scan.frames``.
"""

from gatekeeper.scan.sources import (
                                     DEMO_SCRIPT,
                                     ArraySource,
                                     Frame,
                                     FrameSource,
                                     ImageFolderSource,
                                     OpenCVSource,
                                     Picamera2Source,
                                     SyntheticSource,
                                     open_source,
)

__all__ = ["DEMO_SCRIPT", "ArraySource", "Frame", "FrameSource", "ImageFolderSource", "OpenCVSource",
           "Picamera2Source", "SyntheticSource", "open_source"]
