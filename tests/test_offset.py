"""Off-path stage: a stroke done in the wrong place is found as a shift of the path."""

from __future__ import annotations

import numpy as np
import pytest

from coach.core.offset import _MAP_LO, _MAP_STEP, OffsetEstimator, _cells, corrected
from coach.core.strokes import load_stroke
from tests.uvpaths import perform

ILY = load_stroke("i-love-you")
SUN = load_stroke("sun")


def run(est: OffsetEstimator, samples) -> list[np.ndarray]:
    return [est.update(uv, t).copy() for uv, t in samples]


@pytest.mark.parametrize(
    ("stroke", "offset"),
    [
        (ILY, (0.4, 0.0)),  # the whole I Love You a hand's width to the baby's left
        (ILY, (-0.3, 0.3)),  # down and to the right
        (SUN, (0.0, -0.4)),  # the Sun circle up over the ribs (past engage_box 0.36)
    ],
)
def test_a_shifted_stroke_is_found_to_a_cell(stroke, offset):
    est = OffsetEstimator(stroke)
    shifts = run(est, perform(stroke, offset=offset, repetitions=3))
    assert est.engaged
    np.testing.assert_allclose(shifts[-1], offset, atol=0.015)
    assert est.fit_box < 0.02  # the shifted path lies on the reference


@pytest.mark.parametrize(
    "offset",
    [
        (0.0, 0.0),  # right on the path
        (0.15, 0.0),  # fingertip bias: corrected, not a mistake
        (0.0, -0.2),  # a fifth of the box: still bias
        (-0.18, 0.18),  # a quarter of the box, diagonally: still bias
    ],
)
def test_small_shifts_are_bias_corrected_not_engaged(offset):
    """A shift up to bias_box is tracking bias: taken off the hand, never an off_path."""
    est = OffsetEstimator(ILY)
    shifts = run(est, perform(ILY, offset=offset, repetitions=3))
    assert not est.engaged
    np.testing.assert_allclose(shifts[-1], offset, atol=0.03)
    assert all(np.hypot(*s) <= est.config.bias_box + 1e-9 for s in shifts)


@pytest.mark.parametrize(
    ("column_u", "rest_s"),
    [
        (0.82, 1.0),  # the I drawn backwards from a rest at its end, and back down: the
        # line 0.02 box beside the I fits the U's other column 0.6 box away (and any
        # shift along itself) as well as its own
        (0.8, 1.0),  # ... right on the I
    ],
)
def test_a_path_that_fits_in_place_is_not_shifted(column_u, rest_s):
    """A path that fits the reference near its place as well as anywhere else is in place:
    no off_path shift (was 0.62 box, the stroke flagged off_path and split in two) and
    no bias correction along the line."""
    est = OffsetEstimator(ILY)
    v = np.r_[[0.87] * int(rest_s * 4), np.linspace(0.87, 0.12, 8), np.linspace(0.12, 0.87, 8)]
    pts = [np.array([column_u, vv]) for vv in v] + [np.array([column_u, 0.87])] * 8
    shifts = run(est, [(uv, i / 4.0) for i, uv in enumerate(pts)])
    assert not est.engaged
    assert all(np.hypot(*s) < est.config.bias_min_box for s in shifts)


def test_no_hand_is_not_an_error_and_reset_forgets():
    est = OffsetEstimator(ILY)
    assert not est.update(None, 0.0).any()  # nothing seen yet: no shift
    run(est, perform(ILY, offset=(0.4, 0.0), repetitions=3))
    assert est.engaged
    est.reset()
    assert not est.engaged and not est.update(None, 100.0).any()


def test_cost_is_the_trimmed_mean_distance_of_the_moved_path():
    """Hand-computable: points at known distances from the I of I Love You."""
    est = OffsetEstimator(ILY, segment_ids=[0])
    i_path = np.asarray(ILY.segments[0].points, float)
    top, bottom = i_path[0], i_path[-1]
    mid = (top + bottom) / 2
    side = np.array([1.0, 0.0])  # the I is vertical in the body frame
    # Ten points on the line, shifted 0.05 box to the side, and 4 far away (0.5 box).
    pts = np.array([mid + side * 0.05] * 10 + [mid + side * 0.5] * 4)
    flat = est._flat(_cells(pts - _MAP_LO))
    no_shift, back = est._cost(flat, np.array([[0, 0], [5, 0]]))
    # trim 0.7 of 14 points: the 9 nearest count; all 9 are 0.05 away, then 0 after the shift.
    assert no_shift == pytest.approx(0.05, abs=_MAP_STEP)
    assert back == pytest.approx(0.0, abs=_MAP_STEP)


