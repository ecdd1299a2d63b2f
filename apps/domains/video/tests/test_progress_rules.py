"""The watch progress rule (apps/domains/video/progress_rules.py): what a heartbeat counts, and the interval union."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from apps.domains.video import progress_rules as rules

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def beat(seq, position, seconds, playing=True):
    return rules.Beat(seq=seq, position=position, playing=playing, at=T0 + timedelta(seconds=seconds))


ranges = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)).map(lambda r: (min(r), max(r))),
                  max_size=12)


# ------------------------------------------------------------------------------------------------------- union
def test_union_normalises_sorts_and_joins_touching_ranges():
    assert rules.union([(50, 60), (0, 10), (10, 20), (5, 8), (30, 30)]) == [(0, 20), (50, 60)]


@given(ranges)
def test_union_is_idempotent(a):
    once = rules.union(a)
    assert rules.union(once) == once
    assert rules.union(a, a) == once


@given(ranges, ranges)
def test_union_is_commutative(a, b):
    assert rules.union(a, b) == rules.union(b, a)


@given(ranges, ranges, ranges)
def test_union_is_associative(a, b, c):
    assert rules.union(rules.union(a, b), c) == rules.union(a, rules.union(b, c))


@given(ranges)
def test_union_covers_exactly_the_points_of_its_parts(a):
    points = {p for start, end in a for p in range(start, end)}
    assert rules.total(rules.union(a)) == len(points)


@given(ranges)
def test_the_text_form_round_trips(a):
    merged = rules.union(a)
    assert rules.from_text(rules.to_text(merged)) == merged
    assert rules.to_text([]) == "{}"
    assert rules.to_text([(0, 100), (250, 400)]) == "{[0,100),[250,400)}"


# ------------------------------------------------------------------------------------------------------- a beat
def test_a_devices_first_heartbeat_counts_nothing():
    assert rules.accepts(None, beat(1, 30.0, 0))
    assert rules.played_span(None, beat(1, 30.0, 0)) is None


def test_normal_playback_counts_the_span_played():
    assert rules.played_span(beat(1, 0.0, 0), beat(2, 10.0, 10)) == (0, 100)


@given(st.floats(0, 3000), st.floats(0.5, 30), st.floats(0.1, 2.0))
def test_playback_up_to_2x_adds_exactly_the_played_span(start, elapsed, speed):
    end = start + elapsed * speed
    span = rules.played_span(beat(1, start, 0), beat(2, end, elapsed))
    expected = (rules.tenths(start), rules.tenths(end))
    assert span == (expected if expected[1] > expected[0] else None)


@given(st.floats(0, 3000), st.floats(1, 30), st.floats(0.01, 10000))
def test_a_seek_ahead_adds_nothing(start, elapsed, beyond):
    budget = rules.MAX_RATE * elapsed + rules.SLACK_SECONDS
    assert rules.played_span(beat(1, start, 0), beat(2, start + budget + beyond, elapsed)) is None


def test_a_long_gap_counts_only_up_to_the_cap():
    cap = rules.MAX_RATE * rules.MAX_GAP_SECONDS + rules.SLACK_SECONDS  # 65 s after any pause
    assert rules.played_span(beat(1, 100.0, 0), beat(2, 100.0 + cap, 3600)) == (1000, 1650)
    assert rules.played_span(beat(1, 100.0, 0), beat(2, 100.0 + cap + 0.1, 3600)) is None


def test_seeking_back_or_standing_still_counts_nothing():
    assert rules.played_span(beat(1, 100.0, 0), beat(2, 40.0, 10)) is None
    assert rules.played_span(beat(1, 100.0, 0), beat(2, 100.0, 10)) is None


def test_nothing_counts_after_a_pause_heartbeat():
    paused = beat(5, 100.0, 0, playing=False)
    assert rules.played_span(paused, beat(6, 110.0, 10)) is None  # the resume was not reported: nothing counts
    resumed = beat(6, 100.0, 600)  # the player reports the resume; the next heartbeat counts from there
    assert rules.played_span(resumed, beat(7, 110.0, 610)) == (1000, 1100)


def test_duplicates_and_late_heartbeats_are_not_accepted():
    last = beat(5, 50.0, 50)
    assert not rules.accepts(last, beat(5, 50.0, 51))
    assert not rules.accepts(last, beat(4, 40.0, 52))
    assert rules.played_span(last, beat(4, 60.0, 60)) is None
    assert rules.accepts(last, beat(7, 70.0, 70))  # a seq gap (lost heartbeats) is accepted


def test_a_lost_heartbeat_is_covered_by_the_next_one():
    assert rules.played_span(beat(1, 0.0, 0), beat(3, 20.0, 20)) == (0, 200)


def test_positions_are_clamped_to_the_duration_and_completion_is_90_percent():
    assert rules.clamp(612.4, 600.0) == 600.0
    assert rules.clamp(612.4, None) == 612.4
    assert rules.is_complete(5400, 600.0) and not rules.is_complete(5399, 600.0)
    assert not rules.is_complete(10, None) and not rules.is_complete(0, 0.0)
    assert rules.percent(5399, 600.0) == 90.0 and rules.percent(6000, 600.0) == 100.0
    assert rules.percent(3, None) is None
