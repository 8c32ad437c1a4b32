"""Choosing the gpiozero pin factory: the Pi's own, or a mock one off a Pi."""

from __future__ import annotations

import warnings
from typing import Literal

from gpiozero import BadPinFactory, Device, Factory, PinFactoryFallback
from gpiozero.pins.mock import MockFactory

FactoryName = Literal["mock", "default"]


def make_pin_factory(name: FactoryName) -> Factory:
    """Return the pin factory that ``name`` (from config) stands for.

    ``"default"`` returns the factory gpiozero picks on a Pi (lgpio on Raspberry Pi OS Bookworm,
    or ``GPIOZERO_PIN_FACTORY``); off a Pi, where there is none, a RuntimeError in one line that
    says what to set, instead of a warning per factory tried and a traceback.
    ``"mock"`` returns a fresh ``MockFactory``.
    Its plain ``MockPin`` (not ``MockPWMPin``) is meant: no device here uses PWM, and a released
    ``MockPWMPin`` drops to 0 whatever it held, which would hide the relay's fail level in tests.
    """
    if name == "default":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            try:
                # as gpiozero does on a device's first use: one factory for the process
                if Device.pin_factory is None:
                    Device.pin_factory = Device._default_pin_factory()
                return Device.pin_factory
            except BadPinFactory:
                raise RuntimeError('no GPIO on this machine (gpiozero found no pin factory): on a Raspberry Pi '
                                   'install python3-lgpio; anywhere else set gate.pin_factory = "mock" in the '
                                   'configuration') from None
    if name == "mock":
        return MockFactory()
    raise ValueError(f"unknown pin factory {name!r}: use 'mock' (off a Pi) or 'default' (on a Pi)")
