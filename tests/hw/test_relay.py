"""The relay: bounded pulses, polarity and fail modes, on mock pins."""

from __future__ import annotations

import threading
import time

import pytest

from gatekeeper.hw import GateRelay
from gatekeeper.hw.relay import MAX_PULSE_SECONDS
from tests.kit.core import wait_until

RELAY = 17


def test_starts_closed(factory):
    relay = GateRelay(RELAY, pin_factory=factory)
    assert not relay.is_open
    assert factory.pin(RELAY).state is False
    relay.close()


def test_pulse_opens_then_closes_within_bound(factory):
    relay = GateRelay(RELAY, open_seconds=0.2, pin_factory=factory)
    pin = factory.pin(RELAY)
    started = time.monotonic()
    relay.pulse()
    assert relay.is_open and pin.state == 1
    assert wait_until(lambda: not relay.is_open)
    # at least the pulse (a busy machine only makes it longer; the bound is MAX_PULSE_SECONDS, below)
    assert time.monotonic() - started >= 0.18
    assert pin.state == 0
    # exactly one high period, then low again
    assert [bool(s.state) for s in pin.states] == [False, True, False]
    relay.close()


def test_pulse_during_pulse_extends_and_opens_once(factory):
    relay = GateRelay(RELAY, pin_factory=factory)
    states: list[str] = []
    relay.on_state(states.append)
    relay.pulse(0.5)
    second = time.monotonic()
    relay.pulse(1.0)  # while the first holds the gate open
    assert wait_until(lambda: not relay.is_open, 10)
    assert time.monotonic() - second >= 0.9  # extended past the first pulse's end
    assert states == ["open", "closed"]  # one opening
    relay.close()


@pytest.mark.parametrize("seconds", [0, -1, MAX_PULSE_SECONDS + 1, float("inf"), float("nan")])
def test_unbounded_pulse_refused(factory, seconds):
    relay = GateRelay(RELAY, pin_factory=factory)
    with pytest.raises(ValueError):
        relay.pulse(seconds)
    assert not relay.is_open
    relay.close()


def test_active_low_inverts_levels(factory):
    relay = GateRelay(RELAY, active_high=False, open_seconds=0.1, pin_factory=factory)
    pin = factory.pin(RELAY)
    assert pin.state == 1  # closed = high
    relay.pulse()
    assert pin.state == 0  # open = low
    assert wait_until(lambda: pin.state == 1)
    relay.close()
    assert pin.state == 1


@pytest.mark.parametrize(
    "active_high, fail_mode, level",
    [(True, "secure", False), (True, "safe", True), (False, "secure", True), (False, "safe", False)],
)
def test_fail_mode_level_on_close(factory, active_high, fail_mode, level):
    relay = GateRelay(RELAY, active_high=active_high, fail_mode=fail_mode, pin_factory=factory)
    assert relay.fail_level == ("high" if level else "low")
    relay.pulse(5.0)
    relay.close()
    pin = factory.pin(RELAY)
    assert bool(pin.state) is level
    assert pin.function == "input"  # released: the external pull holds the level from here


def test_close_cancels_pending_pulse_and_reports_state(factory):
    relay = GateRelay(RELAY, pin_factory=factory)
    states: list[str] = []
    relay.on_state(states.append)
    relay.pulse(5.0)
    relay.close()
    relay.close()  # idempotent
    assert states == ["open", "closed"]
    assert wait_until(lambda: not [t for t in threading.enumerate() if t.name == "gate-relay"])
    with pytest.raises(RuntimeError):
        relay.pulse()


def test_safe_mode_close_reports_open(factory):
    relay = GateRelay(RELAY, fail_mode="safe", pin_factory=factory)
    states: list[str] = []
    relay.on_state(states.append)
    relay.close()
    assert states == ["open"]


def test_bad_fail_mode():
    with pytest.raises(ValueError, match="fail_mode"):
        GateRelay(RELAY, fail_mode="open")  # type: ignore[arg-type]
