"""The synth's evaluation options (motion, rest, palette, hand_painter) and the clip effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.evaluation import clips
from coach.samples.choreography import RestingHand
from coach.samples.synth import Sample


def test_resting_hand_stays_put_while_the_other_strokes():
    s = Sample("sun", size=(320, 240), fps=10, rest=RestingHand(uv=(0.2, 0.8)))
    t = s.truth
    assert t.hands == 2
    assert all(r.hand == 0 for r in t.repetitions)
    rest = t.contact_uv[:, 1]
    assert np.all(t.touching[:, 1])  # in contact the whole clip
    assert np.abs(rest - (0.2, 0.8)).max() < 0.02  # only the human-like wobble


def test_hands_swap_roles():
    s = Sample(
        "sun", size=(320, 240), fps=10, repetitions=2, rest=RestingHand(uv=(0.2, 0.8), swap_after=1)
    )
    hands = [r.hand for r in s.truth.repetitions]
    assert hands == [0, 1]  # the first hand strokes once, then the other
    end = s.truth.contact_uv[-1, 0]
    assert end == pytest.approx((0.8, 0.8), abs=0.02)  # the first hand rests mirrored


def test_water_wheel_hands_rest_between_their_turns_on_their_own_side():
    # No third hand: each paddling hand rests in contact between its turns (right hand,
    # its arm at u > 1, on the right of the picture's body frame: the larger u).
    s = Sample("water-wheel", size=(320, 240), fps=10, rest=RestingHand(uv=(0.1, 0.75)))
    t = s.truth
    assert t.hands == 2
    assert [r.hand for r in t.repetitions] == [0, 1, 0, 1]
    for hand, spot in ((0, (0.9, 0.75)), (1, (0.1, 0.75))):
        at_rest = np.all(np.abs(t.contact_uv[:, hand] - spot) < 0.03, axis=1)
        assert np.any(at_rest & t.touching[:, hand]), hand  # resting there, in contact
        for r in t.repetitions:  # ... never while it paddles
            during = (t.timestamps_s >= r.start_s) & (t.timestamps_s <= r.end_s)
            if r.hand == hand:
                assert not np.any(at_rest[during])
    # Without a rest the hand between its turns waits lifted off the tummy, as before.
    plain = Sample("water-wheel", size=(320, 240), fps=10).truth
    assert not np.any(np.all(np.abs(plain.contact_uv[:, 1] - (0.1, 0.75)) < 0.03, axis=1))


def test_timed_motion_is_followed_point_by_point():
    calls = []

    def motion(path, duration_s, seg):
        calls.append(seg.id)
        # all of the way in the first quarter of the time, then still
        n = 41
        frac = np.minimum(np.linspace(0, 4, n), 1.0)
        idx = frac * (len(path) - 1)
        k = np.arange(len(path))
        pts = np.stack([np.interp(idx, k, path[:, 0]), np.interp(idx, k, path[:, 1])], axis=1)
        return pts, duration_s

    s = Sample("i-love-you", size=(320, 240), fps=20, repetitions=1, motion=motion)
    assert calls == ["i", "l", "u"]
    seg = s.truth.repetitions[0].segments[0]
    mid = 0.5 * (seg.start_s + seg.end_s)
    uv, *_ = s.hand_states(mid)[0]
    assert uv == pytest.approx((0.8, 0.85), abs=0.02)  # already at the end of the I


def test_palette_changes_the_background_only():
    a = Sample("sun", size=(160, 120), fps=5, repetitions=1)
    b = Sample("sun", size=(160, 120), fps=5, repetitions=1, palette=clips.PALETTES["dark"])
    assert np.array_equal(a.truth.contact_uv, b.truth.contact_uv)
    assert a.scene.background().mean() > b.scene.background().mean() + 60
    with pytest.raises(ValueError, match="palette: expected"):
        Sample("sun", palette={"SKY": (0, 0, 0)})


def test_hand_painter_replaces_the_drawn_hand():
    seen = []
    s = Sample(
        "sun",
        size=(160, 120),
        fps=5,
        repetitions=1,
        hand_painter=lambda img, k, lm, skin, sleeve: seen.append((k, lm.shape)),
    )
    plain = Sample("sun", size=(160, 120), fps=5, repetitions=1)
    img = s.render(3)
    assert seen == [(0, (21, 2))]
    assert np.array_equal(img, s.scene.background())  # the painter drew nothing
    assert not np.array_equal(plain.render(3), img)


@pytest.mark.parametrize(
    ("calib", "expect"),
    [
        ("ok", (0.4, 0.3, 0.6, 0.5)),  # as rendered
        ("big", (0.38, 0.28, 0.62, 0.52)),  # 20% bigger about the centre
        ("small", (0.42, 0.32, 0.58, 0.48)),  # 20% smaller
        ("shift-x", (0.43, 0.3, 0.63, 0.5)),  # 0.15 box widths right
        ("shift-y", (0.4, 0.33, 0.6, 0.53)),  # 0.15 box heights down
    ],
)
def test_calibration_errors(calib, expect):
    assert clips.calibration_box((0.4, 0.3, 0.6, 0.5), (640, 480), 0.0, calib) == pytest.approx(
        expect
    )


def test_tilt_makes_the_tummy_a_trapezoid():
    h = clips.tilt_homography((640, 480), 35.0)
    box = np.array([[256, 144], [384, 144], [384, 288], [256, 288]], dtype=float)
    q = clips.warp_points(h, box)
    top, bottom = q[1, 0] - q[0, 0], q[2, 0] - q[3, 0]
    assert top < bottom < 128  # the far side is narrower; the whole box smaller
    assert clips.warp_points(h, np.array([[0.0, 480.0], [640.0, 480.0]])) == pytest.approx(
        np.array([[0.0, 480.0], [640.0, 480.0]])
    )  # the near edge stays


def test_clip_set_covers_the_conditions():
    specs = clips.clip_set()
    assert len(specs) >= 150
    tags = {c for s in specs for c in s.conditions}
    for want in (
        "hand:real-cutout",
        "rest:doll",
        "rest:beside",
        "rest:legs",
        "swap-hands",
        "motion:real",
        "doll:pale",
        "doll:dark",
        "low-res",
        "dim",
        "blur",
        "mirrored",
        "head:down",
        "head:left",
        "head:right",
        "tilt:35",
        "calib:big",
        "calib:small",
        "calib:shift-x",
        "turn:30",
        "noise:jitter-0.15",
        "skin:dark",
    ):
        assert want in tags, want
    assert {s.stroke for s in specs} == {"i-love-you", "sun", "sun-moon", "water-wheel"}
    assert {s.fault for s in specs} >= {
        "none",
        "reversed",
        "fast",
        "slow",
        "incomplete",
        "off_path",
    }
    assert 15 <= len(clips.fast_subset()) <= 22


def test_a_variant_draws_every_clip_again_with_other_seeds():
    specs = clips.clip_set()
    assert clips.variant(specs, 0) == specs  # variant 0 is the set itself
    again = clips.variant(specs, 2)
    assert [s.seed for s in again] == [s.seed + 2000 for s in specs]
    # Same conditions and truths, but every clip (and so every cached file) is new.
    assert [s.conditions for s in again] == [s.conditions for s in specs]
    assert not {s.name for s in again} & {s.name for s in specs}
    assert len({s.name for s in again}) == len(specs)
    # The baseline I Love You, seed 0 -> 2000 (drawn hand: no cache needed): the same
    # stroke and repetitions, another timing wobble.
    ta, tb = (clips.make_sample(s, Path("unused")).truth for s in (specs[0], again[0]))
    assert (ta.stroke, len(ta.repetitions)) == (tb.stroke, len(tb.repetitions))
    same_path = ta.contact_uv.shape == tb.contact_uv.shape and np.allclose(
        ta.contact_uv, tb.contact_uv, equal_nan=True
    )
    assert not same_path


def test_perturbations_move_whole_hands_in_box_units():
    from coach.core.bodyframe import BodyFrame
    from coach.core.types import HandObservation

    frame = BodyFrame.from_box((0.25, 0.25, 0.75, 0.75), "up", False, (400, 400))
    lm = np.zeros((2, 21, 3))
    lm[:, :, :2] = 0.5
    recs = [(0.0, HandObservation(0.0, lm, np.ones(2), (400, 400))), (0.1, None)]
    out = clips.perturb_observations(recs, "bias-0.20-feet", frame, seed=1)
    # head up: the feet are down the picture; 0.2 box of a box half the frame = 0.1 frame
    assert out[0][1].landmarks[:, :, 1] == pytest.approx(0.6)
    assert out[0][1].landmarks[:, :, 0] == pytest.approx(0.5)
    assert out[1][1] is None
    side = clips.perturb_observations(recs, "bias-0.25-side", frame, seed=1)
    # u runs from the baby's right to its left: on screen (head up) from left to right
    assert np.abs(side[0][1].landmarks[:, :, 0] - 0.5) == pytest.approx(0.125)
    jit = clips.perturb_observations(recs * 200, "jitter-0.10", frame, seed=1)
    dx = np.array([o.landmarks[0, 0, 0] - 0.5 for _, o in jit if o is not None])
    assert dx.std() == pytest.approx(0.05, rel=0.15)  # 0.1 box = 0.05 frame
    again = clips.perturb_observations(recs * 200, "jitter-0.10", frame, seed=1)
    assert all(
        np.array_equal(a[1].landmarks, b[1].landmarks)
        for a, b in zip(jit, again, strict=True)
        if a[1] is not None
    )  # deterministic
