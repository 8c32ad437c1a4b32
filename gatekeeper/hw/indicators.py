"""Green and red LEDs and a buzzer: what a volunteer sees and hears for each decision."""

from __future__ import annotations

from dataclasses import dataclass

from gpiozero import LED, Buzzer, DigitalOutputDevice, Factory


@dataclass(frozen=True)
class Pattern:
    """``n`` pulses of ``on`` seconds separated by ``off`` seconds."""

    on: float
    off: float
    n: int

    @property
    def seconds(self) -> float:
        """How long the whole pattern lasts."""
        return self.n * self.on + (self.n - 1) * self.off


# One steady light and one short chirp for "pass"; a flashing light and three sharp beeps for
# "stop": told apart by ear alone, with gloves on and the screen in the sun.
ALLOW_LIGHT = Pattern(on=2.0, off=0.0, n=1)
ALLOW_BEEP = Pattern(on=0.15, off=0.0, n=1)
DENY_LIGHT = Pattern(on=0.25, off=0.25, n=4)
DENY_BEEP = Pattern(on=0.12, off=0.08, n=3)


class Indicators:
    """Green and red LEDs and an (active) buzzer; any of the three pins may be None (absent).

    :meth:`show` returns at once: gpiozero runs the patterns in its background threads, and a new
    result cuts the previous pattern short.
    """

    def __init__(
        self,
        green_pin: int | str | None = None,
        red_pin: int | str | None = None,
        buzzer_pin: int | str | None = None,
        *,
        pin_factory: Factory | None = None,
    ) -> None:
        self.green = LED(green_pin, pin_factory=pin_factory) if green_pin is not None else None
        self.red = LED(red_pin, pin_factory=pin_factory) if red_pin is not None else None
        self.buzzer = (Buzzer(buzzer_pin, pin_factory=pin_factory)
                       if buzzer_pin is not None else None)

    def show(self, allow: bool) -> None:
        """Play the allow or the deny pattern on the LEDs and the buzzer (non-blocking)."""
        light, other = (self.green, self.red) if allow else (self.red, self.green)
        if other is not None:
            other.off()
        _play(light, ALLOW_LIGHT if allow else DENY_LIGHT)
        _play(self.buzzer, ALLOW_BEEP if allow else DENY_BEEP)

    def off(self) -> None:
        """Stop every pattern and turn everything off."""
        for device in self._devices():
            device.off()

    def close(self) -> None:
        """Turn everything off and release the pins."""
        for device in self._devices():
            device.off()
            device.close()

    def _devices(self) -> list[DigitalOutputDevice]:
        return [d for d in (self.green, self.red, self.buzzer) if d is not None]


def _play(device: DigitalOutputDevice | None, pattern: Pattern) -> None:
    if device is not None:
        device.blink(on_time=pattern.on, off_time=pattern.off, n=pattern.n, background=True)
