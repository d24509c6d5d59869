"""Online matcher: hand-computable performances of the built-in strokes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core import matcher
from coach.core.matcher import OnlineMatcher
from coach.core.strokes import load_stroke
from tests.uvpaths import along, perform, run_matcher

ILY = load_stroke("i-love-you")
SUN = load_stroke("sun")


def by_segment(records):
    return [(r.repetition, r.segment, r.reversed) for r in records]


@pytest.mark.parametrize(
    "factor",
    [
        1.0,  # nominal pace: each letter takes its nominal time
        1 / 3,  # three times too fast
        0.5,  # twice as fast
        1.5,  # half again as slow
        3.0,  # three times too slow
    ],
)
def test_time_stretched_reference_gives_duration_equal_to_the_stretch(factor):
    records = run_matcher(OnlineMatcher(ILY), perform(ILY, factor=factor))
    assert by_segment(records) == [(r, s, False) for r in (0, 1) for s in (0, 1, 2)]
    for rec in records:
        nominal = ILY.segments[rec.segment].nominal_s
        assert rec.duration_s / nominal == pytest.approx(factor, rel=0.06)
        assert rec.coverage > 0.9


def test_reversed_letters_are_found_reversed():
    records = run_matcher(OnlineMatcher(ILY), perform(ILY, reverse=True))
    # A reversed I looks exactly like a lifted hand going back up: it may be read either
    # way. The L and the U cannot: every repetition has reversed letters.
    reps = {r.repetition for r in records}
    assert len(reps) == 2
    for rep in reps:
        assert any(r.reversed for r in records if r.repetition == rep)
    assert all(r.reversed for r in records if r.segment in (1, 2))


@pytest.mark.parametrize(
    "offset",
    [
        (0.2, 0.0),  # tracked point a fifth of the box towards the baby's left
        (-0.2, 0.0),  # ... towards the baby's right
        (0.0, 0.2),  # ... towards the hips
        (0.0, -0.2),  # ... towards the ribs (along the I: the hardest for coverage)
        (0.14, 0.14),  # diagonal
    ],
)
def test_systematic_offset_changes_neither_direction_nor_pace(offset):
    records = run_matcher(OnlineMatcher(ILY), perform(ILY, offset=offset))
    assert by_segment(records) == [(r, s, False) for r in (0, 1) for s in (0, 1, 2)]
    for rec in records:
        nominal = ILY.segments[rec.segment].nominal_s
        assert rec.duration_s / nominal == pytest.approx(1.0, rel=0.1)
        assert rec.coverage > 0.85
        assert rec.mean_distance_box <= math.hypot(*offset) + 0.05  # never further than the offset


def test_incomplete_letters_have_low_coverage():
    records = run_matcher(OnlineMatcher(ILY), perform(ILY, coverage=0.5))
    # Half a U followed by half an I can look like more of the U (the lifted hand moves
    # on along the U's path): then the I is missing. Either way no repetition is whole.
    for rep in {r.repetition for r in records}:
        recs = [r for r in records if r.repetition == rep]
        assert len(recs) < 3 or min(r.coverage for r in recs) < 0.65
    assert min(r.coverage for r in records) == pytest.approx(0.5, abs=0.12)


@pytest.mark.parametrize(
    ("factor", "reverse", "start"),
    [
        (1.0, False, 0),  # clockwise at nominal pace from 12 o'clock
        (1.0, False, 40),  # any start angle
        (1 / 3, False, 0),  # three times too fast
        (3.0, False, 0),  # three times too slow
        (1.0, True, 0),  # anticlockwise: wrong direction
    ],
)
def test_sun_circles_one_repetition_per_turn(factor, reverse, start):
    seg = SUN.segments[0]
    pts = np.roll(seg.points[::-1] if reverse else seg.points, -start, axis=0)
    n = int(round(seg.nominal_s * factor * 30))
    samples = [(pts[0], i / 30) for i in range(10)]
    t0 = samples[-1][1] + 1 / 30
    for i in range(3 * n):
        x = (i / n) * len(pts)
        k = int(x) % len(pts)
        f = x - int(x)
        samples.append((pts[k] * (1 - f) + pts[(k + 1) % len(pts)] * f, t0 + i / 30))
    records = run_matcher(OnlineMatcher(SUN), samples)
    full = [r for r in records if r.coverage > 0.95]
    assert len(full) == 3
    for rec in full:
        assert rec.reversed is reverse
        assert rec.duration_s / seg.nominal_s == pytest.approx(factor, rel=0.06)


def test_dropped_frames_do_not_change_the_pace():
    # Live video drops frames: here half of them, at random.
    samples = perform(ILY, dt_jitter=0.5, seed=3)
    records = run_matcher(OnlineMatcher(ILY), samples)
    assert by_segment(records) == [(r, s, False) for r in (0, 1) for s in (0, 1, 2)]
    for rec in records:
        assert rec.duration_s / ILY.segments[rec.segment].nominal_s == pytest.approx(1.0, rel=0.1)


def test_lost_hand_keeps_the_alignment_and_none_is_not_an_error():
    m = OnlineMatcher(ILY)
    assert m.update(None, 0.0) is None  # nothing seen yet
    samples = perform(ILY, repetitions=1)
    records = []
    for i, (uv, t) in enumerate(samples):
        p = m.update(None if 40 <= i < 46 else uv, t)  # 0.2 s dropout inside the I
        records.extend(p.completed)
    records.extend(m.finish(samples[-1][1]))
    assert [r.segment for r in records] == [0, 1, 2]


def test_progress_reports_segment_guide_and_speed():
    m = OnlineMatcher(ILY)
    seen = {}
    for uv, t in perform(ILY, repetitions=1):
        p = m.update(uv, t)
        if p.segment is not None:
            seen.setdefault(p.label, []).append((p, uv))
    assert set(seen) == {"I", "L", "U"}
    mid, hand = [(p, uv) for p, uv in seen["U"] if 0.45 < p.fraction < 0.55][0]
    assert mid.speed_ratio == pytest.approx(1.0, rel=0.15)
    assert not mid.reversed
    # At nominal pace the guide dot is where the hand is.
    assert np.linalg.norm(mid.guide_uv - hand) < 0.1


def test_reset_starts_over():
    m = OnlineMatcher(ILY)
    run_matcher(m, perform(ILY, repetitions=1))
    m.reset()
    records = run_matcher(m, perform(ILY, repetitions=1))
    assert [(r.repetition, r.segment) for r in records] == [(0, 0), (0, 1), (0, 2)]


def test_work_per_frame_does_not_grow():
    m = OnlineMatcher(ILY)
    sizes = []
    for i, (uv, t) in enumerate(perform(ILY, repetitions=4)):
        m.update(uv, t)
        if i % 200 == 0:
            sizes.append(sum(a.nbytes for a in vars(m).values() if isinstance(a, np.ndarray)))
    assert len(set(sizes)) == 1


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    factor=st.floats(0.5, 2.0),
    du=st.floats(-0.15, 0.15),
    dv=st.floats(-0.15, 0.15),
    fps=st.sampled_from([15.0, 25.0, 30.0, 60.0]),
)
def test_property_pace_and_direction_survive_offset_and_frame_rate(factor, du, dv, fps):
    records = run_matcher(
        OnlineMatcher(ILY), perform(ILY, factor=factor, offset=(du, dv), fps=fps, repetitions=1)
    )
    assert [(r.segment, r.reversed) for r in records] == [(0, False), (1, False), (2, False)]
    total = sum(r.duration_s for r in records)
    assert total / ILY.nominal_s == pytest.approx(factor, rel=0.12)


# -- the compiled step, on numbers small enough to check by hand --------------------------


def _tokens(rows: int) -> np.ndarray:
    from coach.core.matcher import _MILE, _TOKEN_WIDTH

    tok = np.zeros((rows, _TOKEN_WIDTH))
    tok[:, _MILE] = np.nan
    return tok


def test_compiled_step_picks_stay_advance_or_entry_and_passes_tokens():
    """Row 0 is a gap, rows 1-3 a chain along u at (0,0), (1,0), (2,0); row 4 the sentinel.
    Columns: stay, advance by one, enter from the gap. The hand is at (1, 0), moving +0.1 u."""
    import coach.core.matcher as m

    _DSUM, _ENTRY, _MILE, _N, _NMILE = m._DSUM, m._ENTRY, m._MILE, m._N, m._NMILE
    _START, _STEPS, _TRAVEL = m._START, m._STEPS, m._TRAVEL

    inf = np.inf
    pred = np.array([[4, 4, 4], [1, 4, 0], [2, 1, 4], [3, 2, 4]])
    cols = np.array([0, 1, 99])  # 99: the entry column
    old_cost = np.array([0.0, 5.0, 1.0, 9.0, inf])
    old = _tokens(5)
    old[2, _TRAVEL], old[2, _NMILE], old[2, _MILE.start] = 0.25, 1, 3.0  # 10% reached at 3 s
    new, new_cost = _tokens(5), np.empty(5)
    pos_u, pos_v = np.array([np.nan, 0.0, 1.0, 2.0]), np.array([np.nan, 0.0, 0.0, 0.0])
    tangent = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    m._advance_rows(
        old_cost, pred, np.zeros((4, 3)), cols, np.array([-1.0, 0.0, -inf]), 0.0, 99,
        np.array([0, 1, 0]), pos_u, pos_v, tangent, 1.0, 0.0, 0.1, 0.0,
        0.0, 0.0, 0.0, 10.0, 1.0, np.array([0, 0, 1, 2]), np.full(4, 1.0), np.full(4, inf),
        m._MILESTONES, 7.0, old, new, new_cost,
    )  # fmt: skip
    # row 1: entering (cost 0) beats staying (5); the hand is 1 away: cost 0 + 1.
    # row 2: staying (1) beats advancing from row 1 (5); the hand is on it: 1 + 0.
    # row 3: advancing from row 2 (1) beats staying (9); 1 away: 1 + 1.
    np.testing.assert_allclose(new_cost[1:], [1.0, 1.0, 2.0, inf])
    assert new[1, _START] == 7.0 and new[1, _DSUM] == 1.0 and new[1, _N] == 1.0
    assert new[1, _ENTRY] == 0 and new[1, _NMILE] == 0 and np.isnan(new[1, _MILE]).all()
    # row 2 kept its token: travel 0.25 + 0.1 passes 30% now (7 s); 10% stays at 3 s.
    assert new[2, _TRAVEL] == pytest.approx(0.35) and new[2, _NMILE] == 2
    np.testing.assert_array_equal(new[2, _MILE][:2], [3.0, 7.0])
    assert np.isnan(new[2, _MILE][2:]).all()
    # row 3 took row 2's token and one reference point more.
    assert new[3, _STEPS] == 1.0 and new[3, _TRAVEL] == pytest.approx(0.35)


def test_compiled_step_banks_no_travel_behind_the_entry():
    """The chain of the test above; the hand on row 2's point steps 0.1 back along u. Row 2
    (stay) had travelled 0.05: it is back behind where it entered, at travel 0, not -0.05."""
    import coach.core.matcher as m

    inf = np.inf
    pred = np.array([[4, 4, 4], [1, 4, 0], [2, 1, 4], [3, 2, 4]])
    old_cost = np.array([0.0, 5.0, 1.0, 9.0, inf])
    old = _tokens(5)
    old[2, m._TRAVEL] = old[2, m._PEAK] = 0.05
    new, new_cost = _tokens(5), np.empty(5)
    pos_u, pos_v = np.array([np.nan, 0.0, 1.0, 2.0]), np.array([np.nan, 0.0, 0.0, 0.0])
    tangent = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    m._advance_rows(
        old_cost, pred, np.zeros((4, 3)), np.array([0, 1, 99]), np.array([-1.0, 0.0, -inf]),
        0.0, 99, np.array([0, 1, 0]), pos_u, pos_v, tangent, 1.0, 0.0, -0.1, 0.0,
        0.0, 0.0, 0.0, 10.0, 1.0, np.array([0, 0, 1, 2]), np.full(4, 1.0), np.full(4, inf),
        m._MILESTONES, 7.0, old, new, new_cost,
    )  # fmt: skip
    assert new[2, m._TRAVEL] == 0.0
    assert new[2, m._PEAK] == 0.05  # how far it got is kept (the record's coverage)


def test_a_hand_drifting_back_as_it_lifts_off_has_still_done_the_stroke():
    """A paddle down the water wheel's line, 0.05 -> 0.95 in 2.4 s (its nominal time); then
    the hand lifts off sideways, drifting 0.25 box back up the line over 0.5 s (a fast
    paddle's hand lifts while the next lands). It went all the way: the coverage is how
    far it got (0.99 here), not its net travel (0.95 here; 0.82 -> 0.69 on a fast paddle
    with a biased landmark, flagged incomplete)."""
    wheel = load_stroke("water-wheel")
    m = OnlineMatcher(wheel)
    frames = [(0.5, 0.05 + 0.9 * i / 72) for i in range(73)]  # 2.4 s at 30 fps
    frames += [(0.5 + 0.3 * i / 15, 0.95 - 0.25 * i / 15) for i in range(1, 16)]
    frames += [(1.5, 0.5)] * 45  # away, beside the doll
    records = []
    for i, uv in enumerate(frames):
        p = m.update(np.array(uv), i / 30)
        records.extend(p.completed)
    records.extend(m.finish(len(frames) / 30))
    assert [r.segment for r in records] == [0]
    assert records[0].coverage >= 0.97


def test_progress_tells_how_far_the_hand_got_and_where_it_is():
    """Down the paddle to 78%, then two frames back up to 74% (jitter, or a hand drifting
    back): ``fraction`` stays at the furthest, ``at_fraction`` follows the hand."""
    m = OnlineMatcher(load_stroke("water-wheel"))
    v = list(0.05 + 0.9 * np.linspace(0, 0.78, 48)) + [0.05 + 0.9 * 0.76, 0.05 + 0.9 * 0.74]
    for i, vv in enumerate(v):
        p = m.update(np.array([0.5, vv]), i / 30)
    assert p.segment == 0 and not p.reversed
    assert p.fraction == pytest.approx(0.78, abs=0.02)
    assert p.at_fraction == pytest.approx(0.74, abs=0.02)


def _line(a, b, n):
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(1, n + 1)]


def test_a_quick_paddle_begun_before_the_alignment_turned_onto_it_is_credited():
    """Two fast paddles (0.8 s each, three times the nominal pace) with jittery landmarks
    (noise 1: the direction of motion is judged over 0.3 s). Between them the hand goes
    back up near the line and rests 0.1 s at its top. The alignment enters the second
    paddle only once the smoothed direction has turned down the line, 0.17 s (a fifth of
    the paddle) in: its coverage counted from there was 0.79, flagged incomplete. The
    hand's own path before that entry runs down the line from the top, so it is whole."""
    wheel = load_stroke("water-wheel")
    down = [(0.5, 0.05 + 0.9 * i / 24) for i in range(1, 25)]
    frames = [(0.5, 0.05)] * 5 + down
    frames += _line((0.5, 0.95), (0.55, 0.5), 8) + _line((0.55, 0.5), (0.5, 0.05), 8)
    frames += [(0.5, 0.05)] * 3 + down + _line((0.5, 0.95), (1.1, 0.9), 10) + [(1.5, 0.5)] * 30
    m = OnlineMatcher(wheel)
    records = []
    for i, uv in enumerate(frames):
        p = m.update(np.array(uv), i / 30, noise=1.0, jitter_box=0.05)
        records.extend(p.completed)
    records.extend(m.finish(len(frames) / 30))
    assert [r.segment for r in records] == [0, 0]
    second_starts_s = (5 + 24 + 16 + 3) / 30
    assert records[1].start_s > second_starts_s + 0.1  # entered late: the case in point
    assert [r.coverage for r in records] == [1.0, 1.0]


#: The water wheel's paddle, (0.5, 0.05) -> (0.5, 0.95): lead-ins read back from an entry
#: at (0.5, 0.35) at t = 1.0 s; points 1/30 s apart, the last one the entry.
_DOWN = [(0.5, 0.05 + 0.3 * i / 10) for i in range(11)]  # 0.05 -> 0.35 down the line


@pytest.mark.parametrize(
    ("path", "off_box", "want_box"),
    [
        (_DOWN, 0.0, 0.30),  # came down the line from its start: all of it
        (_DOWN[-4:], 0.0, 0.09),  # ... seen for 3 frames only: those
        ([(0.5 + 0.02 * (-1) ** i, y) for i, (_, y) in enumerate(_DOWN)], 0.0, 0.30),  # jitter
        ([(0.8 - 0.03 * i, 0.35) for i in range(11)], 0.0, 0.0),  # landed from the side
        ([(0.5, 0.65 - 0.03 * i) for i in range(11)], 0.0, 0.0),  # came back up the line
        ([(0.65, y) for _, y in _DOWN[:-1]] + [(0.5, 0.35)], 0.0, 0.0),  # 0.15 beside it
        ([(0.65, y) for _, y in _DOWN], 0.15, 0.30),  # ... the whole paddle was: all of it
        ([(0.5, 0.80)] * 3 + _DOWN[-3:], 0.0, 0.06),  # a jump: only what follows it
    ],
)
def test_lead_in_by_hand(path, off_box, want_box):
    m = OnlineMatcher(load_stroke("water-wheel"))
    t0 = 1.0 - (len(path) - 1) / 30
    m._seen.extend((t0 + i / 30, u, v) for i, (u, v) in enumerate(path))
    assert m._lead_in_box(0, False, 1.0, off_box) == pytest.approx(want_box, abs=1e-9)


@pytest.mark.parametrize(
    ("q", "along_box", "off_box"),
    [
        ((0.0, 0.0), 0.0, 0.0),  # the first point
        ((1.0, 0.5), 1.5, 0.0),  # half-way up the second leg
        ((0.5, -0.2), 0.5, 0.2),  # below the first leg
        ((1.3, 1.4), 2.0, 0.5),  # beyond the end: from the end point
        ((-0.3, 0.4), 0.0, 0.5),  # before the start: from the start point
    ],
)
def test_projection_on_a_path_by_hand(q, along_box, off_box):
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])  # right 1, then up 1
    along_, off = matcher._project_on_path(np.array([q]), pts)
    assert along_[0] == pytest.approx(along_box) and off[0] == pytest.approx(off_box)


