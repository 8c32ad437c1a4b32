"""How the configuration maps onto the parts: the camera source and the gate hardware.

The daemon and the self-test build their parts here, so both build them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.gate.config import Settings
from gatekeeper.hw import Gate, make_pin_factory
from gatekeeper.scan import FrameSource, open_source


def camera_source(settings: Settings, spec: str | None = None) -> FrameSource:
    """The frame source for ``spec`` (default: the configured one), unopened."""
    cam = settings.camera
    spec = spec or cam.source
    kw: dict[str, Any] = {}
    if spec.strip() == "picamera2":
        kw = {"size": (cam.width, cam.height), "max_frame_us": cam.max_exposure_us,
              "af_mode": None if cam.autofocus == "none" else cam.autofocus,
              "lens_position": cam.lens_position if cam.autofocus == "manual" else None}
    elif spec.startswith("opencv:") or spec.strip() == "synthetic":
        kw = {"size": (cam.width, cam.height)}
    return open_source(spec, fps=cam.fps, **kw)


def build_gate(settings: Settings, on_manual: Callable[[], None] | None = None, pin_factory: Any = None,
               failsafe_record: Path | None = None) -> Gate:
    """The relay, LEDs, buzzer and (when ``on_manual`` is given) the override button."""
    g = settings.gate
    return Gate.build(
        relay_pin=g.relay_pin, green_pin=g.green_led_pin, red_pin=g.red_led_pin, buzzer_pin=g.buzzer_pin,
        button_pin=g.button_pin if on_manual is not None else None, on_manual=on_manual,
        active_high=g.relay_active_high, fail_mode=g.fail_mode, open_seconds=g.open_time,
        pin_factory=pin_factory or make_pin_factory(g.pin_factory), failsafe_record=failsafe_record)
