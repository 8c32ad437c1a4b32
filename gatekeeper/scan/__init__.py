"""The scan pipeline: frame sources, QR decoders chosen by measurement, the latest-frame loop.

scan/ imports nothing else of the project; the daemon wires it to the decision core.
"""

from gatekeeper.scan.decoders import (DecodedCode, Decoder, available_decoders, build_decoder,
                                      decode_file, default_decoder)
from gatekeeper.scan.frames import Frame, FrameSource, open_source
from gatekeeper.scan.loop import FrameLoop, FrameStats
from gatekeeper.scan.presentations import Presentation, PresentationTracker
from gatekeeper.scan.synthetic import render_scene

__all__ = [
    "DecodedCode", "Decoder", "Frame", "FrameLoop", "FrameSource", "FrameStats", "Presentation",
    "PresentationTracker", "available_decoders", "build_decoder", "decode_file", "default_decoder",
    "open_source", "render_scene",
]