@pytest.mark.parametrize(
    "mile",
    [
        [np.nan] * 5,  # nothing reached
        [1.0, np.nan, np.nan, np.nan, np.nan],  # only 10%: no pace yet
        [1.0, 2.0, np.nan, np.nan, np.nan],  # 10% -> 30% in 1 s: 5 s for the whole path
        [1.0, 2.0, 3.0, 4.0, 5.0],  # 10% -> 90% in 4 s
        [2.0, 2.0, np.nan, np.nan, np.nan],  # both at once: no time between them
    ],
)
def test_compiled_duration_matches_the_python_one(mile):
    from coach.core.matcher import _MILESTONES, _duration_compiled, _duration_from_milestones

    a = _duration_from_milestones(np.array(mile), 4.0)
    b = _duration_compiled(np.array(mile), 4.0, _MILESTONES)
    assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


def _milestones_of(progress_at) -> np.ndarray:
    """Milestone times of a stroke of duration 1 whose travelled fraction at time tau is
    ``progress_at(tau)`` (monotone), found by bisection."""
    from coach.core.matcher import _MILESTONES

    out = []
    for m in _MILESTONES:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if progress_at(mid) < m else (lo, mid)
        out.append((lo + hi) / 2)
    return np.array(out)


@pytest.mark.parametrize(
    ("name", "progress_at", "expected"),
    [
        ("steady", lambda tau: tau, 1.0),  # 10% -> 90% in 0.8: x 1.25 = 1
        # minimum jerk (bell-shaped speed): 10% -> 90% in 0.50673, index 1.2995: x 1.97345
        ("bell", lambda tau: tau**3 * (10 - 15 * tau + 6 * tau**2), 1.0),
        # smoothstep (a milder bell): 10% -> 90% in 0.60840, index 1.22462:
        # x (1.25 + 0.72345 x 0.07462 / 0.1495) = x 1.61108 -> 0.9802
        ("ease", lambda tau: tau * tau * (3 - 2 * tau), 0.9802),
    ],
)
def test_whole_stroke_duration_whatever_the_speed_profile(name, progress_at, expected):
    """People speed up and slow down within a stroke: the duration is read over the whole
    letter from its milestones, not at its speed peak (steady and bell give the same)."""
    from coach.core.matcher import _duration_from_milestones

    duration = _duration_from_milestones(_milestones_of(progress_at), 1.0)
    assert duration == pytest.approx(expected, abs=0.001)