@pytest.mark.parametrize(
    "uv",
    [
        (5.0, 5.0),  # far off the map: clipped to its edge, no index error
        (-4.0, 0.5),  # far to the other side
        (0.5, 0.5),  # inside
    ],
)
def test_padding_gives_the_clipped_lookup(uv):
    """Any shift of any point reads the value at the point clipped to the map."""
    est = OffsetEstimator(ILY)
    cells = _cells(np.array([uv]) - _MAP_LO)
    flat = est._flat(cells)
    side = est._last_cell + 1
    grid = est._flat_map.reshape(est._width, est._width)[est._pad : est._pad + side,
                                                         est._pad : est._pad + side]  # fmt: skip
    for shift in ([0, 0], [70, -70], [-78, 78], [3, 1]):
        got = est._flat_map[flat[0] - (shift[1] * est._width + shift[0])]
        u = min(max(cells[0, 0] - shift[0], 0), side - 1)
        v = min(max(cells[0, 1] - shift[1], 0), side - 1)
        assert got == grid[v, u]


def test_work_is_spread_one_slice_per_frame():
    """A search is a fixed number of slices, at most one per update: constant work."""
    est = OffsetEstimator(ILY)
    calls = []
    inner = est._cost
    est._cost = lambda flat, shifts: calls.append(len(shifts)) or inner(flat, shifts)
    for uv, t in perform(ILY, repetitions=2):
        before = len(calls)
        est.update(uv, t)
        assert len(calls) - before <= 2  # one slice (the last frame adds the no-shift check)
    assert max(calls) <= 32


def test_a_far_shift_that_fits_little_better_than_a_bias_is_the_bias():
    """The I drawn 0.2 box low (a pale doll's fingertips), after a rest 0.08 box right of
    its top. The U's other column 0.6 box away and the U's top bar take every point
    (shift (0.6, 0.2): 0); the bias (0, 0.2) takes the 14 points of the I, and of the 8
    rest points 0.08 box beyond the L's top bar, the trimmed mean keeps one (the best 15
    of 22): 0.08 / 15 = 0.0053 box. The far shift is not clearly better (gain 2 over the
    floor 0.01 = 0.02): the path is the I with a bias, not a stroke in the wrong place.
    (Was: engaged at (0.6, 0.2), and a good I Love You flagged off_path.)"""
    est = OffsetEstimator(ILY)
    pts = [np.array([0.88, 0.3])] * 8 + [np.array([0.8, v]) for v in np.linspace(0.3, 1.05, 14)]
    cells = est._flat(_cells(np.array(pts) - _MAP_LO))
    far, bias = est._cost(cells, _cells(np.array([[0.6, 0.2], [0.0, 0.2]])))
    assert far == pytest.approx(0.0, abs=_MAP_STEP)
    assert bias == pytest.approx(0.08 / 15, abs=_MAP_STEP)
    samples = [(uv, i / 4.0) for i, uv in enumerate(pts)]
    samples += [(None, len(pts) / 4.0 + i / 30.0) for i in range(150)]  # the last search
    shifts = run(est, samples)
    assert not est.engaged
    assert all(np.hypot(*s) <= est.config.bias_box for s in shifts)
    assert shifts[-1][1] == pytest.approx(0.2, abs=0.03)  # the bias is taken off


WW = load_stroke("water-wheel")
CENTRE = np.array([0.5, 0.5])


def _calibrated(samples, box_scale: float, shift=(0.0, 0.0)):
    """``samples`` as a tummy box ``box_scale`` times too big reads them (about the box
    centre), moved by ``shift``."""
    return [(CENTRE + (uv - CENTRE) / box_scale + np.asarray(shift), t) for uv, t in samples]


@pytest.mark.parametrize(
    ("uv", "shift", "scale", "expected"),
    [
        ((0.75, 0.5), (0.0, 0.0), 1.0, (0.75, 0.5)),  # no correction
        ((0.75, 0.5), (0.1, -0.1), 1.0, (0.65, 0.6)),  # a bias taken off
        ((0.75, 0.5), (0.0, 0.0), 1.2, (0.8, 0.5)),  # 0.25 right of the centre reads 0.3
        ((0.75, 0.25), (0.1, 0.0), 1.2, (0.7, 0.2)),  # scaled first, then the shift
    ],
)
def test_corrected_scales_about_the_box_centre_then_shifts(uv, shift, scale, expected):
    np.testing.assert_allclose(corrected(np.array(uv), np.array(shift), scale), expected)


