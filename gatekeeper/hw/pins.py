"""Choosing the gpiozero pin factory: the Pi's own, or a mock one off a Pi."""

from __future__ import annotations

from typing import Literal

from gpiozero import Factory
from gpiozero.pins.mock import MockFactory

FactoryName = Literal["mock", "default"]


def make_pin_factory(name: FactoryName) -> Factory | None:
    """Return the pin factory that ``name`` (from config) stands for.

    ``"default"`` returns None, which makes every gpiozero device use the factory gpiozero picks
    on a Pi (lgpio on Raspberry Pi OS Bookworm). ``"mock"`` returns a fresh ``MockFactory``.
    Its plain ``MockPin`` (not ``MockPWMPin``) is meant: no device here uses PWM, and a released
    ``MockPWMPin`` drops to 0 whatever it held, which would hide the relay's fail level in tests.
    """
    if name == "default":
        return None
    if name == "mock":
        return MockFactory()
    raise ValueError(f"unknown pin factory {name!r}: use 'mock' (off a Pi) or 'default' (on a Pi)")