@pytest.mark.parametrize(
    ("mile", "expected"),
    [
        ([0.1, 0.3, 0.5, 0.7, 0.9], 1.0),  # steady: index 1
        ([0.1, 0.31, 0.5, 0.69, 0.9], 1.0),  # index 1.105: inside the steady band (1.15)
        # index (0.24 + 0.24) / 0.4 = 1.2, past the steady band (1.15):
        # 0.88 x (1.25 + 0.72345 x 0.05 / 0.1495) = 1.31291
        ([0.1, 0.34, 0.5, 0.74, 0.98], 1.312910),
        ([0.0, 0.5, 0.5, 0.5, 1.0], 2.2),  # no time in the middle: the cap, 2.2 x 1.0
        ([0.1, 0.3, np.nan, np.nan, np.nan], 1.0),  # stopped at 30%: steady over 20%
    ],
)
def test_duration_scale_by_hand(mile, expected):
    from coach.core.matcher import _duration_from_milestones

    d = _duration_from_milestones(np.array(mile), 1.0)
    assert d == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("mile", "noise_frac", "expected"),
    [
        ([0.1, 0.3, 0.5, 0.7, 0.9], 0.0, 1.0),  # steady, no jitter: as before
        # steady, the hand's point 1% of the path off: every milestone 0.01 s early or
        # late; index variance (2 + 2 x 2^2) x 0.01^2 / 0.4^2 = 0.00625, in k units
        # / 0.1495^2 = 0.27965; k (0, steady) goes 0.25 / (0.25 + 0.27965) = 0.472 of
        # the way to 0.6: 0.3168, 0.8 x (1.25 + 0.72345 x 0.3168) = 1.18334
        ([0.1, 0.3, 0.5, 0.7, 0.9], 0.01, 1.18334),
        # jitter as large as the path: the shape is unknown, k 0.6: 0.8 x 1.68407
        ([0.1, 0.3, 0.5, 0.7, 0.9], 1.0, 1.34722),
        # A good paddle of 2.32 s (water wheel, nominal 2.4 s, bell-shaped) under jitter
        # 0.115 box (0.25 x 0.115 / 0.9 of the path): its index read 0.79, which took
        # it for a steady stroke of 1.41 s (too fast); now 1.84 s.
        ([13.67, 13.93, 14.3, 14.57, 14.8], 0.0, 1.4125),
        ([13.67, 13.93, 14.3, 14.57, 14.8], 0.25 * 0.115 / 0.9, 1.84140),
    ],
)
def test_jitter_blurs_the_speed_shape(mile, noise_frac, expected):
    """The shape index counts as far as it stands out of the blur jitter gives the
    milestone times; otherwise the stroke is taken between steady and bell."""
    from coach.core.matcher import _MILESTONES, _duration_compiled, _duration_from_milestones

    d = _duration_from_milestones(np.array(mile), 1.0, noise_frac)
    assert d == pytest.approx(expected, rel=1e-4)
    assert _duration_compiled(np.array(mile), 1.0, _MILESTONES, noise_frac) == pytest.approx(d)


