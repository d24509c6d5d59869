"""Scoring: hand-computable verdicts from segment records."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core.scoring import (
    log_dimensionless_jerk,
    pace_verdict,
    score_repetition,
    session_score,
    speed_stops,
)
from coach.core.strokes import load_stroke
from coach.core.types import SegmentRecord

ILY = load_stroke("i-love-you")
NOMINAL = [s.nominal_s for s in ILY.segments]  # 2.0, 3.6, 5.6


def rec(seg, factor=1.0, reversed_=False, coverage=1.0, dist=0.02, start=0.0):
    d = NOMINAL[seg] * factor
    return SegmentRecord(0, seg, reversed_, start, start + d, d, coverage, dist)


def rep_of(factor=1.0, **kw):
    return [rec(s, factor, start=10.0 * s, **kw) for s in range(3)]


@pytest.mark.parametrize(
    ("ratio", "verdict"),
    [
        (1.0, "ok"),  # nominal
        (0.85, "ok"),  # 15% fast: never flagged
        (1.15, "ok"),  # 15% slow: never flagged
        (0.59, "too_fast"),  # just under the 0.6 bound
        (1 / 3, "too_fast"),  # 3x fast: always flagged
        (1.81, "too_slow"),  # just over the 1.8 bound
        (3.0, "too_slow"),  # 3x slow: always flagged
        (math.nan, "ok"),  # unknown duration is no verdict
    ],
)
def test_pace_verdict_bounds(ratio, verdict):
    assert pace_verdict(ratio, ILY) == verdict


@pytest.mark.parametrize(
    ("records", "flags", "direction", "pace"),
    [
        (rep_of(), (), "ok", "ok"),  # a perfect repetition
        (rep_of(1 / 3), ("too_fast",), "ok", "too_fast"),  # three times too fast
        (rep_of(3.0), ("too_slow",), "ok", "too_slow"),  # three times too slow
        (rep_of(reversed_=True), ("wrong_direction",), "wrong", "ok"),  # every letter backwards
        (rep_of(coverage=0.5), ("incomplete",), "ok", "ok"),  # half of each letter
        (rep_of(dist=0.45), ("off_path",), "ok", "ok"),  # far from the drawn path
        (rep_of()[:2], ("incomplete",), "ok", "ok"),  # the U is missing
        (
            [rec(0), rec(1, reversed_=True, start=10), rec(2, start=20)],
            ("wrong_direction",),
            "wrong",
            "ok",
        ),  # one reversed letter makes the repetition wrong
    ],
)
def test_verdicts(records, flags, direction, pace):
    s = score_repetition(ILY, 0, records, (0, 1, 2))
    assert s.flags == flags
    assert s.direction == direction
    assert s.pace == pace


def test_speed_ratio_is_nominal_over_actual():
    s = score_repetition(ILY, 0, rep_of(0.5), (0, 1, 2))
    assert s.speed_ratio == pytest.approx(2.0)
    assert s.duration_s == pytest.approx(sum(NOMINAL) / 2)
    assert s.nominal_s == pytest.approx(sum(NOMINAL))


def test_coverage_is_weighted_by_nominal_time():
    records = [rec(0, coverage=1.0), rec(1, coverage=1.0, start=10), rec(2, coverage=0.5, start=20)]
    s = score_repetition(ILY, 0, records, (0, 1, 2))
    assert s.coverage == pytest.approx((2.0 + 3.6 + 0.5 * 5.6) / 11.2)


def test_score_reads_as_100_minus_findings():
    assert score_repetition(ILY, 0, rep_of(), (0, 1, 2)).score == 100
    assert score_repetition(ILY, 0, rep_of(reversed_=True), (0, 1, 2)).score == 60
    both = score_repetition(ILY, 0, rep_of(1 / 3, reversed_=True), (0, 1, 2))
    assert both.score == 35
    assert 90 <= score_repetition(ILY, 0, rep_of(1.3), (0, 1, 2)).score < 100


def test_session_score_is_the_mean():
    reps = [score_repetition(ILY, i, rep_of(f), (0, 1, 2)) for i, f in enumerate((1.0, 1 / 3))]
    assert session_score(reps) == round((100 + 75) / 2)
    assert session_score([]) == 0


def test_no_records_is_an_error_that_says_so():
    with pytest.raises(ValueError, match="at least one segment record"):
        score_repetition(ILY, 0, [], (0, 1, 2))


def _line(t, speed_profile):
    v = np.interp(t, *speed_profile)
    x = np.concatenate([[0.0], np.cumsum(v[1:] * np.diff(t))])
    return np.column_stack([x, np.zeros_like(x)])


def test_stop_and_go_is_less_smooth_than_a_steady_stroke():
    t = np.linspace(0.0, 2.0, 61)
    steady = np.column_stack([np.linspace(0, 0.75, 61), np.zeros(61)])
    bell = _line(t, (t, 0.375 * (1 - np.cos(2 * np.pi * t / 2.0))))
    jerky = _line(t, (t, 0.375 * (1 + np.sign(np.sin(2 * np.pi * 2 * t)))))
    ldlj = [log_dimensionless_jerk(t, p) for p in (steady, bell, jerky)]
    assert ldlj[2] < ldlj[1] - 2
    assert ldlj[2] < ldlj[0] - 2
    assert math.isnan(log_dimensionless_jerk(t[:3], steady[:3]))  # too short to judge


@pytest.mark.parametrize(
    ("profile", "stops"),
    [
        ("steady", 0),  # constant speed
        ("bell", 0),  # speeds up and slows down once: one smooth movement
        ("stop_and_go", 3),  # four pushes in two seconds: three stops between them
    ],
)
def test_speed_stops(profile, stops):
    t = np.linspace(0.0, 2.0, 61)
    speed = {
        "steady": np.full_like(t, 0.375),
        "bell": 0.375 * (1 - np.cos(2 * np.pi * t / 2.0)),
        "stop_and_go": 0.375 * (1 - np.cos(2 * np.pi * 2 * t)),
    }[profile]
    n, moving = speed_stops(t, _line(t, (t, speed)))
    assert n == stops
    assert moving > 0.8


def _bent(t, speed, turn_deg, radius_box=None):
    """A path whose speed follows ``speed``: straight, bent by ``turn_deg`` half way
    along (a corner), or on a circle of ``radius_box`` when given."""
    s = np.concatenate([[0.0], np.cumsum(speed[1:] * np.diff(t))])
    if radius_box is not None:
        a = s / radius_box
        return np.column_stack([radius_box * np.sin(a), radius_box * (1 - np.cos(a))])
    half = s[-1] / 2
    a = math.radians(turn_deg)
    before = np.column_stack([s, np.zeros_like(s)])
    after = np.column_stack([half + (s - half) * math.cos(a), (s - half) * math.sin(a)])
    return np.where((s <= half)[:, None], before, after)


# Two pushes of one second each, speed to zero between them (at t = 1 s, half way).
_T = np.linspace(0.0, 2.0, 61)
_TWO_PUSHES = 0.375 * (1 - np.cos(2 * np.pi * _T))


@pytest.mark.parametrize(
    ("turn_deg", "radius_box", "stops"),
    [
        (0, None, 1),  # straight line: the hand stopped and went on, a stop
        (30, None, 1),  # a slight bend is no corner: still a stop
        (90, None, 0),  # the L's corner: slowing to draw it is no stop
        (135, None, 0),  # a sharp corner (the U's top corners, cut)
        (0, 0.35, 1),  # a stop on a Sun circle (radius 0.35 box) is still a stop
    ],
)
def test_slowing_at_a_corner_is_not_a_stop(turn_deg, radius_box, stops):
    path = _bent(_T, _TWO_PUSHES, turn_deg, radius_box)
    n, _ = speed_stops(_T, path)
    assert n == stops


def test_stop_and_go_on_an_l_is_still_jerky():
    # Four pushes in two seconds on an L: the stop at the corner does not count,
    # the two along the legs do.
    speed = 0.375 * (1 - np.cos(2 * np.pi * 2 * _T))
    path = _bent(_T, speed, 90)
    n, _ = speed_stops(_T, path)
    assert n == 2
    recs = [SegmentRecord(0, 0, False, 0.0, 2.0, 2.0, 1.0, 0.02)]
    s = score_repetition(ILY, 0, recs, (0,), path_t_s=_T, path_uv=path)
    assert "jerky" in s.flags


def test_jerky_flag_from_the_path():
    t = np.linspace(0.0, 2.0, 61)
    path = _line(t, (t, 0.375 * (1 - np.cos(2 * np.pi * 2 * t))))
    recs = [SegmentRecord(0, 0, False, 0.0, 2.0, 2.0, 1.0, 0.02)]
    s = score_repetition(ILY, 0, recs, (0,), path_t_s=t, path_uv=path)
    assert "jerky" in s.flags
