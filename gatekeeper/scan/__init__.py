"""The scan pipeline: frame sources, QR decoders chosen by measurement, the latest-frame loop.

scan/ imports nothing else of the project; the daemon wires it to the decision core. The rest
of the project imports scan only through this module.
"""

from gatekeeper.scan.decoders import (
                                      HELD_FRAMES,
                                      DecodedCode,
                                      Decoder,
                                      available_decoders,
                                      build_decoder,
                                      decode_file,
                                      default_decoder,
                                      read_gray,
)
from gatekeeper.scan.loop import FrameLoop, FrameStats
from gatekeeper.scan.presentations import Presentation, PresentationTracker
from gatekeeper.scan.sources import (
                                      DEMO_SCRIPT,
                                      ArraySource,
                                      Frame,
                                      FrameSource,
                                      ImageFolderSource,
                                      SyntheticSource,
                                      open_source,
)
from gatekeeper.scan.synthetic import Pose, random_pose, render_scene, steady_pose

__all__ = [
    "DEMO_SCRIPT", "HELD_FRAMES", "ArraySource", "DecodedCode", "Decoder", "Frame", "FrameLoop", "FrameSource",
    "FrameStats", "ImageFolderSource", "Pose", "Presentation", "PresentationTracker",
    "SyntheticSource", "available_decoders", "build_decoder", "decode_file", "default_decoder",
    "open_source", "random_pose", "read_gray", "render_scene", "steady_pose",
]