def test_a_change_of_scale_moves_the_reference_by_its_reach():
    """The I Love You's corners are 0.5 box from the centre ((0.2, 0.1): 0.3 and 0.4):
    a scale 0.2 bigger moves them 0.1 box, a shift of 0.05 on top 0.15."""
    est = OffsetEstimator(ILY)
    assert est.change_box(np.zeros(2), 1.2, np.zeros(2), 1.0) == pytest.approx(0.1)
    assert est.change_box(np.array([0.05, 0.0]), 1.2, np.zeros(2), 1.0) == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("box_scale", "shift"),
    [
        (1.2, (0.0, 0.0)),  # a box 20% too big: the letters read 0.83 of their size
        (1.2, (0.1, -0.1)),  # ... and 0.1 box off: the bias comes with the scale
        (1.25, (-0.08, 0.05)),  # a quarter too big
    ],
)
def test_a_box_drawn_too_big_is_found_as_a_scale(box_scale, shift):
    """The path spans 1 / box_scale of the letters' extent (0.6 x 0.75) both ways: read
    back at that scale (rounded down to 0.05) about the box centre, and the shift with it
    (box_scale times the shift), it lies on the reference."""
    est = OffsetEstimator(ILY)
    samples = _calibrated(perform(ILY, repetitions=3), box_scale, shift)
    run(est, samples)
    assert est.scale == pytest.approx(box_scale)
    assert not est.engaged
    np.testing.assert_allclose(est.offset, box_scale * np.asarray(shift), atol=0.015)
    assert est.fit_box < 0.02


@pytest.mark.parametrize(
    ("stroke", "box_scale", "coverage"),
    [
        (ILY, 1.0, 1.0),  # letters of the right size
        (ILY, 1.0, 0.5),  # half of every letter: they still span the box, no scale (the
        # incomplete stays incomplete)
        (ILY, 0.8, 1.0),  # a box too small: the letters read bigger, never scaled down
        (ILY, 1.6, 1.0),  # 0.63 of the size: more than a box drawn too big (1.3 at most)
        (WW, 1.2, 1.0),  # a paddle, a line: a short one may be an incomplete one
    ],
)
def test_no_scale_without_clear_evidence(stroke, box_scale, coverage):
    est = OffsetEstimator(stroke)
    run(est, _calibrated(perform(stroke, repetitions=3, coverage=coverage), box_scale))
    assert est.fitted
    assert est.scale == 1.0


def test_a_slow_circles_arc_keeps_the_scale_while_it_fits():
    """A box 20% too big: whole Sun circles read at 1.2. Then an arc of a quarter circle
    alone says nothing of the scale (it spans less of the box one way than the other),
    and the scale found is kept: it still fits."""
    est = OffsetEstimator(SUN)
    whole = _calibrated(perform(SUN, repetitions=2), 1.2)
    run(est, whole)
    assert est.scale == pytest.approx(1.2)
    t0 = whole[-1][1]
    arc = _calibrated(perform(SUN, repetitions=1, coverage=0.25), 1.2)
    arc = [(uv, t0 + 0.1 + t) for uv, t in arc]
    arc += [(arc[-1][0], arc[-1][1] + 0.1 * i) for i in range(1, 100)]  # resting at its end
    run(est, arc)
    assert est.scale == pytest.approx(1.2)


def _biased_then(after, bias=(0.0, -0.22)):
    """A whole I Love You twice with a fifth-of-the-box bias up (found and taken off),
    then ``after(bias)``: (u, v) points 0.1 s apart. Returns the estimator and the shifts
    it gave over ``after``."""
    est = OffsetEstimator(ILY)
    samples = perform(ILY, offset=bias, repetitions=2)
    run(est, samples)
    np.testing.assert_allclose(est.offset, bias, atol=0.015)
    t0 = samples[-1][1]
    pts = after(np.array(bias))
    return est, run(est, [(np.asarray(uv), t0 + 0.1 * (i + 1)) for i, uv in enumerate(pts)])


def _rest_up_the_i_rest(b):
    # The hand rests at the U's end 4 s, goes back up the I line to its start in 2 s and
    # rests there 4 s (all with the bias): the last 10 s fit no shift about as well as the
    # bias (a line fits any shift along itself).
    end, top = ILY.segments[2].points[-1] + b, ILY.segments[0].points[0] + b
    return [end] * 40 + [end + (top - end) * k / 20 for k in range(1, 21)] + [top] * 40


def _strokes_in_place(b):
    # The box recalibrated: the strokes now come with no bias at all.
    return [uv for uv, _ in perform(ILY, repetitions=2)]


def test_a_bias_found_stays_while_the_path_fits_it_as_well_as_none():
    """A bias is the landmarks' or the box's: it is not dropped for a window that fits in
    place about as well (it was, and the way back up the I read as an I drawn backwards,
    flagged wrong_direction on a good session)."""
    est, shifts = _biased_then(_rest_up_the_i_rest)
    assert all(np.allclose(s, (0.0, -0.22), atol=0.015) for s in shifts)


def test_a_bias_that_no_longer_fits_is_dropped():
    est, shifts = _biased_then(_strokes_in_place)
    np.testing.assert_allclose(shifts[-1], (0.0, 0.0), atol=1e-9)
