"""Fixtures for gate hardware tests: real gpiozero devices on gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero import Factory

from gatekeeper.hw import make_pin_factory


@pytest.fixture
def factory() -> Iterator[Factory]:
    pin_factory = make_pin_factory("mock")
    yield pin_factory
    pin_factory.close()
