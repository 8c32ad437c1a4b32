"""Force the relay pin to its fail level after the daemon has gone: the unit's ``ExecStopPost=``.

The daemon writes a small record (pin and fail level) when it builds the gate; this command reads
it, so the unit file need not repeat the pin numbers from the config::

    python -m gatekeeper.hw.failsafe --record /var/lib/gatekeeper/failsafe.json
    python -m gatekeeper.hw.failsafe --pin 17 --level low          # explicit, e.g. by hand

On Raspberry Pi OS it uses ``pinctrl`` (Bookworm) or ``raspi-gpio`` (older), which set the pin
as a driven output that stays so after the command exits. Elsewhere, or with ``--factory``, it
uses gpiozero, whose pins revert to inputs on exit: the external pull resistor must then hold the
level (it should anyway; see docs/operations.md). The exit status is 0 when the level was set.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from gatekeeper.atomicfile import write_atomic

Level = Literal["low", "high"]


def write_record(path: Path, pin: int | str, level: Level) -> None:
    """Atomically and durably write the fail-safe record the ``ExecStopPost=`` helper reads."""
    write_atomic(path, (json.dumps({"pin": str(pin), "level": level}) + "\n").encode())


def read_record(path: Path) -> tuple[int, Level]:
    """Read a record written by :func:`write_record`; raise ValueError if it is not one."""
    data = json.loads(path.read_text())
    return bcm_number(data["pin"]), _level(data["level"])


def bcm_number(pin: int | str) -> int:
    """Turn ``17``, ``"17"`` or ``"GPIO17"`` into the BCM number 17; pinctrl wants numbers."""
    match = re.fullmatch(r"(?:GPIO|BCM)?(\d{1,2})", str(pin).strip(), re.IGNORECASE)
    if not match or int(match.group(1)) > 57:
        raise ValueError(f"not a BCM GPIO number: {pin!r} (use e.g. 17 or GPIO17)")
    return int(match.group(1))


def _level(value: str) -> Level:
    if value not in ("low", "high"):
        raise ValueError(f"level must be 'low' or 'high', not {value!r}")
    return value  # type: ignore[return-value]


def force_with_tool(pin: int, level: Level) -> str | None:
    """Set the pin with pinctrl or raspi-gpio if one is installed; return the tool used."""
    for tool in ("pinctrl", "raspi-gpio"):
        exe = shutil.which(tool)
        if exe:
            drive = "dl" if level == "low" else "dh"
            subprocess.run([exe, "set", str(pin), "op", drive], check=True, timeout=10)
            return tool
    return None


def force_with_gpiozero(pin: int, level: Level, factory: str) -> bool:
    """Drive the pin with gpiozero; return the level read back (True = high)."""
    from gpiozero import DigitalOutputDevice

    from gatekeeper.hw.pins import make_pin_factory  # gpiozero only when it is needed

    device = DigitalOutputDevice(pin, initial_value=(level == "high"),
                                 pin_factory=make_pin_factory(factory))  # type: ignore[arg-type]
    state = bool(device.pin.state)
    device.close()
    return state


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m gatekeeper.hw.failsafe",
                                     description="Force the gate relay pin to its fail level.")
    parser.add_argument("--record", type=Path, help="fail-safe record written by the daemon")
    parser.add_argument("--pin", help="BCM GPIO number (instead of --record)")
    parser.add_argument("--level", choices=("low", "high"), help="fail level (with --pin)")
    parser.add_argument("--factory", choices=("default", "mock"),
                        help="use gpiozero with this pin factory instead of pinctrl")
    args = parser.parse_args(argv)
    try:
        if args.record is not None:
            if not args.record.exists():
                # The daemon never built the gate, so never drove the pin: the pull holds it.
                print(f"failsafe: no record at {args.record}; the relay pin was never driven")
                return 0
            pin, level = read_record(args.record)
        elif args.pin is not None and args.level is not None:
            pin, level = bcm_number(args.pin), _level(args.level)
        else:
            parser.error("give --record FILE, or --pin N and --level low|high")
        tool = None if args.factory else force_with_tool(pin, level)
        if tool:
            print(f"failsafe: GPIO{pin} driven {level} with {tool}")
            return 0
        state = force_with_gpiozero(pin, level, args.factory or "default")
        print(f"failsafe: GPIO{pin} set {'high' if state else 'low'} with gpiozero")
        return 0 if state == (level == "high") else 1
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        print(f"failsafe: could not force the relay pin: {exc}. The external pull resistor is "
              f"now all that holds the gate in its fail state.", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 -- gpiozero raises its own errors (no pin factory, pin in use...)
        print(f"failsafe: could not force the relay pin: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
