"""The volunteer's override button."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gpiozero import Button, Factory


class OverrideButton:
    """A push button (to ground, internal pull-up by default) that calls ``on_press`` once a press.

    Contacts bounce on press and on release, and not every pin factory debounces (the mock one
    does not), so a press counts only if ``debounce_seconds`` have passed since the last counted
    press and since the last release (``clock``: monotonic seconds; tests pass their own).
    ``on_press`` runs in gpiozero's callback thread: it should log the manual decision and then
    open the gate, and not block for long.
    """

    def __init__(
        self,
        pin: int | str,
        on_press: Callable[[], None],
        *,
        pull_up: bool = True,
        debounce_seconds: float = 0.3,
        pin_factory: Factory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_press = on_press
        self._clock = clock
        self._debounce = debounce_seconds
        self._last_press = -float("inf")
        self._last_release = -float("inf")
        self._lock = threading.Lock()
        self._button = Button(pin, pull_up=pull_up, bounce_time=None, pin_factory=pin_factory)
        self._button.when_pressed = self._pressed
        self._button.when_released = self._released

    @property
    def is_pressed(self) -> bool:
        """True while the button is held down."""
        return bool(self._button.is_pressed)

    def _pressed(self) -> None:
        now = self._clock()
        with self._lock:
            if now - max(self._last_press, self._last_release) < self._debounce:
                return
            self._last_press = now
        self._on_press()

    def _released(self) -> None:
        with self._lock:
            self._last_release = self._clock()

    def close(self) -> None:
        """Release the pin; no more callbacks."""
        self._button.when_pressed = None
        self._button.when_released = None
        self._button.close()
