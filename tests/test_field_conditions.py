"""Verdicts under field conditions, at the landmark level (no video, no model: fast).

Each case turns a generated performance into the landmark stream MediaPipe would give
under one field condition (tests/landmark_sim.py) and checks the coach's verdict: the
right number of repetitions, each fault flagged on every repetition, and no other
pace, direction, coverage, path, smoothness or contact flag. These are the cases the
coach gets right today; `make eval` (coach eval) runs the real hand model on rendered
clips of the same conditions and more.
"""

from __future__ import annotations

import pytest

from coach.samples.synth import Sample
from tests.landmark_grid import run_case
from tests.landmark_sim import Field, human_sample, resting, run

WANT = {
    "none": set(),
    "incomplete": {"incomplete"},
    "reversed": {"wrong_direction"},
    "fast": {"too_fast"},
    "slow": {"too_slow"},
}
JUDGED = {"wrong_direction", "too_fast", "too_slow", "incomplete", "off_path", "jerky", "lifted"}
PACE_OR_DIRECTION = {"wrong_direction", "too_fast", "too_slow"}

CONDITIONS = {
    "clean": Field(),
    "jitter 0.10": Field(jitter_box=0.10, seed=1),
    "jitter 0.15": Field(jitter_box=0.15, seed=2),
    "jitter 0.15 fast": Field(jitter_box=0.15, jitter_hz=15, seed=3),
    "bias down": Field(bias_box=(0, 0.2), jitter_box=0.1),
    "bias up": Field(bias_box=(0, -0.25), jitter_box=0.15),
    "bias right": Field(bias_box=(0.25, 0), jitter_box=0.15),
    "bias left": Field(bias_box=(-0.25, 0), jitter_box=0.15),
    "resting hand": Field(rest_uv=(0.1, 0.75), jitter_box=0.1),
    "resting hand, another draw": Field(rest_uv=(0.1, 0.75), jitter_box=0.1, seed=12),
    "tilted camera": Field(tilt_deg=35, jitter_box=0.05),
    "box off": Field(box_scale=1.2, box_shift_box=(0.15, -0.15), jitter_box=0.05),
    "hand turning": Field(hand_turn_deg=30, jitter_box=0.05),
    "bias down, another draw": Field(bias_box=(0, 0.2), jitter_box=0.1, seed=1),
    "bias right, another draw": Field(bias_box=(0.25, 0), jitter_box=0.15, seed=6),
    "tilted camera, another draw": Field(tilt_deg=35, jitter_box=0.05, seed=7),
    # The landmark grid's draws (tests/landmark_grid.py: seed 11 and 12)
    "bias down, draw 11": Field(bias_box=(0, 0.2), jitter_box=0.1, seed=11),
    "bias down, draw 12": Field(bias_box=(0, 0.2), jitter_box=0.1, seed=12),
    "bias left, draw 11": Field(bias_box=(-0.25, 0), jitter_box=0.15, seed=11),
    "bias right, draw 11": Field(bias_box=(0.25, 0), jitter_box=0.15, seed=11),
    "box off, draw 11": Field(box_scale=1.2, box_shift_box=(0.15, -0.15), jitter_box=0.05, seed=11),
    "bias up, draw 11": Field(bias_box=(0, -0.25), jitter_box=0.15, seed=11),
    # The stroking hand passes over the resting one (0.15 box): the detector sees one
    # hand there, and the trackers carry on with the wrong hand (they swap the two).
    "crossing low left": Field(rest_uv=(0.2, 0.78), cross_box=0.15, seed=3),
    "crossing low left, jittery": Field(rest_uv=(0.2, 0.78), cross_box=0.15, jitter_box=0.15),
    "crossing left": Field(rest_uv=(0.15, 0.5), cross_box=0.15, jitter_box=0.15, seed=3),
    "crossing on the L": Field(rest_uv=(0.5, 0.1), cross_box=0.15, seed=3),
    # The detector misses the hand for 0.3 s every 1.3 s: the trackers hold its last point.
    "missed in bursts": Field(miss_s=0.3, miss_every_s=1.3, jitter_box=0.03),
    # ... with the other hand resting, and then the resting hand missed: the detector sees
    # one of the two hands at a time, and the trackers' first hand changes meanwhile.
    "one hand at a time": Field(
        rest_uv=(0.85, 0.2),
        first_hand_is_rest=False,
        miss_s=0.3,
        miss_rest_s=0.2,
        miss_every_s=2.1,
        jitter_box=0.03,
    ),
    # The stroking hand passes over and covers the resting one (it is not seen) while they are
    # closer than 0.3-0.45 box: the resting hand's track ends, and the stroking hand
    # comes out from under as a new track, taken for the resting hand found again.
    "crossing left, covered": Field(rest_uv=(0.15, 0.5), cross_box=0.15, cover_box=0.3),
    "crossing far left, jittery": Field(
        rest_uv=(0.1, 0.75), cross_box=0.15, jitter_box=0.15, seed=1
    ),
    "crossing far left, covered, jittery": Field(
        rest_uv=(0.1, 0.75), cross_box=0.15, cover_box=0.45, jitter_box=0.15, seed=2
    ),
}