def test_pace_jitter_is_that_of_noisy_landmarks():
    """Jitter of landmarks the smoothing stage calls clean (noise 0) does not blur the
    pace estimate; that of noisy ones (noise 1) does, 0.25 of it along the path."""
    m = OnlineMatcher(ILY)
    m.update(np.array([0.8, 0.2]), 0.0)
    m.update(np.array([0.8, 0.21]), 1 / 30, 0.0, 0.1)
    assert np.all(m._noise_frac() == 0.0)
    m.update(np.array([0.8, 0.22]), 2 / 30, 1.0, 0.1)
    assert m._noise_frac() == pytest.approx(0.25 * 0.1 / m._length)


@pytest.mark.parametrize(
    ("noise", "expected_tau_s"),
    [
        (0.0, 0.12),  # clean landmarks: the hand's direction over 0.12 s
        (1.0, 0.3),  # jittery landmarks: over 0.3 s
        (0.5, 0.21),  # halfway
    ],
)
def test_direction_is_judged_over_longer_when_landmarks_jitter(noise, expected_tau_s):
    """One step of 0.1 box in 1/30 s from rest: the smoothed velocity is the step's speed
    (3 box/s) times 1 - exp(-dt / tau)."""
    m = OnlineMatcher(ILY)
    m.update(np.array([0.8, 0.2]), 0.0)
    m.update(np.array([0.8, 0.3]), 1 / 30, noise)
    expected = 3.0 * (1 - math.exp(-(1 / 30) / expected_tau_s))
    assert m._vel[1] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("speed", "jitter_speed", "want"),
    [
        (1.0, 0.0, 1.0),  # clean landmarks: the direction is the hand's
        (2.0, 1.0, 0.75),  # twice the jitter's speed: 1 - (1/2)^2
        (0.5, 0.1, 0.96),  # five times: 1 - (1/5)^2
        (1.0, 1.0, 0.0),  # no faster than jitter alone: nothing to tell
        (0.5, 1.0, 0.0),  # slower: nothing
        (0.0, 0.0, 0.0),  # still
    ],
)
def test_direction_trust_by_hand(speed, jitter_speed, want):
    assert matcher._direction_trust(speed, jitter_speed) == pytest.approx(want)


