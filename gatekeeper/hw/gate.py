"""The gate as the daemon sees it: show a result, open by hand, report state, close safely."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gpiozero import Factory

from gatekeeper.hw.button import OverrideButton
from gatekeeper.hw.failsafe import write_record
from gatekeeper.hw.indicators import Indicators
from gatekeeper.hw.relay import FailMode, GateRelay, GateState


class Gate:
    """A facade over the relay, the indicators and (for cleanup) the override button.

    The button does not open the gate itself: its callback is the daemon's, which logs the manual
    decision first and then calls :meth:`open_manual`.
    """

    def __init__(
        self,
        relay: GateRelay,
        indicators: Indicators | None = None,
        button: OverrideButton | None = None,
    ) -> None:
        self.relay = relay
        self.indicators = indicators
        self.button = button

    @classmethod
    def build(
        cls,
        *,
        relay_pin: int | str,
        green_pin: int | str | None = None,
        red_pin: int | str | None = None,
        buzzer_pin: int | str | None = None,
        button_pin: int | str | None = None,
        on_manual: Callable[[], None] | None = None,
        active_high: bool = True,
        fail_mode: FailMode = "secure",
        open_seconds: float = 3.0,
        pin_factory: Factory | None = None,
        failsafe_record: Path | None = None,
    ) -> Gate:
        """Build every part from plain pin numbers and settings.

        ``failsafe_record``, if given (``$STATE_DIRECTORY/failsafe.json`` under systemd), gets the
        relay's pin and fail level for the ``ExecStopPost=`` helper.
        """
        relay = GateRelay(relay_pin, active_high=active_high, fail_mode=fail_mode,
                          open_seconds=open_seconds, pin_factory=pin_factory)
        try:
            if failsafe_record is not None:
                write_record(failsafe_record, relay.pin_name, relay.fail_level)
            indicators = Indicators(green_pin, red_pin, buzzer_pin, pin_factory=pin_factory)
            button = None
            if button_pin is not None:
                if on_manual is None:
                    raise ValueError("button_pin needs on_manual, the callback that logs a press")
                button = OverrideButton(button_pin, on_manual, pin_factory=pin_factory)
        except BaseException:
            relay.close()
            raise
        return cls(relay, indicators, button)

    @property
    def is_open(self) -> bool:
        """True while the relay holds the gate open."""
        return self.relay.is_open

    def on_state(self, callback: Callable[[GateState], None]) -> None:
        """Call ``callback("open")`` or ``callback("closed")`` on every change of the gate."""
        self.relay.on_state(callback)

    def show(self, allow: bool) -> None:
        """Show a decision: lights and sound, and on allow a bounded relay pulse. Non-blocking."""
        if self.indicators is not None:
            self.indicators.show(allow)
        if allow:
            self.relay.pulse()

    def open_manual(self, seconds: float | None = None) -> None:
        """Open the gate for a manual override (call it after the override is logged)."""
        if self.indicators is not None:
            self.indicators.show(True)
        self.relay.pulse(seconds)

    def close(self) -> None:
        """Put the relay in its fail state first, then release every other pin."""
        try:
            self.relay.close()
        finally:
            if self.button is not None:
                self.button.close()
            if self.indicators is not None:
                self.indicators.close()
