"""Real human motion for evaluation clips (coach/evaluation/motion.py): hand-computable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core.strokes import load_stroke
from coach.evaluation import motion
from coach.evaluation.motion import (
    MotionSample,
    circle_progress,
    clockwise_on_screen,
    corner_legs,
    line_progress,
    place_on_path,
    resample_in_time,
    shoelace,
    stretch_times,
    timed_circle,
    timed_line,
)
from coach.samples.choreography import performed_path

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # right, down, left: y down


@pytest.mark.parametrize(
    ("points", "area", "clockwise"),
    [
        (SQUARE, 1.0, True),  # right, down, left, up on screen (y down): clockwise, area +1
        (SQUARE[::-1], -1.0, False),  # the same square the other way round
        (SQUARE * 2.0, 4.0, True),  # twice the side: four times the area
        (np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]), 2.0, True),  # triangle, 1/2*2*2
    ],
)
def test_shoelace_sign_says_which_way_round(points, area, clockwise):
    assert shoelace(points) == pytest.approx(area)
    assert clockwise_on_screen(points) is clockwise


def test_stretch_times_keeps_the_speed_profile_shape():
    # 0, 0.5, 2 s stretched to 6 s: every time x3
    assert stretch_times(np.array([0.0, 0.5, 2.0]), 6.0) == pytest.approx([0.0, 1.5, 6.0])
    # a start that is not 0 is moved to 0 first: 1..3 s -> 0..1 s
    assert stretch_times(np.array([1.0, 2.0, 3.0]), 1.0) == pytest.approx([0.0, 0.5, 1.0])


def test_resample_in_time_is_linear_between_points():
    t = np.array([0.0, 1.0, 3.0])
    xy = np.array([[0.0, 0.0], [10.0, 5.0], [30.0, 5.0]])
    out = resample_in_time(t, xy, 4)  # at 0, 1, 2, 3 s
    assert out[:, 0] == pytest.approx([0.0, 10.0, 20.0, 30.0])
    assert out[:, 1] == pytest.approx([0.0, 5.0, 5.0, 5.0])


@pytest.mark.parametrize("clockwise", [True, False])
def test_circle_progress_counts_turns_in_the_circles_own_direction(clockwise):
    a = np.linspace(0.0, 2.0 * math.pi, 101)  # a full turn, increasing angle = clockwise (y down)
    pts = np.stack([100 + 50 * np.cos(a), 80 + 50 * np.sin(a)], axis=1)
    if not clockwise:
        pts = pts[::-1]
    turns, wobble = circle_progress(pts)
    assert turns[0] == 0.0
    assert turns[-1] == pytest.approx(1.0)  # one turn, positive both ways round
    assert turns[25] == pytest.approx(0.25)
    assert np.abs(wobble).max() == pytest.approx(0.0, abs=1e-9)  # a perfect circle


def test_line_progress_and_sideways_offset():
    # from (0, 0) to (10, 0) through (5, 1): half way along, 1/10 of the length off the line
    s, d = line_progress(np.array([[0.0, 0.0], [5.0, 1.0], [10.0, 0.0]]))
    assert s == pytest.approx([0.0, 0.5, 1.0])
    assert np.abs(d) == pytest.approx([0.0, 0.1, 0.0])


def test_place_on_path_moves_along_and_across():
    path = np.array([[0.0, 0.0], [1.0, 0.0]])  # along +u
    pts = place_on_path(path, np.array([0.0, 0.5, 1.0, 1.2]), np.array([0.0, 0.05, 0.0, 0.0]))
    assert pts[0] == pytest.approx([0.0, 0.0])
    assert pts[1, 0] == pytest.approx(0.5) and abs(pts[1, 1]) == pytest.approx(0.05)
    assert pts[2] == pytest.approx([1.0, 0.0])
    assert pts[3] == pytest.approx([1.2, 0.0])  # an overshoot carries on straight


def test_timed_line_keeps_the_samples_timing():
    # a person covers 80% of the line in the first second and the rest in the next second
    sample = MotionSample(
        "right", "t", np.array([0.0, 1.0, 2.0]), np.array([[0.0, 0.0], [80.0, 0.0], [100.0, 0.0]])
    )
    path = np.array([[0.0, 0.0], [0.0, 1.0]])  # the I: straight down the tummy box
    out = timed_line(path, sample, 4.0)  # stretched to 4 s, points every 1/60 s
    assert len(out) == 4 * 60 + 1
    assert out[0] == pytest.approx([0.0, 0.0])
    assert out[120] == pytest.approx([0.0, 0.8])  # at 2 s (half the time): 80% of the way
    assert out[-1] == pytest.approx([0.0, 1.0])


def test_timed_circle_starts_and_ends_on_the_path():
    seg = load_stroke("sun").segments[0]
    path = performed_path(seg, "none")
    a = np.linspace(0.0, 2.0 * math.pi * 1.1, 80)  # a circle that overshoots by 10%
    sample = MotionSample(
        "circle", "t", np.linspace(0, 1.2, 80), np.stack([np.cos(a), np.sin(a)], axis=1) * 40
    )
    out = timed_circle(path, sample, 5.9)
    assert out[0] == pytest.approx(path[0])
    assert out[-1] == pytest.approx(path[-1], abs=1e-9)  # closed: the next circle follows on


def test_corner_legs_of_the_letters():
    segs = {s.id: s for s in load_stroke("i-love-you").segments}
    assert len(corner_legs(performed_path(segs["i"], "none"))) == 1
    assert len(corner_legs(performed_path(segs["l"], "none"))) == 2
    assert len(corner_legs(performed_path(segs["u"], "reversed"))) == 3


@pytest.fixture(scope="module")
def real_motion():
    if not motion.MOTION_DIR.is_dir():
        pytest.skip(f"real motion not found at {motion.MOTION_DIR}")
    return motion.RealMotion(seed=3)


@pytest.mark.shared
def test_real_circles_run_both_ways(real_motion):
    circles = motion.load_motion("circle")
    cw = sum(clockwise_on_screen(m.xy) for m in circles)
    # SOURCES.md: most circles clockwise on screen, some anticlockwise
    assert 0.7 * len(circles) < cw < len(circles)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("stroke", "fault"),
    [("sun", "none"), ("sun", "reversed"), ("i-love-you", "none"), ("i-love-you", "slow")],
)
def test_real_motion_follows_the_performed_path(real_motion, stroke, fault):
    for seg in load_stroke(stroke).segments:
        path = performed_path(seg, fault)
        out, duration = real_motion(
            path, seg.nominal_s * 3.0 if fault == "slow" else seg.nominal_s, seg
        )
        nominal = seg.nominal_s * (3.0 if fault == "slow" else 1.0)
        assert 0.85 * nominal - 1e-9 <= duration <= 1.15 * nominal + 1e-9  # tempo drift
        assert out[0] == pytest.approx(path[0])
        # every point near the path (wobble is clipped to MAX_WOBBLE_BOX, overshoot small)
        d = np.min(np.linalg.norm(out[:, None] - path[None], axis=2), axis=1)
        assert d.max() < 0.2
        if seg.closed:
            assert np.sign(shoelace(out * (1, 1))) == np.sign(shoelace(path))  # same way round