def test_jitter_turns_the_direction_term_down():
    """A hand moving up the I's line (against it) at 0.3 box/s: the I forwards costs more
    than the I backwards (the direction term). Under jitter that alone gives a still hand
    more speed than that, the direction is not judged: the I forwards costs less."""
    gaps = []
    for jitter_box in (0.0, 1.0 / matcher.MatcherConfig().jitter_speed_per_s):
        m = OnlineMatcher(ILY, (0,))
        for i in range(10):
            m.update(np.array([0.8, 0.7 - 0.01 * i]), i / 30, noise=1.0, jitter_box=jitter_box)
        cost = m._cost[: m._n_states]
        seg = ~m._is_gap
        gaps.append(cost[seg & ~m._rev].min() - cost[seg & m._rev].min())
    clean, jittery = gaps
    assert clean > jittery > 0


def test_jitter_does_not_carry_the_alignment_ahead_of_a_still_hand():
    """A hand held still at the L's corner for 0.3 s: reaching the corner along the L
    (entered at its start, 0.6 box away) costs the same whether its landmarks are clean
    or jitter (0.015 box per axis per frame, jitter_box 0.1): the to and fro of jitter is
    no travel that lets the alignment advance for free (it took the top bar in 10 frames
    at no cost, and read the way back down the I as the L's last leg)."""
    rng = np.random.default_rng(0)
    corner = []
    for jitter_box in (0.0, 0.1):
        m = OnlineMatcher(ILY, (1,))
        _, base, n = m._chains[0]  # the L forwards
        at = base + int(np.argmin(np.hypot(*(m._pos[base : base + n] - [0.8, 0.1]).T)))
        for i in range(10):
            wobble = rng.normal(0.0, 0.015, 2) if jitter_box else 0.0
            m.update(np.array([0.8, 0.1]) + wobble, i / 30, noise=1.0, jitter_box=jitter_box)
        corner.append(m._cost[at] - m._cost[m._gap_rows[0]])
    clean, jittery = corner
    assert clean > 5.0
    assert jittery == pytest.approx(clean, abs=1.0)


