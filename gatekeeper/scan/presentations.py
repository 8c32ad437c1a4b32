"""Presentations: turning "codes seen in frames" into "a pass was shown", once per showing.

A person holds a phone up for a second or two: 30-60 frames with the same code. The gate must
decide once. The tracker is pure (no clock, no threads): it is fed what each frame held and
the frame's capture time, and answers which payloads are new presentations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Presentation:
    """A pass shown to the camera: the decision the daemon makes is about this.

    ``captured_at`` is the monotonic capture time of the frame it was read from and
    ``decoded_at`` the monotonic time it was read, so the loop's latency is measured.
    """

    payload: bytes
    captured_at: float
    decoded_at: float
    frame_index: int
    decode_ms: float


class PresentationTracker:
    """Decides which codes in a frame are new presentations.

    A payload is presented when it was not in view before; again when it has been out of
    view for more than ``gap_s``; or again when ``cooldown_s`` has passed since it was last
    presented, even if it never left (the volunteer may ask for it to be shown again, and a
    stuck decision must not lock a gate). Different payloads are independent: each is presented
    at once. Times are capture times, so the rules follow the scene, not the decoder's speed.
    """

    def __init__(self, cooldown_s: float = 3.0, gap_s: float = 1.0) -> None:
        if cooldown_s < 0 or gap_s < 0:
            raise ValueError(f"cooldown_s and gap_s must be >= 0, not {cooldown_s}, {gap_s}")
        self.cooldown_s = cooldown_s
        self.gap_s = gap_s
        self._last_seen: dict[bytes, float] = {}
        self._last_presented: dict[bytes, float] = {}

    def feed(self, payloads: Iterable[bytes], t: float) -> list[bytes]:
        """Record the payloads seen in a frame captured at ``t``; return the new presentations
        in the order seen (each payload at most once per frame)."""
        new: list[bytes] = []
        for payload in dict.fromkeys(payloads):
            seen = self._last_seen.get(payload)
            shown = self._last_presented.get(payload)
            if seen is None or t - seen > self.gap_s or shown is None or t - shown >= self.cooldown_s:
                new.append(payload)
                self._last_presented[payload] = t
            self._last_seen[payload] = t
        self._forget(t)
        return new

    def _forget(self, t: float) -> None:
        # A payload out of view longer than both windows would be presented anyway: drop it so
        # memory stays bounded on a gate that sees thousands of passes a day.
        horizon = max(self.gap_s, self.cooldown_s)
        for payload in [p for p, s in self._last_seen.items() if t - s > horizon]:
            del self._last_seen[payload]
            self._last_presented.pop(payload, None)

    def __len__(self) -> int:
        return len(self._last_seen)
