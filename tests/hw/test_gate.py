"""Indicators, the override button and the Gate facade on mock pins."""

from __future__ import annotations

import itertools

import pytest

from gatekeeper.hw import Gate, Indicators, OverrideButton
from gatekeeper.hw.indicators import ALLOW_BEEP, ALLOW_LIGHT, DENY_BEEP
from tests.kit.core import wait_until

GREEN, RED, BUZZER, BUTTON, RELAY = 5, 6, 13, 26, 17


def rising_edges(pin) -> int:
    states = [bool(s.state) for s in pin.states]
    return sum(1 for a, b in itertools.pairwise(states) if b and not a)


def pattern_done(pin, pulses: int) -> bool:
    return rising_edges(pin) >= pulses and not pin.state


def test_allow_and_deny_patterns_differ(factory):
    ind = Indicators(GREEN, RED, BUZZER, pin_factory=factory)
    buzzer, green, red = factory.pin(BUZZER), factory.pin(GREEN), factory.pin(RED)

    ind.show(True)
    # non-blocking: show() is back while the green light's pattern still runs
    assert ALLOW_LIGHT.seconds >= 1 and green.state
    assert wait_until(lambda: pattern_done(buzzer, ALLOW_BEEP.n), 10)
    allow = (rising_edges(buzzer), rising_edges(green), rising_edges(red))

    ind.off()
    for pin in (buzzer, green, red):
        pin.clear_states()
    ind.show(False)
    assert wait_until(lambda: pattern_done(buzzer, DENY_BEEP.n), 10)
    deny = (rising_edges(buzzer), rising_edges(green), rising_edges(red))

    assert allow == (ALLOW_BEEP.n, 1, 0)
    assert deny[0] == DENY_BEEP.n and deny[1] == 0 and deny[2] >= 1
    assert allow != deny  # told apart by the pins themselves, not by the pattern constants
    ind.close()


def test_missing_pins_are_fine(factory):
    ind = Indicators(None, RED, None, pin_factory=factory)
    red = factory.pin(RED)
    ind.show(True)  # no green LED, no buzzer: the red one is switched off and nothing fails
    assert not red.state and rising_edges(red) == 0
    ind.show(False)
    assert wait_until(lambda: rising_edges(red) >= 1, 10)  # the deny pattern plays on what there is
    ind.close()
    assert not red.state


def test_button_calls_back_once_per_press(factory):
    now = [100.0]
    presses: list[float] = []
    OverrideButton(BUTTON, lambda: presses.append(now[0]), debounce_seconds=0.05, pin_factory=factory,
                   clock=lambda: now[0])
    pin = factory.pin(BUTTON)

    def bounce(*levels: bool) -> None:
        for high in levels:  # edges a millisecond apart
            pin.drive_high() if high else pin.drive_low()
            now[0] += 0.001

    for _ in range(3):
        bounce(False, True, False)  # a bouncing contact: several edges for one press...
        now[0] += 0.1
        bounce(True, False, True)  # ...and a bouncing release
        now[0] += 0.1
    assert presses == [100.0, pytest.approx(100.206), pytest.approx(100.412)]


def test_button_held_down_is_one_press(factory):
    presses: list[int] = []
    button = OverrideButton(BUTTON, lambda: presses.append(1), pin_factory=factory)
    pin = factory.pin(BUTTON)
    pin.drive_low()  # mock pins call back in the caller's thread: the press is counted on return
    assert button.is_pressed
    assert presses == [1]
    pin.drive_high()
    button.close()
    pin.drive_low()
    assert presses == [1]


def test_gate_show_allow_pulses_and_reports_states(factory):
    gate = Gate.build(relay_pin=RELAY, green_pin=GREEN, red_pin=RED, buzzer_pin=BUZZER,
                      open_seconds=0.15, pin_factory=factory)
    states: list[str] = []
    gate.on_state(states.append)
    gate.show(False)
    assert not gate.is_open and states == []
    gate.show(True)
    assert gate.is_open and bool(factory.pin(RELAY).state)
    assert wait_until(lambda: not gate.is_open, 10)
    assert wait_until(lambda: states == ["open", "closed"])
    gate.close()


def test_gate_manual_override_from_button(factory):
    """The button's callback is the daemon's: it logs, then calls open_manual."""
    log: list[str] = []
    gate_box: list[Gate] = []

    def on_manual() -> None:
        log.append("manual")
        gate_box[0].open_manual(0.1)

    gate = Gate.build(relay_pin=RELAY, button_pin=BUTTON, on_manual=on_manual, pin_factory=factory)
    gate_box.append(gate)
    gate.on_state(log.append)
    factory.pin(BUTTON).drive_low()
    assert log[:2] == ["manual", "open"]  # logged before the relay opened
    assert wait_until(lambda: log == ["manual", "open", "closed"], 10)
    gate.close()


@pytest.mark.parametrize("fail_mode, level", [("secure", False), ("safe", True)])
def test_gate_close_leaves_fail_state(factory, fail_mode, level):
    gate = Gate.build(relay_pin=RELAY, green_pin=GREEN, fail_mode=fail_mode, pin_factory=factory)
    gate.show(True)
    gate.close()
    assert bool(factory.pin(RELAY).state) is level
    assert not bool(factory.pin(GREEN).state)


def test_gate_build_writes_failsafe_record(factory, tmp_path):
    record = tmp_path / "failsafe.json"
    gate = Gate.build(relay_pin=RELAY, active_high=False, pin_factory=factory,
                      failsafe_record=record)
    from gatekeeper.hw.failsafe import read_record
    assert read_record(record) == (RELAY, "high")
    gate.close()


def test_gate_build_button_needs_callback(factory):
    with pytest.raises(ValueError, match="on_manual"):
        Gate.build(relay_pin=RELAY, button_pin=BUTTON, pin_factory=factory)
    # the relay was released again, so the pin can be reused
    Gate.build(relay_pin=RELAY, pin_factory=factory).close()