CASES = [
    # stroke, fault, condition, human timing (True, or the seed of its draw)
    ("i-love-you", "none", "clean", False),  # the reference case
    ("i-love-you", "none", "jitter 0.10", False),  # small dim picture
    ("i-love-you", "none", "jitter 0.15", False),  # the most jitter the issue names
    ("i-love-you", "none", "jitter 0.15 fast", False),  # ... at up to 15 Hz
    ("i-love-you", "none", "bias down", False),  # pale doll: fingertips 0.2 box low
    ("i-love-you", "none", "bias up", False),  # a quarter of the box up, jittery
    ("i-love-you", "none", "bias right", False),  # a quarter of the box right, jittery
    ("i-love-you", "none", "resting hand", False),  # the other hand on the tummy
    ("i-love-you", "none", "tilted camera", False),  # tummy a trapezoid
    ("i-love-you", "none", "box off", False),  # calibration 20% big and 0.15 box off
    ("i-love-you", "none", "hand turning", False),  # the hand turns 30 degrees
    ("i-love-you", "fast", "clean", False),  # three times too fast
    ("i-love-you", "fast", "jitter 0.10", False),  # ... on a small dim picture
    ("i-love-you", "fast", "tilted camera", False),  # ... seen obliquely
    ("i-love-you", "slow", "clean", False),  # three times too slow
    ("i-love-you", "reversed", "clean", False),  # every letter backwards: the way down the
    # I to the L's end is not a new repetition
    # ... on noisy pictures: the hand going back down the I (to the L drawn backwards) is
    # not the L's last leg, its top bar skipped while jitter carried the alignment along
    # (was: incomplete on every repetition, the L drawn backwards not seen)
    ("i-love-you", "reversed", "jitter 0.10", False),  # small dim picture
    ("i-love-you", "reversed", "jitter 0.15", False),  # ... the most jitter (was 3 repetitions)
    ("i-love-you", "reversed", "bias up", False),  # fingertips a quarter of the box up
    ("i-love-you", "reversed", "resting hand", False),  # the other hand on the tummy
    ("i-love-you", "reversed", "tilted camera", False),  # tummy a trapezoid
    ("i-love-you", "reversed", "box off", False),  # calibration 20% big and 0.15 box off
    # ... the way back down the I read as the L's last leg all the same, until the L drawn
    # backwards came: the matcher revises the L it reported (was: incomplete)
    ("i-love-you", "reversed", "bias down, another draw", False),  # fingertips 0.2 box low
    ("i-love-you", "reversed", "bias right, another draw", False),  # ... a quarter right
    ("i-love-you", "reversed", "tilted camera, another draw", False),  # tummy a trapezoid
    ("i-love-you", "none", "clean", True),  # human timing: bell speed, 15% tempo drift
    ("i-love-you", "none", "resting hand", True),  # ... with the other hand resting
    ("i-love-you", "none", "bias up", True),  # ... with biased, jittery fingertips
    # A quarter-box bias read on a jittery human path measured up to 0.3 box: it was
    # taken for a stroke in the wrong place (off_path on good strokes).
    ("i-love-you", "none", "bias left", True),  # human timing, fingertips a quarter left
    ("i-love-you", "none", "box off", True),  # ... calibration 20% big and 0.15 box off
    ("sun", "none", "clean", False),  # the reference case
    ("sun", "none", "jitter 0.15", False),  # the most jitter the issue names
    ("sun", "none", "jitter 0.15 fast", False),  # ... at up to 15 Hz
    ("sun", "none", "bias down", False),  # pale doll
    ("sun", "none", "resting hand", False),  # the other hand on the tummy
    ("sun", "none", "box off", False),  # calibration off
    ("sun", "reversed", "clean", False),  # anticlockwise circles
    ("sun", "reversed", "jitter 0.15", False),  # ... on a noisy picture
    ("sun", "reversed", "bias left", False),  # ... with biased fingertips
    ("sun", "reversed", "resting hand", False),  # ... the other hand resting
    ("sun", "fast", "jitter 0.10", False),  # three times too fast, small dim picture
    ("sun", "slow", "tilted camera", False),  # three times too slow, seen obliquely
    # Three times too slow on a small dim picture: the hand moves 0.125 box/s, less than
    # the speed jitter alone gives it; its direction was judged from jitter and the circle
    # started over at every turn of the noise (no repetition, "cant_follow").
    ("sun", "slow", "jitter 0.10", False),
    ("sun", "slow", "jitter 0.15", False),  # ... the most jitter the issue names
    ("sun", "none", "clean", True),  # human timing
    ("sun", "none", "jitter 0.15", True),  # human timing on a noisy picture
    ("sun", "none", "resting hand", True),  # human timing, the other hand resting
    ("sun", "none", "bias right", True),  # human timing, fingertips a quarter right
    ("sun", "reversed", "bias left", True),  # anticlockwise, human timing, biased
    ("sun-moon", "none", "clean", False),  # two hands, two roles: the reference case
    ("sun-moon", "none", "jitter 0.10", False),  # ... small dim picture
    # Both hands' circle lanes finished the same circle (the moon's arc and its way back
    # read as a circle): each was counted, 3-4 repetitions for 2. One hand is the sun.
    ("sun-moon", "fast", "clean", False),  # three times too fast
    ("sun-moon", "fast", "jitter 0.10", False),  # ... small dim picture
    ("sun-moon", "slow", "jitter 0.10", False),  # three times too slow, small dim picture
    ("sun-moon", "slow", "jitter 0.15", False),  # ... the most jitter the issue names
    ("sun-moon", "reversed", "clean", False),  # both hands anticlockwise
    ("sun-moon", "reversed", "bias down", False),  # ... pale doll
    # Once the sun hand is known, the moon hand's arc and its way back are not searched
    # for a misplaced circle (a shift of the circle fits them: off_path on a good one).
    ("sun-moon", "none", "box off", False),  # calibration 20% big and 0.15 box off
    ("sun-moon", "none", "box off", True),  # ... with human timing
    # A quarter-box bias: the shift is found about 4 s in, when the first circle is half
    # drawn. Before that, the sun's circle read short (incomplete, too_fast) or the moon
    # hand's arc and its way back read as a circle counted as repetitions; the circles
    # now wait until it is known which hand is the sun, and the sun hand's lane reads
    # them again with the shift.
    ("sun-moon", "none", "bias up", False),  # was: the first circle incomplete
    ("sun-moon", "none", "bias up", True),  # ... human timing (was: 2 repetitions of 3)
    ("sun-moon", "none", "bias right", False),  # ... was: incomplete and too_fast
    ("sun-moon", "none", "bias right", True),  # ... human timing
    ("sun-moon", "none", "bias left", False),  # ... was: 1 repetition of 2
    ("sun-moon", "none", "box off", 6),  # calibration off, human timing (was: too_fast)
    ("sun-moon", "fast", "bias up", False),  # three times too fast: both circles end before
    # the shift is known (was: the first incomplete)
    ("sun-moon", "fast", "bias right", False),  # ... was: 3 repetitions of 2, incomplete
    ("sun-moon", "fast", "bias left", False),  # ... was: 1 repetition of 2
    # Three times too slow: at the end the matcher's best reading was one that had not
    # finished the circle it counted; the circle read again is not a third repetition.
    ("sun-moon", "slow", "bias up", False),
    ("water-wheel", "none", "clean", False),  # hands in turn: the reference case
    ("water-wheel", "none", "bias down", False),  # ... pale doll (was too slow)
    ("water-wheel", "none", "bias up", False),  # ... a quarter of the box up, jittery
    ("sun", "none", "crossing low left", False),  # the circle passes over the resting hand
    ("sun", "none", "crossing low left, jittery", False),  # ... on a noisy picture
    ("sun", "none", "crossing left", False),  # ... resting on the circle's left
    ("sun", "reversed", "crossing low left", False),  # ... anticlockwise
    ("sun", "none", "crossing low left", True),  # ... with human timing
    ("i-love-you", "none", "crossing low left", False),  # the U and the way back cross it
    ("i-love-you", "none", "crossing low left, jittery", False),  # ... on a noisy picture
    ("i-love-you", "none", "crossing on the L", False),  # the L's top passes over it
    ("i-love-you", "fast", "crossing low left", False),  # ... too fast
    ("i-love-you", "none", "crossing low left", True),  # ... with human timing
    # Every letter backwards with human timing (another draw): the I drawn up its column
    # and the hand back down it fit the U's other column as well as their own; no shift
    # may be taken for that (was: off_path, and one repetition split in two).
    # Known wrong since the hand is followed only once it has settled (SETTLE_S): the first
    # I drawn backwards, 1.75 s at human pace, reads 1.15 s, quicker than a stroke may go
    # backwards, and is taken for the hand carried back up (the repetition incomplete; its
    # direction is still flagged). Its milestone times are whole frames, and one frame
    # later at 70% turns the shape index from 1.42 (a bell, 1.91 s) to 1.18 (steady).
    pytest.param(
        "i-love-you",
        "reversed",
        "clean",
        3,
        marks=pytest.mark.xfail(strict=False, reason="the first I timed by whole frames"),
    ),  # fmt: skip
    # The hand missed for moments: the point held meanwhile is not the hand stopping and
    # jumping on (was: jerky on every repetition).
    ("sun", "none", "missed in bursts", False),
    ("sun", "reversed", "missed in bursts", True),  # ... anticlockwise, human timing
    ("i-love-you", "none", "missed in bursts", False),  # ... the letters
    # A hand is in view all along: the circle is not lifted (was: lifted whenever the
    # trackers' first hand was the one missed).
    ("sun", "none", "one hand at a time", False),
    ("sun", "reversed", "one hand at a time", True),  # ... anticlockwise, human timing
    # The resting hand lost under the stroking one: 2 of 3 repetitions (followed the
    # resting hand), an incomplete or split circle. The track that leaves the rest spot
    # is the stroking hand's.
    ("sun", "reversed", "crossing left, covered", True),  # anticlockwise, human timing
    ("sun", "reversed", "crossing far left, jittery", False),  # ... on a noisy picture
    ("sun", "none", "crossing far left, covered, jittery", False),  # a good Sun
    # Human timing on a jittery picture: jitter moves the times at which the hand passes
    # 10% and 90% of the path (where it is slow) so much that a bell-shaped stroke read
    # as a steady one (index 0.8 for 1.3) and its duration came out 0.6 of the real one:
    # too_fast on good strokes, often the last. The index counts as far as it stands out
    # of the blur the measured jitter gives it.
    ("water-wheel", "none", "jitter 0.15", True),  # was: too_fast on the fifth paddle
    ("water-wheel", "none", "jitter 0.15 fast", 6),  # ... at up to 15 Hz: on the last
    ("water-wheel", "none", "bias down", True),  # ... pale doll: on the last two
    ("water-wheel", "none", "bias up", True),  # ... a quarter up, jittery: the last two
    ("i-love-you", "none", "jitter 0.15", 6),  # ... the last I Love You
    ("sun-moon", "none", "jitter 0.15 fast", True),  # ... the last sun circle
    ("water-wheel", "slow", "jitter 0.15", True),  # a slow bell stroke read as steady: ok
    # ... and real pace faults under the same jitter stay flagged (three times too fast or
    # too slow, steady or bell-shaped):
    ("water-wheel", "slow", "jitter 0.15", False),
    ("water-wheel", "fast", "bias up", False),
    ("i-love-you", "fast", "jitter 0.15", True),
    ("i-love-you", "slow", "jitter 0.15", True),
    ("sun", "fast", "jitter 0.15", True),
    # The stroking hand comes within a jitter of the resting one, both seen, and the
    # trackers swap them: the followed lane kept the resting hand, the stroke went on
    # under the other lane (a repetition split in two, or lost). The track that leaves
    # the rest spot while the followed one sits on it is the stroking hand's.
    ("i-love-you", "fast", "resting hand", False),  # the U starts beside the resting hand
    ("i-love-you", "slow", "resting hand", False),  # ... three times too slow
    ("i-love-you", "none", "resting hand, another draw", True),  # ... human timing
    ("sun", "fast", "resting hand, another draw", False),  # the circle passes over it
    # Hands in turn: each hand rests on its own side of the tummy between its turns (no
    # third hand). Its resting points are not searched for a stroke in the wrong place:
    # a shift put the rest spot on the paddle, and the move up from there to the start
    # was read as a paddle backwards (wrong_direction, off_path; a repetition lost).
    ("water-wheel", "none", "resting hand", False),
    ("water-wheel", "none", "resting hand", 6),  # ... human timing
    ("water-wheel", "slow", "resting hand, another draw", False),  # ... three times too slow
    # The I drawn 0.2 box low fits the U's other column 0.6 box away as well as its own
    # (and jitter made the far shift fit a little better): it was taken for a stroke in
    # the wrong place until the next search, and the L read meanwhile came out short. A
    # shift is a misplaced stroke only where it fits clearly better than any bias.
    ("i-love-you", "none", "bias down, draw 12", 6),  # human timing (was: incomplete)
    # A quarter-box bias is found about 4 s in; a letter or circle read before that (too
    # fast: a whole repetition) came out short or split, and was scored at once. The
    # repetitions read before the first search wait, and are read again with its shift.
    ("i-love-you", "fast", "bias left, draw 11", False),  # was: 3 repetitions, incomplete
    ("i-love-you", "fast", "bias down, draw 11", False),  # was: the first incomplete
    ("sun", "fast", "bias right, draw 11", False),  # ... the first circle incomplete
    # ... and a stroke that is short, or in the wrong place, stays flagged under the bias
    ("i-love-you", "incomplete", "bias left, draw 11", False),  # half of every letter
    ("i-love-you", "incomplete", "bias down, draw 12", False),  # ... pale doll
    ("i-love-you", "slow", "bias left, draw 11", False),  # three times too slow, biased
    # A box 20% too big and 0.15 box off: the letters read 0.83 of their size, and each
    # covered just under 0.7 of its path (incomplete beside the right verdict) until the
    # scale was found with the shift
    ("i-love-you", "fast", "box off, draw 11", False),  # three times too fast
    ("i-love-you", "slow", "box off, draw 11", False),  # three times too slow
    ("i-love-you", "reversed", "box off, draw 11", False),  # every letter backwards
    # ... a very slow circle (18 s): the shift moved while the first circle was under way,
    # and reading the last 10 s again lost its start (one circle counted for two)
    ("sun", "slow", "box off, draw 11", False),
    # ... and a short stroke stays incomplete at that scale (was: one repetition for two)
    ("i-love-you", "incomplete", "box off, draw 11", False),  # half of every letter
    # A fast Sun and Moon, fingertips a quarter of the box up: the sun hand was known 0.1 s
    # before its first offset search, and its first circle, read without the bias, counted
    # (one circle for two); circles now wait for the search
    ("sun-moon", "fast", "bias up, draw 11", False),
]


