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
    """Decides which codes in a frame are new presentations: one showing, one decision.

    A showing of a payload starts when it comes into view, or back into view after more than
    ``gap_s`` out of it; it is decided once, at its first frame, or, when the payload's last
    decision was less than ``cooldown_s`` before, at its first frame once the cooldown has passed
    (a pass waved away and back at once is not decided twice). A code that stays in view is never
    decided again, however long it stays. Different payloads are independent. All times are
    capture times, so the rules follow the scene, not the frame rate or the decoder's speed.
    """

    def __init__(self, cooldown_s: float = 3.0, gap_s: float = 1.0) -> None:
        if cooldown_s < 0 or gap_s < 0:
            raise ValueError(f"cooldown_s and gap_s must be >= 0, not {cooldown_s}, {gap_s}")
        self.cooldown_s = cooldown_s
        self.gap_s = gap_s
        self._last_seen: dict[bytes, float] = {}
        self._decided_at: dict[bytes, float] = {}
        self._pending: set[bytes] = set()  # payloads whose current showing is not decided yet

    def feed(self, payloads: Iterable[bytes], t: float) -> list[bytes]:
        """Record the payloads seen in a frame captured at ``t``; return the new presentations
        in the order seen (each payload at most once per frame)."""
        new: list[bytes] = []
        for payload in dict.fromkeys(payloads):
            seen = self._last_seen.get(payload)
            if seen is None or t - seen > self.gap_s:
                self._pending.add(payload)
            decided = self._decided_at.get(payload)
            if payload in self._pending and (decided is None or t - decided >= self.cooldown_s):
                new.append(payload)
                self._decided_at[payload] = t
                self._pending.discard(payload)
            self._last_seen[payload] = t
        self._forget(t)
        return new

    def _forget(self, t: float) -> None:
        # A payload out of view longer than both windows starts a showing decided at once when it
        # comes back, as an unknown one would: drop it so memory stays bounded on a gate that
        # sees thousands of passes a day.
        horizon = max(self.gap_s, self.cooldown_s)
        for payload in [p for p, s in self._last_seen.items() if t - s > horizon]:
            del self._last_seen[payload]
            self._decided_at.pop(payload, None)
            self._pending.discard(payload)

    def __len__(self) -> int:
        return len(self._last_seen)
