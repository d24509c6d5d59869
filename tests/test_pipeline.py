"""The per-frame pipeline without the model: observations made from exact hand paths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from coach.bodyframe import BodyFrame
from coach.pipeline import Coach
from coach.strokes import load_stroke
from coach.types import HandObservation
from tests.uvpaths import perform

ILY = load_stroke("i-love-you")
BOX = (0.3, 0.25, 0.7, 0.75)


def observation(xys, t, size=(640, 480)):
    """A hand whose every landmark sits at ``xy``: its contact point is exactly ``xy``."""
    lm = np.zeros((len(xys), 21, 3))
    for i, xy in enumerate(xys):
        lm[i, :, :2] = xy
    return HandObservation(t, lm, np.ones(len(xys)), size)


def run(stroke, body_frame, samples, drop=lambda t: False):
    coach = Coach(stroke, body_frame)
    results = []
    for uv, t in samples:
        obs = None if drop(t) else observation([body_frame.to_xy(uv)], t)
        results.append(coach.update(obs, t))
    return coach.finish(), results


@pytest.mark.parametrize(
    ("kw", "flags"),
    [
        ({}, set()),  # a correct performance
        ({"factor": 1 / 3}, {"too_fast"}),  # three times too fast
        ({"factor": 3.0}, {"too_slow"}),  # three times too slow
        ({"reverse": True}, {"wrong_direction"}),  # every letter backwards
        ({"offset": (0.0, -0.2)}, set()),  # tracked point a fifth of the box off: no change
    ],
)
def test_verdicts_per_repetition(kw, flags):
    session, _ = run(ILY, BodyFrame.from_box(BOX), perform(ILY, **kw))
    if kw.get("reverse"):
        # A reversed I and the lifted hand's way back look the same from above; the
        # repetition may be split there, but every part of it is wrong.
        assert 2 <= len(session.repetitions) <= 4
        assert all("wrong_direction" in rep.flags for rep in session.repetitions)
        return
    assert len(session.repetitions) == 2
    for rep in session.repetitions:
        assert set(rep.flags) == flags
    if not flags:
        assert session.score >= 90


@pytest.mark.parametrize(
    ("head", "mirrored"),
    list(itertools.product(("up", "down", "left", "right"), (False, True))),
)
def test_every_camera_view_gives_the_same_verdicts(head, mirrored):
    # The same performance filmed with the head up/down/left/right, mirrored or not.
    reference, _ = run(ILY, BodyFrame.from_box(BOX), perform(ILY, reverse=True))
    session, _ = run(ILY, BodyFrame.from_box(BOX, head, mirrored), perform(ILY, reverse=True))
    assert [r.flags for r in session.repetitions] == [r.flags for r in reference.repetitions]
    assert [r.score for r in session.repetitions] == [r.score for r in reference.repetitions]


def test_hints_and_status_per_frame():
    session, results = run(ILY, BodyFrame.from_box(BOX), perform(ILY, factor=1 / 3, repetitions=3))
    assert {h.code for h in session.hints} >= {"too_fast"}
    assert all(r.status in {"tracking", "bridged"} for r in results)
    times = [h.t_s for h in session.hints]
    assert all(b - a >= 2.0 for a, b in zip(times, times[1:], strict=False))
    scored = [rep for r in results for rep in r.new_repetitions]
    assert len(scored) >= 2  # repetitions are scored live, not only at the end


def test_long_dropout_is_reported_as_no_hand():
    samples = perform(ILY, repetitions=2)
    session, results = run(ILY, BodyFrame.from_box(BOX), samples, drop=lambda t: 12.0 <= t < 16.0)
    assert session.flags["no_hand"] == 1
    assert session.no_hand_stretches[0][0] == pytest.approx(12.0, abs=0.4)
    assert any(r.status == "no_hand" for r in results)


def test_never_a_hand_is_a_finding_not_an_error():
    coach = Coach(ILY, BodyFrame.from_box(BOX))
    for i in range(90):
        coach.update(None, i / 30)
    session = coach.finish()
    assert session.repetitions == ()
    assert session.flags["no_hand"] == 1
    assert session.detection_rate == 0.0


def test_water_wheel_counts_paddles_of_both_hands():
    ww = load_stroke("water-wheel")
    bf = BodyFrame.from_box(BOX)
    seg = ww.segments[0]
    coach = Coach(ww, bf)
    fps = 30
    n = int(seg.nominal_s * fps)
    period = n + 30  # paddle, then lift back up
    t_total = 6 * period
    for i in range(t_total):
        t = i / fps
        hands = []
        for h, delay in ((0, 0), (1, period // 2)):
            k = (i - delay) % period if i >= delay else -1  # the second hand waits at the top
            if k < 0:
                uv = seg.points[0]
            elif k < n:
                uv = seg.points[0] + (seg.points[-1] - seg.points[0]) * k / n
            else:
                uv = seg.points[-1] + (seg.points[0] - seg.points[-1]) * (k - n) / 30
            hands.append(bf.to_xy(uv + (0.15 * (2 * h - 1), 0)))
        coach.update(observation(hands, t), t)
    session = coach.finish()
    assert len(session.repetitions) >= 8
    assert all(r.direction == "ok" for r in session.repetitions)


@pytest.mark.parametrize(
    "offset",
    [
        (0.45, 0.0),  # the I Love You drawn on the baby's left flank and beyond
        (-0.45, 0.0),  # ... on the baby's right side
        (0.0, -0.4),  # ... up on the ribs
    ],
)
def test_stroke_in_the_wrong_place_is_off_path_not_wrong(offset):
    session, _ = run(ILY, BodyFrame.from_box(BOX), perform(ILY, offset=offset, repetitions=3))
    assert len(session.repetitions) >= 2
    assert all("off_path" in r.flags for r in session.repetitions)
    later = session.repetitions[1:]  # the shift is found once the first letters are seen
    assert all(r.flags == ("off_path",) for r in later)


def test_sun_circle_with_the_hand_gone_midway_is_lifted():
    sun = load_stroke("sun")
    samples = perform(sun, repetitions=3, pause_s=0.0)
    # Hand unseen for 0.6 s in the middle of the second circle.
    session, _ = run(sun, BodyFrame.from_box(BOX), samples, drop=lambda t: 9.0 <= t < 9.6)
    flags = [r.flags for r in session.repetitions]
    assert any("lifted" in f for f in flags)
    assert "lifted" not in flags[0]