@pytest.mark.parametrize(("stroke", "fault", "condition", "human"), CASES)
def test_verdict_under_field_conditions(stroke, fault, condition, human):
    """``human``: False for the planned timing, True for human timing (seed 5), or the seed
    of the human timing."""
    options, field = resting(stroke, CONDITIONS[condition])
    if human:
        seed = 5 if human is True else human
        sample = human_sample(stroke, fault=fault, repetitions=3, seed=seed, **options)
    else:
        sample = Sample(stroke, fault=fault, repetitions=2, **options)
    session = run(sample, field)
    want = WANT[fault]
    assert len(session.repetitions) == len(sample.truth.repetitions)
    for rep in session.repetitions:
        assert set(rep.flags) & JUDGED == want, rep
    if fault == "none":
        said = [h.code for h in session.hints if h.code in PACE_OR_DIRECTION | {"cant_follow"}]
        assert said == []


@pytest.mark.parametrize(
    ("stroke", "repetitions"),
    [
        ("sun", 2),  # circles 0.65 box up and left: the shift is found ~4 s into the first
        ("sun", 3),  # ... and every later circle keeps it
        ("i-love-you", 2),  # letters 0.6 box off the tummy
    ],
)
def test_stroke_in_the_wrong_place_counts_from_the_start(stroke, repetitions):
    """The off-path stage needs a few seconds of path before it knows the shift; the lane
    then reads that path again, so the first repetition is counted too, and flagged."""
    sample = Sample(stroke, fault="off_path", repetitions=repetitions)
    session = run(sample, Field())
    assert len(session.repetitions) == repetitions
    assert all("off_path" in rep.flags for rep in session.repetitions)