def test_a_segment_read_the_other_way_round_later_is_reported_as_revised():
    """The best path's last finished segment, once reported, is reported again (as
    ``revised``) when the path now has it done the other way round (the L forwards read
    from the way back down the I, then the L drawn backwards), once per change of mind;
    the same segment the same way round (a later start) is not reported again."""
    m = OnlineMatcher(ILY)
    m.update(np.array([0.5, 0.5]), 0.0)
    b = int(m._gap_rows[2])  # waiting in front of the U, after the L

    def emit(rev: bool, start_s: float, t: float):
        m._tokarr[b, matcher._LC] = [0, 1, float(rev), start_s, 4.5, 3.0, 0.9, 0.03]
        p = m._emit(b, t)
        return [(r.segment, r.reversed) for r in p.completed], [
            (r.segment, r.reversed, r.start_s) for r in p.revised
        ]

    assert emit(False, 3.3, 6.0) == ([(1, False)], [])  # the L forwards, reported
    assert emit(False, 3.3, 6.1) == ([], [])  # ... once
    assert emit(False, 3.5, 6.2) == ([], [])  # the same way round: nothing new
    assert emit(True, 4.5, 9.9) == ([], [(1, True, 4.5)])  # backwards after all
    assert emit(True, 4.5, 10.0) == ([], [])  # ... once
    assert emit(False, 3.3, 10.1) == ([], [(1, False, 3.3)])  # forwards again


