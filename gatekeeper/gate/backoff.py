"""When to try again: full-jitter exponential backoff, ``Retry-After``, and what a status means.

Pure functions; the uploader and updater keep the attempt count and sleep.
"""

from __future__ import annotations

import enum
import random
from email.utils import parsedate_to_datetime

#: The first retry waits up to this long; each failure doubles the ceiling up to the cap.
BASE_S = 1.0
#: A hub cannot park a device for longer than this with Retry-After.
MAX_RETRY_AFTER_S = 3600.0


def full_jitter(attempt: int, cap: float, rand: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): uniform in [0, min(cap, base * 2^(attempt-1))].

    Full jitter (not "exponential plus a little") spreads fifty gates that lost the hub at the same
    moment over the whole window, so they do not return in a herd.
    """
    ceiling = min(cap, BASE_S * 2 ** min(max(attempt - 1, 0), 30))
    return (random.random() if rand is None else rand) * ceiling


def retry_after(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now``; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        return min(max(parsedate_to_datetime(value).timestamp() - now, 0.0), MAX_RETRY_AFTER_S)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def next_delay(attempt: int, cap: float, after: float | None) -> float:
    """The wait before the next try: the jittered backoff, but never less than the hub asked for."""
    jitter = full_jitter(attempt, cap)
    return max(jitter, after) if after is not None else jitter


class Outcome(enum.StrEnum):
    """What a reply status means for the request that got it."""

    OK = "ok"
    #: 429, 408, 5xx, or no reply at all: the hub may take it later.
    RETRY = "retry"
    #: 401, 403: this device is not accepted -- retrying the same rows elsewhere would not help,
    #: and parking them would park everything.
    REFUSED_IDENTITY = "refused_identity"
    #: 413: split and resend.
    TOO_LARGE = "too_large"
    #: Any other 4xx: this request will never be accepted as it is.
    REFUSED = "refused"


def outcome_of(status: int) -> Outcome:
    """The :class:`Outcome` of a reply status; 0 (no reply: the hub was unreachable) is a retry."""
    if 200 <= status < 300 or status == 304:
        return Outcome.OK
    if status == 0 or status in (408, 429) or status >= 500:
        return Outcome.RETRY
    if status in (401, 403):
        return Outcome.REFUSED_IDENTITY
    if status == 413:
        return Outcome.TOO_LARGE
    return Outcome.REFUSED
