"""``gatekeeper selftest``: prove each part of a gate works, in the order a technician checks them.

Grab a frame, decode it (and decide a test code if one is shown), click the relay, cycle the
LEDs and beep. Each step reports what worked; one failing step does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.gate.checkpoint import Checkpoint
from gatekeeper.gate.config import Settings
from gatekeeper.gate.parts import build_gate, camera_source
from gatekeeper.scan import FrameSource, build_decoder


@dataclass(frozen=True)
class Check:
    """One step's result."""

    name: str
    ok: bool
    detail: str


def _step(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn())
    except Exception as e:  # noqa: BLE001 -- a self-test reports every failure; it never stops at the first
        return Check(name, False, f"{type(e).__name__}: {e}")


def run_selftest(settings: Settings, source: FrameSource | None = None, pin_factory: object = None,
                 frame_timeout: float = 5.0) -> list[Check]:
    """Run every step and return the results (``ok`` is False for a step that failed)."""
    frames: list = []

    def camera() -> str:
        src = source or camera_source(settings)
        deadline = time.monotonic() + frame_timeout
        with src:
            while time.monotonic() < deadline:
                frame = src.read()
                if frame is not None:
                    frames.append(frame)
                    h, w = frame.image.shape[:2]
                    return f"{settings.camera.source}: got a {w}x{h} frame"
        raise RuntimeError(f"no frame from {settings.camera.source} within {frame_timeout:.0f} s")

    def decode() -> str:
        if not frames:
            raise RuntimeError("no frame to decode")
        decoder = build_decoder(list(settings.scan.decoders))
        t = time.perf_counter()
        codes = decoder.decode(frames[0].image)
        ms = (time.perf_counter() - t) * 1000
        if not codes:
            return f"{decoder.name}: no code in view ({ms:.1f} ms); hold a test pass to the camera to check decoding"
        cp = Checkpoint(settings)
        try:
            d = cp.decide(codes[0].payload)
        finally:
            cp.close()
        return f"{decoder.name}: read a code in {ms:.1f} ms -> {'ALLOW' if d.allow else 'DENY'} {d.reason.value}"

    def gate() -> str:
        g = settings.gate
        gate = build_gate(settings, pin_factory=pin_factory)
        states: list[str] = []
        gate.on_state(states.append)
        try:
            gate.show(False)  # red LED and the deny beep
            time.sleep(0.3)
            gate.relay.pulse(0.3)  # a short click, bounded like every pulse
            time.sleep(0.6)
        finally:
            gate.close()
        if states[:2] != ["open", "closed"]:
            raise RuntimeError(f"relay on pin {g.relay_pin} did not open and close (saw {states})")
        return f"relay pin {g.relay_pin} clicked open and closed; LEDs and buzzer cycled"

    return [_step("camera", camera), _step("decode", decode), _step("gate", gate)]
