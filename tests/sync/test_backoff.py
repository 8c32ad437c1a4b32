"""When the device tries again: full jitter under the cap, Retry-After as a floor, status classes."""

from __future__ import annotations

import random
from email.utils import formatdate

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.gate.backoff import (
    MAX_RETRY_AFTER_S,
    Outcome,
    full_jitter,
    next_delay,
    outcome_of,
    retry_after,
)


@given(attempt=st.integers(1, 200), cap=st.floats(0.1, 3600), rand=st.floats(0, 1))
def test_jitter_stays_within_the_doubling_ceiling_and_the_cap(attempt, cap, rand):
    d = full_jitter(attempt, cap, rand)
    assert 0 <= d <= min(cap, 2 ** (attempt - 1)) + 1e-9


def test_jitter_spreads_over_the_whole_window():
    random.seed(1)
    waits = [full_jitter(10, 60) for _ in range(2000)]
    # full jitter: uniform over [0, 60], not clustered near the ceiling
    assert min(waits) < 3 and max(waits) > 57 and 25 < sum(waits) / len(waits) < 35


def test_retry_after_seconds_and_http_date():
    assert retry_after("7", 1000.0) == 7
    assert retry_after(formatdate(1030, usegmt=True), 1000.0) == 30
    assert retry_after(formatdate(900, usegmt=True), 1000.0) == 0  # in the past: now
    assert retry_after("99999999", 0) == MAX_RETRY_AFTER_S  # a hub cannot park a gate for days
    assert retry_after("soon", 0) is None and retry_after(None, 0) is None


def test_retry_after_is_a_floor_over_the_jitter():
    assert next_delay(1, 2.0, 40.0) == 40.0
    assert 0 <= next_delay(3, 2.0, None) <= 2.0


def test_status_classes():
    ok, retry, identity, large, refused = (Outcome.OK, Outcome.RETRY, Outcome.REFUSED_IDENTITY, Outcome.TOO_LARGE,
                                           Outcome.REFUSED)
    got = [outcome_of(s) for s in (200, 304, 0, 408, 429, 500, 503, 401, 403, 413, 400, 409, 422)]
    want = [ok, ok, retry, retry, retry, retry, retry, identity, identity, large, refused, refused, refused]
    assert all(g is w for g, w in zip(got, want, strict=True))  # the members themselves, not equal strings