@pytest.mark.parametrize(
    ("duration_s", "start_s", "end_s", "coverage", "want"),
    [
        (12.0, 0.0, 6.4, 1.0, 6.4),  # jittery milestones said 12 s; the hand was in it 6.4 s
        (5.9, 0.0, 6.4, 1.0, 5.9),  # an estimate within the time spent stays
        (8.0, 2.0, 5.0, 0.5, 6.0),  # half the circle in 3 s: the whole one at most 6 s
        (4.0, 2.0, 5.0, 0.5, 4.0),  # ... a shorter estimate stays
        (math.nan, 0.0, 6.0, 1.0, math.nan),  # no estimate: nothing to bound
        (7.0, math.nan, 6.0, 1.0, 7.0),  # no entry time: no bound
        (7.0, 6.0, 6.0, 1.0, 7.0),  # no time spent: no bound
        (7.0, 0.0, 6.0, 0.0, 7.0),  # nothing done: no bound
    ],
)
def test_duration_within_time_spent(duration_s, start_s, end_s, coverage, want):
    got = matcher._within(duration_s, start_s, end_s, coverage)
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)


def _circle_with_a_blind_stretch(unseen, ghost_s=0.0, fps=30.0):
    """Samples (uv or None, t) of one clockwise Sun circle at its nominal pace (5.9 s)
    from the top, then 0.5 s still there. The hand is not seen (None) while the part of
    the circle done is within ``unseen`` (from, to); first, for ``ghost_s``, it is seen
    0.4 box outside the circle (a wrong detection: the other hand's fingertips)."""
    circle = SUN.segments[0]
    out = []
    n = int(round(circle.nominal_s * fps))
    for i in range(n + int(0.5 * fps)):
        t = i / fps
        x = min(i / n, 1.0)
        uv = along(circle.points, x, closed=True)
        if unseen[0] <= x < unseen[1]:
            gone = (x - unseen[0]) * circle.nominal_s
            uv = uv + np.array([0.0, 0.4]) if gone < ghost_s else None
        out.append((uv, t))
    return out


def _records(samples):
    m = OnlineMatcher(SUN)
    records = []
    for uv, t in samples:
        p = m.update(uv, t)
        if p is not None:
            records.extend(p.completed)
    return records + list(m.finish(samples[-1][1]))