@pytest.mark.parametrize("seed", [1, 2, 3])  # three draws of the jitter
def test_never_silent_when_the_hand_cannot_be_followed(seed):
    """A Sun three times too slow under 0.3 box of jitter (twice the most the issue names):
    the hand moves 0.125 box/s on a circle of radius 0.35 while its point jumps about by
    0.3; no repetition can be told, and the coach must say that it cannot follow the hand
    rather than nothing: that it cannot follow the hand, or what it could tell, that the
    circles are too slow (draw 1: the circles are followed through the jitter, three
    for two, each too slow), and never the opposite."""
    session = run(Sample("sun", fault="slow", repetitions=2), Field(jitter_box=0.3, seed=seed))
    said = {h.code for h in session.hints}
    assert said & {"cant_follow", "too_slow"}
    assert not said & {"too_fast", "good"}


@pytest.mark.parametrize(
    "condition",
    [
        "clean",  # the moon's arc read along the sun's circle said "keep the sun going"
        "jitter 0.15",  # ... and "slow down" on a noisy picture
        "jitter 0.15 fast",  # ... jitter at up to 15 Hz
        "bias down",  # ... pale doll
        "box off",  # ... calibration off: the moon hand's arc was searched for a shift
    ],
)
def test_sun_and_moon_hints_come_from_each_hands_own_role(condition):
    """Sun and Moon, a good session: the hints say nothing but praise. Each hand is read
    along both paths (either may be the sun); only the sun hand's circle and the moon
    hand's arc are talked about, once it is known which hand is which."""
    session = run(Sample("sun-moon", repetitions=2), CONDITIONS[condition])
    assert len(session.repetitions) == 2
    assert [h.code for h in session.hints if h.code != "good"] == []


