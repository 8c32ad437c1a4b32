"""The systemd notify protocol (READY=1, WATCHDOG=1, STATUS=...) without libsystemd.

The daemon sends ``READY=1`` once it scans, ``WATCHDOG=1`` from the frame loop itself (so a
stuck camera or decoder starves the watchdog and systemd restarts the service), and
``STOPPING=1`` on the way out.
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to ``$NOTIFY_SOCKET``; False when not under systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path or path[0] not in "/@":
        return False
    address = "\0" + path[1:] if path[0] == "@" else path  # "@" is the abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode("utf-8"), address)
        return True
    except OSError:
        return False


def watchdog_seconds() -> float | None:
    """The interval the watchdog expects pings within (``WatchdogSec=``), or None if it is off.

    Ping at half this interval, as systemd recommends.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000
    except ValueError:
        return None
