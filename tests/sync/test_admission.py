"""The hub's upload admission (load shedding), driven with explicit clocks: what it admits, when it
tells the refused to come back, and how it measures the rate at which its queue drains."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.hub.limits import MAX_SLOT_S, REQUEST_COST_B, UNMEASURED_PACE, Admission

BATCH = 2_700  # a gzip'd 100-row batch
COST = BATCH + REQUEST_COST_B


def drain(adm: Admission, uploads: int, per_s: float, t0: float = 100.0, group: int = 1) -> float:
    """Admit ``uploads`` at ``t0`` and end them at ``per_s`` a second, ``group`` at a time (a group
    commit ends its uploads within a millisecond); the time of the last end."""
    for _ in range(uploads):
        assert adm.admit(BATCH, t0) is None
    now = t0
    for i in range(uploads):
        if i % group == 0:
            now += group / per_s
        adm.finished(BATCH, now + (i % group) * 0.00002)
    return now


def test_it_admits_while_the_queue_drains_within_max_wait_and_refuses_beyond():
    adm = Admission(max_wait_s=4.0, byte_rate=100 * COST)  # 100 uploads a second
    answers = [adm.admit(BATCH, 0.0) for _ in range(450)]
    assert answers[:400] == [None] * 400  # 400 uploads drain in 4 s
    assert all(a is not None and a > 0 for a in answers[400:])
    assert adm.admitted == 400 and adm.queued_bytes == 400 * COST


def test_the_refused_come_back_when_the_queue_has_room_spread_at_the_drain_rate():
    random.seed(1)
    adm = Admission(max_wait_s=4.0, byte_rate=100 * COST)
    drain(adm, 200, per_s=100.0, t0=0.0)  # measured: 100 uploads a second
    for _ in range(400):
        adm.admit(BATCH, 10.0)
    slots = [adm.admit(BATCH, 10.0) for _ in range(200)]
    # Not after the whole queue drained (4 s) but as room opens: the hub keeps a queue to work on.
    assert max(slots[:10]) < 1.2
    # One slot per upload at the drain rate, with jitter (never earlier than the slot: an upload
    # back early would find no room): 200 uploads over about 2 s.
    assert 2.0 <= max(slots) < 2.0 * 1.1 + 1.0
    assert all(later >= (i + 1) / 100 for i, later in enumerate(slots))
    assert sum(slots[100:]) > 2 * sum(slots[:50])  # later in line, later back


def test_before_any_measurement_slots_are_paced_optimistically():
    adm = Admission(max_wait_s=1.0, byte_rate=100 * COST)
    for _ in range(100):
        adm.admit(BATCH, 0.0)
    adm.admit(BATCH, 0.0)
    assert adm.horizon == pytest.approx(1 / (100 * UNMEASURED_PACE))


def test_a_hub_measured_slow_while_starting_does_not_send_gates_far_out():
    adm = Admission(max_wait_s=1e9, byte_rate=20 * COST, min_pace=100 * COST)
    drain(adm, 60, per_s=20.0, t0=0.0)  # a cold, shared machine: 20 uploads a second
    assert abs(adm.byte_rate / (20 * COST) - 1) < 0.1
    adm.max_wait_s = 4.0
    for _ in range(80):
        adm.admit(BATCH, 10.0)  # 4 s of work at that rate
    slots = [adm.admit(BATCH, 10.0) for _ in range(100)]
    # At the measured rate these would be 3-9 s out; at min_pace, within about 2 s.
    assert max(slots) < 1.0 * 1.1 + 1.0 + 0.1


def test_the_drain_rate_is_measured_over_busy_time_even_when_a_group_commit_ends_many_at_once():
    for group in (1, 32):
        adm = Admission(byte_rate=1.0, max_wait_s=1e9)
        drain(adm, 640, per_s=200.0, group=group)
        assert abs(adm.byte_rate / (200 * COST) - 1) < 0.1, (group, adm.byte_rate / COST)


def test_a_short_busy_spell_or_an_idle_gap_does_not_count_as_a_slow_hub():
    adm = Admission(byte_rate=123_456.0, max_wait_s=1e9)
    drain(adm, 3, per_s=1000.0, t0=0.0)  # too few, too short to measure
    assert adm.byte_rate == 123_456.0
    end = drain(adm, 400, per_s=200.0, t0=5.0)
    drain(adm, 400, per_s=200.0, t0=end + 600.0)  # ten minutes idle in between
    assert abs(adm.byte_rate / (200 * COST) - 1) < 0.1


def test_an_upload_too_big_for_a_short_queue_is_not_told_to_come_back_in_the_past():
    adm = Admission(max_wait_s=2.0, byte_rate=100 * COST)
    for _ in range(100):
        adm.admit(BATCH, 50.0)  # 1 s of work queued
    later = adm.admit(150 * COST, 50.0)  # 1.5 s more: over 2 s, refused
    assert later is not None and later > 0


def test_no_upload_is_sent_further_out_than_the_safety_net():
    adm = Admission(max_wait_s=1.0, byte_rate=10.0, min_pace=10.0, min_admitted=1)
    adm.admit(BATCH, 0.0)
    assert all(adm.admit(10_000_000, 0.0) <= MAX_SLOT_S * 1.1 + 1 for _ in range(50))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2_000_000), st.floats(0, 5)), max_size=200))
def test_any_sequence_keeps_the_books_balanced(ops):
    adm = Admission(max_wait_s=2.0)
    now, inside = 0.0, []
    for admit, size, dt in ops:
        now += dt
        if admit or not inside:
            later = adm.admit(size, now)
            assert later is None or 0 <= later <= MAX_SLOT_S * 1.1 + 1
            if later is None:
                inside.append(size)
        else:
            adm.finished(inside.pop(0), now)
        assert adm.byte_rate > 0
    for size in inside:
        now += 0.01
        adm.finished(size, now)
    assert adm.admitted == 0 and adm.queued_bytes == 0
