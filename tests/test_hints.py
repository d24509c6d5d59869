"""Hint policy: priorities, hysteresis, rate limit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core.hints import HintPolicy, HintSignals, HintState, decide, hint_text
from coach.core.matcher import MatcherConfig
from coach.core.strokes import load_stroke
from coach.core.types import Progress, SegmentRecord

ILY = load_stroke("i-love-you")
SUN = load_stroke("sun")


def progress(
    t, speed=1.0, reversed_=False, distance=0.02, segment=0, fraction=0.5, elapsed=1.0, at=math.nan
):
    return Progress(
        t, 0, segment, "I", fraction, reversed_, np.zeros(2), speed, distance, elapsed_s=elapsed,
        at_fraction=at,
    )  # fmt: skip


def finished(t, ratio, segment=0, reversed_=False, coverage=1.0):
    """A finished letter whose whole-stroke duration is ``ratio`` times nominal."""
    nominal = ILY.segments[segment].nominal_s
    return SegmentRecord(0, segment, reversed_, t - nominal, t, ratio * nominal, coverage, 0.02)


def run(stream, stroke=ILY, policy=None):
    """Feed (t, signals kwargs) and collect the hints said."""
    state, said = HintState(), []
    for t, kw in stream:
        state, hint = decide(
            state, HintSignals(timestamp_s=t, **kw), stroke, policy or HintPolicy()
        )
        if hint is not None:
            said.append((round(hint.timestamp_s, 2), hint.code))
    return said


def frames(t0, t1, fps=10, **kw):
    return [(t, kw) for t in np.arange(t0, t1, 1 / fps)]


def test_condition_must_hold_before_it_is_said():
    # Too fast for 0.4 s only: below the 0.6 s hold, nothing is said.
    said = run(
        frames(0, 0.4, hand_seen=True, progress=None)
        and [
            (t, {"hand_seen": True, "progress": progress(t, speed=3.0)})
            for t in np.arange(0, 0.4, 0.1)
        ]
    )
    assert said == []


def test_a_speed_peak_is_not_judged():
    """Three times the pace in the middle of a letter is how people stroke (fast in the
    middle, slow at the ends): pace is judged over the whole letter, when it ends."""
    stream = [
        (t, {"hand_seen": True, "progress": progress(t, speed=3.0)}) for t in np.arange(0, 2, 0.1)
    ]
    assert run(stream) == []


@pytest.mark.parametrize(
    ("fraction", "at", "elapsed_s", "code"),
    [
        # The I (nominal 2 s) is called slow before it ends only when, kept up, it would
        # take over 1.8 x 1.25 x 2 = 4.5 s: the time from 10% to where the hand is now,
        # per fraction of the path.
        (0.5, 0.5, 2.0, "too_slow"),  # 2 s for 40%: 5 s for the letter
        (0.5, 0.5, 1.6, None),  # 1.6 s for 40%: 4 s
        (0.5, math.nan, 2.0, "too_slow"),  # no current position given: the furthest one
        # A jittery point leapt to 50% and fell back to 20%: not 30% of the way yet, no
        # projection (the furthest point gave 2 s for 40%, said slow, on a good I).
        (0.5, 0.2, 2.0, None),
        (0.5, 0.35, 2.0, "too_slow"),  # 2 s for 25% from where it is: 8 s
    ],
)
def test_slow_letter_is_projected_from_where_the_hand_is(fraction, at, elapsed_s, code):
    p = [(t, {"hand_seen": True, "progress": progress(t, fraction=fraction, at=at,
                                                      elapsed=elapsed_s)})
         for t in np.arange(0, 1.0, 0.1)]  # fmt: skip
    assert run(p) == ([] if code is None else [(0.6, code)])


@pytest.mark.parametrize(
    ("ratio", "code"),
    [
        (0.33, "too_fast"),  # the letter took a third of its nominal time
        (0.47, "too_fast"),  # clearly under the band: 0.6 / 1.25 = 0.48
        (0.49, None),  # under the band, not clearly: left to the repetition's verdict
        (0.85, None),  # 15% quick: never said
        (1.15, None),  # 15% slow: never said
        (2.2, None),  # over the band, not clearly (1.8 x 1.25 = 2.25)
        (2.3, "too_slow"),  # clearly over it
        (3.0, "too_slow"),  # three times the nominal time
    ],
)
def test_pace_is_said_when_a_letter_ends(ratio, code):
    said = run([(4.0, {"hand_seen": True, "progress": None, "completed": (finished(4.0, ratio),)})])
    assert [c for _, c in said] == ([code] if code else [])


def test_a_letter_done_backwards_gets_no_pace_hint():
    """Backwards and fast is a hand carried back to a start; backwards is said anyway."""
    rec = finished(4.0, 0.3, reversed_=True)
    said = run([(4.0, {"hand_seen": True, "progress": None, "completed": (rec,)})])
    assert said == []


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"speed": 0.3, "reversed_": True}, "wrong_direction"),  # direction beats pace
        ({"speed": 1.0, "reversed_": True, "fraction": 0.45}, "wrong_direction"),  # 45% back
        ({"speed": 1.0, "reversed_": True, "fraction": 0.35}, None),  # 35%: too little to say
        ({"speed": 3.0, "reversed_": True}, None),  # carried back to a start, not a stroke
        ({"speed": 3.0, "distance": 0.5}, "off_path"),  # a speed peak is not judged; the path is
        # 10% -> 50% of the I in 1.9 s: 4.75 s for the whole I, over 1.8 x 1.25 x 2 s
        ({"elapsed": 1.9, "distance": 0.5}, "too_slow"),
        ({"elapsed": 1.7}, None),  # 10% -> 50% in 1.7 s: 4.25 s for the I, not clearly slow
        ({"elapsed": 4.0, "fraction": 0.2}, None),  # barely started: nothing known yet
        ({"speed": 0.3}, None),  # a slow moment is not a slow stroke
        ({"distance": 0.5}, "off_path"),  # far from the drawn path
        ({"speed": 1.1}, None),  # 10% fast: nothing to say
    ],
)
def test_priorities(kw, code):
    stream = [
        (t, {"hand_seen": True, "progress": progress(t, **kw)}) for t in np.arange(0, 1.5, 0.1)
    ]
    said = run(stream)
    assert [c for _, c in said] == ([code] if code else [])


def test_other_way_round_waits_for_as_much_as_the_card_needs():
    """The hint waits for the fraction of backwards travel from which the matcher records
    a segment (and so the score card can call it reversed): they never disagree."""
    assert HintPolicy().reversed_min_fraction == MatcherConfig().min_record_coverage
    # Backwards at a stroke's pace, from 15% of the path: 40% at t=0.5, so the hold
    # (0.6 s from t=0) decides; then slower, 40% at t=2.0, so the fraction decides.
    stream = [
        (t, {"hand_seen": True, "progress": progress(t, reversed_=True, fraction=0.15 + t / 2)})
        for t in np.arange(0, 1.0, 0.1)
    ]
    assert run(stream) == [(0.6, "wrong_direction")]
    late = [
        (t, {"hand_seen": True, "progress": progress(t, reversed_=True, fraction=0.15 + t / 8)})
        for t in np.arange(0, 3.0, 0.1)
    ]
    assert run(late) == [(2.0, "wrong_direction")]


def test_at_most_one_new_hint_every_two_seconds_and_no_quick_repeats():
    slow = [
        (t, {"hand_seen": True, "progress": progress(t, elapsed=2.0 + t)})
        for t in np.arange(0, 3, 0.1)
    ]
    rev = [
        (t, {"hand_seen": True, "progress": progress(t, reversed_=True)})
        for t in np.arange(3, 12, 0.1)
    ]
    said = run(slow + rev)
    times = [t for t, _ in said]
    assert all(b - a >= 2.0 - 1e-9 for a, b in zip(times, times[1:], strict=False))
    assert said[0] == (0.6, "too_slow")
    assert said[1][1] == "wrong_direction"
    assert said[1][0] == pytest.approx(3.6, abs=0.11)
    # The same hint again only after repeat_s (6 s).
    assert said[2][1] == "wrong_direction" and said[2][0] - said[1][0] >= 6.0 - 1e-9


def test_incomplete_letter_says_how_to_finish():
    short = SegmentRecord(0, 0, False, 0.0, 1.0, 2.0, 0.5, 0.02)
    stream = [(0.0, {"hand_seen": True, "progress": None, "completed": (short,)})]
    state, hint = decide(
        HintState(),
        HintSignals(timestamp_s=5.0, hand_seen=True, progress=None, completed=(short,)),
        ILY,
    )
    assert hint is not None and hint.code == "incomplete"
    assert hint.text == ILY.segments[0].finish_text
    assert run(stream)[0][1] == "incomplete"


def test_no_hand_after_a_while():
    stream = frames(0, 3, hand_seen=False, progress=None)
    assert run(stream) == [(1.5, "no_hand")]


def test_texts_are_friendly_and_stroke_aware():
    assert "clockwise" in hint_text("wrong_direction", SUN).lower()
    assert "clockwise" not in hint_text("wrong_direction", ILY).lower()
    assert hint_text("too_fast", ILY) == "Slow down: follow the guide dot."
    assert not math.isnan(HintPolicy().min_interval_s)


@pytest.mark.parametrize(
    ("pace", "score", "code"),
    [
        ("too_fast", 75, "too_fast"),  # the repetition's verdict is said
        ("too_slow", 75, "too_slow"),  # ... either way
        ("ok", 90, "good"),  # a good one is praised
        ("ok", 70, None),  # ... a middling one is not
    ],
)
def test_pace_is_said_from_the_repetitions_verdict(pace, score, code):
    from coach.core.types import RepetitionScore

    rep = RepetitionScore(0, 0.0, 11.0, 11.0, 11.2, score, "ok", pace, 1.0, 1.0)
    said = run([(12.0, {"hand_seen": True, "progress": None, "scored": (rep,)})])
    assert [c for _, c in said] == ([code] if code else [])