@pytest.mark.parametrize(
    ("unseen", "t", "want"),
    [
        (None, 11.0, True),  # seen all along: away from the segment 1 s (confirm_s)
        ((10.0, 10.9), 11.0, False),  # unseen 0.9 s of it: seen away 0.1 s
        ((10.0, 10.9), 11.95, True),  # ... and later, seen away 1.05 s
        ((9.5, 10.5), 11.0, False),  # unseen from before it ended: seen away 0.5 s
        ((9.0, 9.5), 11.0, True),  # unseen before it ended: no matter
    ],
)
def test_time_the_hand_is_not_seen_does_not_confirm_a_segment_done(unseen, t, want):
    """OnlineMatcher._confirmed: a segment that ended at 10 s, the best path in the gap
    after it, is reported once the hand has been *seen* away from it for confirm_s (1 s).
    A hand unseen for a while (passing over the other hand, the detector sees one) may be
    found again on the path: the best path then goes back to the segment it seemed to
    leave, and the segment, reported done, would be read again as another one."""
    m = OnlineMatcher(SUN)
    top = np.array([0.5, 0.15])
    for k in range(int(round((t - 9.0) / 0.05))):  # a frame every 0.05 s from 9 s
        now = 9.0 + k * 0.05
        blind = unseen is not None and unseen[0] < now < unseen[1] - 1e-9
        m.update(None if blind else top, now)
    lc = np.zeros(8)
    lc[4] = 10.0  # the end of the finished segment
    assert m._confirmed(int(m._gap_rows[0]), lc, t) == want


@pytest.mark.parametrize(
    "unseen",
    [
        (0.3, 0.5),  # unseen for 1.2 s while it goes on 0.2 of the circle (0.44 box)
        (0.3, 0.6),  # ... 1.8 s, 0.3 of the circle (0.66 box)
        (0.2, 0.6),  # ... 2.4 s, 0.4 of the circle (0.88 box)
    ],
)
def test_a_hand_found_again_further_round_the_circle_goes_on_with_it(unseen):
    """The hand passes unseen under the other hand and is found again further round: the
    alignment follows it there (as far as the fastest pace followed allows over the time
    it was unseen), one whole circle, not two halves."""
    records = _records(_circle_with_a_blind_stretch(unseen))
    assert [(r.repetition, r.segment) for r in records] == [(0, 0)]
    assert records[0].coverage > 0.95


@pytest.mark.parametrize(
    ("unseen_s", "whole"),
    [
        (2.5, True),  # 0.5 of the circle (1.1 box) in 2.5 s unseen: about its pace, stroked
        (0.5, False),  # ... in 0.5 s: 5x its pace, the hand did not stroke the part between
    ],
)
def test_a_hand_back_far_round_the_circle_is_credited_only_at_the_strokes_pace(unseen_s, whole):
    """Sun circle at its nominal pace (5.9 s) to 0.35 of the way round, the hand unseen
    for ``unseen_s``, then seen at 0.85 and on to the top. Only an unseen time the
    stroke's own pace (with 50% slack) would need for the part skipped lets it count as
    done; a hand back there sooner (the moon hand hurrying to its rest on Sun and Moon)
    leaves the circle unfinished, not one whole circle that hides an incomplete one."""
    circle = SUN.segments[0]
    fps, samples, t = 30.0, [], 0.0
    for x in np.linspace(0.0, 0.35, int(0.35 * circle.nominal_s * fps)):
        samples.append((along(circle.points, x, closed=True), t))
        t += 1 / fps
    for _ in range(int(unseen_s * fps)):
        samples.append((None, t))
        t += 1 / fps
    for x in np.linspace(0.85, 1.0, int(0.15 * circle.nominal_s * fps)):
        samples.append((along(circle.points, x, closed=True), t))
        t += 1 / fps
    samples += [(samples[-1][0], t + k / fps) for k in range(15)]
    records = _records(samples)
    best = max((r.coverage for r in records), default=0.0)
    assert (best > 0.95) == whole, [(r.segment, r.coverage) for r in records]


def test_a_finished_segment_not_yet_reported_can_be_reported_at_once():
    """OnlineMatcher.report_pending: the hand finishes a Sun circle and goes straight to
    the navel (off the circle); 0.3 s on, the circle is finished but not reported yet (it
    waits to see the hand clearly move on: 1 s). Reported now (the coach turns from this
    hand), it is not reported again."""
    circle = SUN.segments[0]
    m = OnlineMatcher(SUN)
    fps = 30.0
    n = int(round(circle.nominal_s * fps))
    samples = [(along(circle.points, i / n, closed=True), i / fps) for i in range(n + 1)]
    top, navel = samples[-1][0], np.array([0.5, 0.5])
    samples += [(top + (navel - top) * min(k / 6, 1.0), (n + 1 + k) / fps) for k in range(9)]
    reported = []
    for uv, t in samples:
        reported.extend(m.update(uv, t).completed)
    assert reported == []
    now = m.report_pending()
    assert [(r.repetition, r.segment) for r in now] == [(0, 0)] and now[0].coverage > 0.95
    for k in range(60):  # 2 s more at the navel
        assert m.update(navel, samples[-1][1] + (k + 1) / fps).completed == ()
    assert m.pending() == () and m.finish(samples[-1][1] + 3.0) == ()
