"""SIGTERM/SIGINT handling so that ``finally`` blocks (and so the relay's fail state) run.

Python's default SIGTERM action kills the process without unwinding: no ``finally``, no
``atexit``, so gpiozero never closes its pins. systemd stops a service with SIGTERM.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType


def install_signal_handlers(
    stop: Callable[[], None],
    *,
    reload: Callable[[], None] | None = None,
    interrupt: bool = True,
) -> Callable[[], None]:
    """Handle SIGTERM and SIGINT by calling ``stop()``, then (if ``interrupt``) raising SystemExit.

    ``stop`` should only ask the daemon to stop (set an event); raising ``SystemExit(128 + signum)``
    in the main thread then unwinds it through its ``finally`` blocks, where the gate is closed.
    With ``interrupt=False`` the handler only calls ``stop`` and the main loop is expected to return
    by itself. A second signal while stopping is ignored, so it cannot cut the cleanup short.
    ``reload``, if given, is called on SIGHUP. Must be called from the main thread. Returns a
    function that restores the previous handlers.
    """
    stopping = False

    def on_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        stop()
        if interrupt:
            raise SystemExit(128 + signum)

    def on_reload(signum: int, frame: FrameType | None) -> None:
        assert reload is not None
        reload()

    handlers: dict[signal.Signals, Callable[[int, FrameType | None], None]] = {
        signal.SIGTERM: on_stop,
        signal.SIGINT: on_stop,
    }
    if reload is not None:
        handlers[signal.SIGHUP] = on_reload
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore
