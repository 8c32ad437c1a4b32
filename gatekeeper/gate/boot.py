"""This boot's id: rows and batches carry it so the hub can pair monotonic times of one boot."""

from __future__ import annotations

import functools

from gatekeeper.wire import UNKNOWN_BOOT


@functools.cache
def boot_id() -> str:
    """The kernel's boot id, or ``unknown`` where there is none (not Linux): the hub then skips
    the monotonic-time correction for the rows (see :data:`~gatekeeper.wire.UNKNOWN_BOOT`)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return UNKNOWN_BOOT
