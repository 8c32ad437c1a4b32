"""Prometheus text for ``/metrics``: decisions by reason, decode time, and a few gauges.

Written by hand rather than with prometheus_client: five series do not need a dependency, and
the daemon's one process serves them itself.
"""

from __future__ import annotations

import math
import threading
from collections import deque

#: The gauges the daemon sets, by key: (metric name, help text).
GAUGES: dict[str, tuple[str, str]] = {
    "frame_rate": ("gatekeeper_camera_frames_per_second", "Frames per second from the camera."),
    "log_backlog": ("gatekeeper_log_backlog_rows", "Passage-log rows not yet acknowledged by the hub."),
    "list_age_seconds": ("gatekeeper_list_age_seconds", "Age of the cached revocation list."),
    "clock_trusted": ("gatekeeper_clock_trusted", "1 if the wall clock is trusted, else 0."),
    "gate_open": ("gatekeeper_gate_open", "1 while the relay holds the gate open."),
}

QUANTILES = (0.5, 0.9, 0.99)


class Metrics:
    """Thread-safe counters and gauges, rendered as Prometheus text format 0.0.4.

    Decode-time quantiles are over the last ``window`` observations; ``_sum`` and ``_count`` are
    over the process's life, as Prometheus summaries expect.
    """

    def __init__(self, window: int = 1024) -> None:
        self._lock = threading.Lock()
        self._decisions: dict[str, int] = {}
        self._decode_recent: deque[float] = deque(maxlen=window)
        self._decode_sum = 0.0
        self._decode_count = 0
        self._gauges: dict[str, float] = {}

    def count_decision(self, reason: str) -> None:
        """Count one decision (or manual override) with its reason code."""
        with self._lock:
            self._decisions[reason] = self._decisions.get(reason, 0) + 1

    def observe_decode(self, seconds: float) -> None:
        """Record how long one frame took to decode."""
        with self._lock:
            self._decode_recent.append(seconds)
            self._decode_sum += seconds
            self._decode_count += 1

    def set_gauge(self, key: str, value: float | bool | None) -> None:
        """Set a gauge named in :data:`GAUGES`; None removes it (unknown, e.g. no list yet)."""
        if key not in GAUGES:
            raise KeyError(f"unknown gauge {key!r}; known: {', '.join(GAUGES)}")
        with self._lock:
            if value is None:
                self._gauges.pop(key, None)
            else:
                self._gauges[key] = float(value)

    def render(self) -> str:
        """The whole exposition, ready to serve with ``text/plain; version=0.0.4``."""
        with self._lock:
            decisions = dict(self._decisions)
            recent = sorted(self._decode_recent)
            total, count = self._decode_sum, self._decode_count
            gauges = dict(self._gauges)
        lines = ["# HELP gatekeeper_decisions_total Decisions made, by reason code.",
                 "# TYPE gatekeeper_decisions_total counter"]
        lines += [f'gatekeeper_decisions_total{{reason="{_label(r)}"}} {n}'
                  for r, n in sorted(decisions.items())]
        lines += ["# HELP gatekeeper_decode_seconds Time to decode one frame.",
                  "# TYPE gatekeeper_decode_seconds summary"]
        for q in QUANTILES:
            value = _number(recent[min(len(recent) - 1, int(q * len(recent)))]) if recent else "NaN"
            lines.append(f'gatekeeper_decode_seconds{{quantile="{q}"}} {value}')
        lines += [f"gatekeeper_decode_seconds_sum {_number(total)}",
                  f"gatekeeper_decode_seconds_count {count}"]
        for key, (name, text) in GAUGES.items():
            if key in gauges:
                lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge",
                          f"{name} {_number(gauges[key])}"]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    # Reason codes come from our own core, but a label value must never break the format.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
