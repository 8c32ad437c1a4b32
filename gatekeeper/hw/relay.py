"""The gate relay: bounded pulses open, and a fail state for when the daemon stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from gpiozero import DigitalOutputDevice, Factory

FailMode = Literal["secure", "safe"]
GateState = Literal["open", "closed"]

#: No pulse may hold the gate open longer than this, whatever a caller asks: a bug or a bad
#: config value must never latch the gate open.
MAX_PULSE_SECONDS = 60.0


class GateRelay:
    """A relay that opens the gate for a bounded time and closes it again by itself.

    ``active_high`` says which pin level opens the gate (True: high opens). ``fail_mode`` is the
    state the relay is put in by :meth:`close` (and so on a normal exit or SIGTERM): ``"secure"``
    leaves the gate locked, ``"safe"`` leaves it open for fire egress. Wire the relay so that the
    fail state is also its de-energised state (see docs/operations.md): then a dead Pi agrees.

    Every opening is a :meth:`pulse` closed by a timer thread; there is no "open and stay open".
    """

    def __init__(
        self,
        pin: int | str,
        *,
        active_high: bool = True,
        fail_mode: FailMode = "secure",
        open_seconds: float = 3.0,
        pin_factory: Factory | None = None,
    ) -> None:
        if fail_mode not in ("secure", "safe"):
            raise ValueError(f"fail_mode must be 'secure' or 'safe', not {fail_mode!r}")
        _check_seconds(open_seconds)
        self.fail_mode: FailMode = fail_mode
        self.open_seconds = float(open_seconds)
        self._device = DigitalOutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )
        self._lock = threading.Condition()
        self._deadline: float | None = None  # monotonic time the current pulse ends
        self._timer: threading.Thread | None = None
        self._closed = False
        self._listeners: list[Callable[[GateState], None]] = []

    @property
    def pin_name(self) -> str:
        """The pin's name as gpiozero resolved it, e.g. ``"GPIO17"``."""
        return self._device.pin.info.name

    @property
    def fail_level(self) -> Literal["low", "high"]:
        """The pin level of the fail state: what ``ExecStopPost=`` must force."""
        open_high = self._device.active_high
        fail_open = self.fail_mode == "safe"
        return "high" if open_high == fail_open else "low"

    @property
    def is_open(self) -> bool:
        """True while the relay holds the gate open."""
        return bool(self._device.value)

    def on_state(self, callback: Callable[[GateState], None]) -> None:
        """Call ``callback("open")`` / ``callback("closed")`` whenever the gate changes state.

        Callbacks run in the caller's thread (opening) or the relay's timer thread (closing);
        they must be quick and must not raise.
        """
        self._listeners.append(callback)

    def pulse(self, seconds: float | None = None) -> None:
        """Open the gate for ``seconds`` (default ``open_seconds``), then close it.

        A pulse while the gate is already open extends it to end ``seconds`` from now.
        """
        seconds = self.open_seconds if seconds is None else seconds
        _check_seconds(seconds)
        with self._lock:
            if self._closed:
                raise RuntimeError("relay is closed")
            was_open = self._deadline is not None
            self._deadline = time.monotonic() + seconds
            self._device.on()
            if self._timer is None:
                self._timer = threading.Thread(target=self._close_at_deadline, name="gate-relay",
                                               daemon=True)
                self._timer.start()
            self._lock.notify_all()
        if not was_open:
            self._emit("open")

    def _close_at_deadline(self) -> None:
        with self._lock:
            while self._deadline is not None:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            ended_here = self._deadline is not None
            if ended_here and not self._closed:
                self._device.off()
            self._deadline = None
            self._timer = None
        if ended_here and not self._closed:
            self._emit("closed")

    def close(self) -> None:
        """Stop any pulse, drive the fail level, then release the pin.

        Released, the pin becomes an input and the external pull resistor holds the same level.
        Safe to call more than once.
        """
        with self._lock:
            if self._closed:
                return
            was_open = self._deadline is not None or bool(self._device.value)
            self._closed = True
            self._deadline = None
            self._lock.notify_all()
            if self.fail_mode == "safe":
                self._device.on()
            else:
                self._device.off()
            self._device.close()
        if was_open and self.fail_mode == "secure":
            self._emit("closed")
        elif not was_open and self.fail_mode == "safe":
            self._emit("open")

    def _emit(self, state: GateState) -> None:
        for callback in list(self._listeners):
            callback(state)


def _check_seconds(seconds: float) -> None:
    if not 0 < seconds <= MAX_PULSE_SECONDS:
        raise ValueError(f"a gate pulse must last more than 0 and at most {MAX_PULSE_SECONDS} s, "
                         f"not {seconds!r}")