@pytest.mark.parametrize(
    ("stroke", "condition"),
    [
        ("i-love-you", "bias down, draw 12"),  # letters off the tummy, fingertips 0.2 low
        ("i-love-you", "bias left, draw 11"),  # ... a quarter of the box left, jittery
        ("sun", "bias right, draw 11"),  # circles up and left, fingertips a quarter right
    ],
)
def test_stroke_in_the_wrong_place_under_bias_stays_off_path(stroke, condition):
    """A stroke in the wrong place is told from a tracking bias under that bias too (a
    shift off the path must fit clearly better than any bias shift: it does)."""
    sample = Sample(stroke, fault="off_path", repetitions=2)
    session = run(sample, CONDITIONS[condition])
    assert len(session.repetitions) == 2
    assert all("off_path" in rep.flags for rep in session.repetitions)


@pytest.mark.parametrize(
    ("stroke", "fault", "seed", "condition", "human"),
    [
        # The hand's first landmarks sit off it by up to a third of the box, and the
        # smoothing settled from there onto the paddle's start: the settling read as the
        # first tenth of the paddle, and the first paddle was timed from the rest before
        # it (not too_fast). A hand just found is followed once it has settled.
        ("water-wheel", "fast", 7, "jitter 0.15", False),
        ("water-wheel", "fast", 7, "other hand resting", False),  # ... the other hand resting
        ("water-wheel", "fast", 2, "camera tilted 35 deg", False),  # ... an oblique camera
        ("water-wheel", "fast", 3, "bias 0.25 up", False),  # ... a quarter-box bias
        # A jittery point leaping ahead round a slow circle was followed by leaving the
        # circle and entering it again there (a circle may be entered anywhere): the circle
        # counted from that re-entry, and the last one of the session read incomplete.
        ("sun", "slow", 7, "jitter 0.15", False),
        ("sun", "slow", 7, "bias 0.25 up", False),  # ... a quarter-box bias
        ("sun-moon", "slow", 7, "jitter 0.15", False),  # ... the sun's circle of Sun and Moon
        # Every letter backwards: the hand's settling at the start read as a short letter
        # (a third repetition, incomplete).
        ("i-love-you", "reversed", 2, "jitter 0.15", False),
        ("i-love-you", "reversed", 7, "bias 0.20 down", False),
    ],
)
def test_grid_draws_never_tuned_on(stroke, fault, seed, condition, human):
    """Cases of the landmark grid (tests/landmark_grid.py, draws the coach was not tuned
    on) that were wrong: right now, by the grid's own rule (the repetition count, every
    repetition's judged flags, no pace or direction hint in a good session)."""
    r = run_case(stroke, fault, seed, human, condition)
    assert r["right"], r
