"""The presentation rules, on the pure tracker: no threads, no clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.scan.presentations import PresentationTracker

FRAME = 1 / 30


def run(tracker: PresentationTracker, timeline: list[list[bytes]], t0: float = 0.0) -> list[tuple[int, bytes]]:
    out = []
    for i, codes in enumerate(timeline):
        out += [(i, p) for p in tracker.feed(codes, t0 + i * FRAME)]
    return out


def test_a_code_in_view_for_30_frames_is_one_presentation():
    assert run(PresentationTracker(), [[b"A"]] * 30) == [(0, b"A")]


def test_out_of_view_longer_than_the_gap_and_back_is_two():
    timeline = [[b"A"]] * 10 + [[]] * 40 + [[b"A"]] * 10  # 40 frames = 1.33 s > gap 1 s
    assert run(PresentationTracker(cooldown_s=1.0, gap_s=1.0), timeline) == [(0, b"A"), (50, b"A")]


def test_a_short_flicker_out_of_view_is_still_one():
    timeline = [[b"A"]] * 10 + [[]] * 5 + [[b"A"]] * 10 + [[]] * 3 + [[b"A"]] * 5
    assert run(PresentationTracker(), timeline) == [(0, b"A")]


def test_two_different_codes_are_two_at_once():
    timeline = [[b"A"]] * 5 + [[b"A", b"B"]] * 5 + [[b"B"]] * 5
    assert run(PresentationTracker(), timeline) == [(0, b"A"), (5, b"B")]


def test_a_code_held_past_the_cooldown_is_still_one():
    timeline = [[b"A"]] * 300  # 10 s in view
    assert run(PresentationTracker(cooldown_s=3.0, gap_s=1.0), timeline) == [(0, b"A")]


def test_back_after_the_gap_but_within_the_cooldown_waits_for_the_cooldown():
    timeline = [[b"A"]] * 10 + [[]] * 40 + [[b"A"]] * 80  # back at 1.67 s, held to 4.3 s
    assert run(PresentationTracker(cooldown_s=3.0, gap_s=1.0), timeline) == [(0, b"A"), (90, b"A")]
    short = [[b"A"]] * 10 + [[]] * 40 + [[b"A"]] * 20 + [[]] * 60  # gone again before 3 s
    assert run(PresentationTracker(cooldown_s=3.0, gap_s=1.0), short) == [(0, b"A")]


def test_duplicates_in_one_frame_count_once():
    assert PresentationTracker().feed([b"A", b"A", b"B"], 0.0) == [b"A", b"B"]


def test_memory_is_bounded():
    tracker = PresentationTracker(cooldown_s=3.0, gap_s=1.0)
    for i in range(1000):
        tracker.feed([str(i).encode()], i * 1.0)
    assert len(tracker) <= 4


def test_negative_windows_are_refused():
    with pytest.raises(ValueError):
        PresentationTracker(cooldown_s=-1)


@given(st.lists(st.lists(st.sampled_from([b"A", b"B", b"C"]), max_size=3), max_size=200))
def test_never_twice_within_min_of_gap_and_cooldown(timeline):
    # Whatever the scene, two presentations of one code are never closer than the shorter
    # window: a code cannot open the gate twice in a flicker.
    tracker = PresentationTracker(cooldown_s=3.0, gap_s=1.0)
    last: dict[bytes, float] = {}
    for i, codes in enumerate(timeline):
        t = i * FRAME
        for p in tracker.feed(codes, t):
            assert p in codes
            assert p not in last or t - last[p] > 1.0 - 1e-9
            last[p] = t

