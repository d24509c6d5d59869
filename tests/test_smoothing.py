"""One-euro filter (reference values, hand-computed steps, properties) and the hand tracker."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from coach.core.bodyframe import BodyFrame
from coach.core.smoothing import ContactSmoother, JitterEstimator, OneEuroFilter, smoothing_alpha
from coach.core.types import HandObservation

TWO_PI = 2.0 * math.pi

# First rows of groundTruth.csv in the authors' repository (github.com/casiez/OneEuroFilter,
# commit 56126d8), produced by their C++ implementation with freq 120 Hz, mincutoff 1 Hz,
# beta 0.1, dcutoff 1 Hz. The file prints 6 significant digits and its generator fed
# the unrounded values, so we match to 1e-5 (the authors' own check allows 1e-3).
# Columns: timestamp, noisy input, filtered output.
CASIEZ_GROUND_TRUTH = [
    (0.0, -0.0385099, -0.0385099),
    (0.00833333, -0.0280664, -0.0379872),
    (0.0166667, 0.048622, -0.0334427),
    (0.025, 0.111498, -0.0252696),
    (0.0333333, 0.053026, -0.0207099),
    (0.0416667, 0.120548, -0.0119912),
    (0.05, 0.00972308, -0.0106507),
    (0.0583333, 0.074193, -0.00526521),
    (0.0666667, -0.0236801, -0.00641239),
    (0.075, 0.0462396, -0.00308863),
    (0.0833333, 0.0892027, 0.00291027),
    (0.0916667, 0.158329, 0.0135545),
    (0.1, 0.0423086, 0.01552),
    (0.108333, 0.0887203, 0.0206024),
    (0.116667, 0.039102, 0.0218784),
    (0.125, 0.140277, 0.030313),
    (0.133333, 0.156938, 0.0396331),
    (0.141667, 0.0961089, 0.0438101),
    (0.15, 0.216881, 0.0572083),
    (0.158333, 0.067538, 0.057997),
    (0.166667, 0.0737634, 0.0591871),
    (0.175, 0.0989231, 0.0621793),
    (0.183333, 0.148209, 0.0687489),
    (0.191667, 0.0959887, 0.0708137),
    (0.2, 0.225627, 0.0829925),
    (0.208333, 0.292078, 0.100305),
    (0.216667, 0.185221, 0.107391),
    (0.225, 0.133595, 0.109553),
    (0.233333, 0.216387, 0.118501),
    (0.241667, 0.316189, 0.135759),
]


# -- OneEuroFilter ------------------------------------------------------------------------------


def test_matches_authors_ground_truth():
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.1, d_cutoff_hz=1.0)
    for t, noisy, expected in CASIEZ_GROUND_TRUTH:
        out = float(f.filter(noisy, t))
        assert out == pytest.approx(expected, abs=1e-5)


def test_ground_truth_vectorised():
    """Every element is filtered on its own: two identical columns give the same outputs."""
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.1, d_cutoff_hz=1.0)
    for t, noisy, expected in CASIEZ_GROUND_TRUTH:
        out = f.filter(np.array([[noisy, noisy]]), t)
        assert out.shape == (1, 2)
        assert out[0, 0] == out[0, 1] == pytest.approx(expected, abs=1e-5)


def test_hand_computed_beta_zero():
    # cutoff 1/(2 pi) Hz -> tau = 1 s; dt = 1 s -> alpha = 1/2; dt = 0.5 s -> alpha = 1/3
    f = OneEuroFilter(min_cutoff_hz=1 / TWO_PI, beta=0.0)
    assert float(f.filter(0.0, 0.0)) == 0.0  # first sample passes through
    assert float(f.filter(1.0, 1.0)) == pytest.approx(0.5, rel=1e-12)
    assert float(f.filter(1.0, 2.0)) == pytest.approx(0.75, rel=1e-12)
    assert float(f.filter(1.0, 2.5)) == pytest.approx(0.75 + 0.25 / 3, rel=1e-12)


def test_hand_computed_with_beta():
    """min and d cutoff 1/(2 pi) Hz (alpha_d = 1/2 at dt = 1 s), beta = 3/(2 pi) per unit/s.

    t=0: x=0 -> 0 (passes through), dx_hat = 0.
    t=1: x=2: dx = 2, dx_hat = 1, cutoff*2pi = 1 + 3*1 = 4, tau = 1/4, alpha = 4/5 -> 1.6.
    t=2: x=2: dx = 0.4, dx_hat = 0.7, cutoff*2pi = 3.1, alpha = 3.1/4.1 -> 2 - 0.4/4.1.
    t=3: x=2: dx = 0.4/4.1, dx_hat = 1.635/4.1, cutoff*2pi = 9.005/4.1,
         alpha = 9.005/13.105 -> 2 - (0.4/4.1)(4.1/13.105) = 2 - 0.4/13.105.
    """
    f = OneEuroFilter(min_cutoff_hz=1 / TWO_PI, beta=3 / TWO_PI, d_cutoff_hz=1 / TWO_PI)
    expected = [0.0, 1.6, 2 - 0.4 / 4.1, 2 - 0.4 / 13.105]
    outputs = [float(f.filter(x, t)) for t, x in enumerate([0.0, 2.0, 2.0, 2.0])]
    assert outputs == pytest.approx(expected, rel=1e-12)


def test_smoothing_alpha():
    assert smoothing_alpha(1 / TWO_PI, 1.0) == pytest.approx(0.5)
    assert smoothing_alpha(1 / TWO_PI, 3.0) == pytest.approx(0.75)


def test_constant_signal_stays_constant():
    f = OneEuroFilter(1.0, 0.7, 1.0)
    x = np.array([0.3, -2.0, 5.5])
    for i in range(100):
        assert np.array_equal(f.filter(x, i / 30), x)


def test_step_is_smoothed_then_converges():
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    f.filter(0.0, 0.0)
    outs = [float(f.filter(1.0, (i + 1) / 30)) for i in range(150)]
    assert 0.0 < outs[0] < 0.5  # no jump to the new value
    assert all(b > a for a, b in zip(outs, outs[1:], strict=False))  # monotone approach
    assert outs[-1] == pytest.approx(1.0, abs=1e-6)  # 5 s later it has arrived


def test_higher_beta_less_lag():
    """A ramp at 1 unit/s: the lag behind the input shrinks as beta grows."""
    lags = []
    for beta in (0.0, 0.5, 5.0):
        f = OneEuroFilter(min_cutoff_hz=1.0, beta=beta)
        for i in range(90):
            t = i / 30
            out = float(f.filter(t, t))
        lags.append(t - out)
    assert lags[0] > lags[1] > lags[2] > 0
    # beta = 0: steady-state lag of a first-order filter is about tau = 1/(2 pi) s.
    assert lags[0] == pytest.approx(1 / TWO_PI, rel=0.25)


@pytest.mark.parametrize("dt", [0.0, -0.1])  # repeated timestamp; timestamp going backwards
def test_non_increasing_time_returns_previous_output(dt):
    f = OneEuroFilter(1.0, 0.0)
    f.filter(0.0, 1.0)
    prev = float(f.filter(1.0, 1.1))
    assert float(f.filter(100.0, 1.1 + dt)) == prev
    # state unchanged: the next sample behaves as if the bad one never came
    g = OneEuroFilter(1.0, 0.0)
    g.filter(0.0, 1.0)
    g.filter(1.0, 1.1)
    assert float(f.filter(1.0, 1.2)) == float(g.filter(1.0, 1.2))


def test_reset_and_shape_check():
    f = OneEuroFilter()
    assert f.value is None
    f.filter(np.zeros(2), 0.0)
    with pytest.raises(ValueError, match=r"expected samples of shape \(2,\), found \(3,\)"):
        f.filter(np.zeros(3), 0.1)
    f.reset()
    assert np.array_equal(f.filter(np.ones(3), 0.2), np.ones(3))  # passes through again


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_cutoff_hz": 0.0}, "min_cutoff_hz: expected a finite number > 0"),  # zero cutoff
        ({"min_cutoff_hz": float("nan")}, "min_cutoff_hz: expected"),  # nan cutoff
        ({"beta": -1.0}, "beta: expected a finite number >= 0"),  # negative beta
        ({"d_cutoff_hz": -2.0}, "d_cutoff_hz: expected a finite number > 0"),  # negative
    ],
)
def test_filter_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OneEuroFilter(**kwargs)


def test_filter_rejects_nan_timestamp():
    with pytest.raises(ValueError, match="timestamp_s: expected a finite number"):
        OneEuroFilter().filter(1.0, float("nan"))


# -- ContactSmoother ----------------------------------------------------------------------------

# Tummy box (0.2, 0.2)-(0.6, 0.6), head up: u = (x - 0.4) / 0.4 + 0.5, v likewise with y.
BOX = (0.2, 0.2, 0.6, 0.6)
FINGERTIPS = [8, 12, 16, 20]
PALM = [0, 5, 9, 13, 17]


def box_frame() -> BodyFrame:
    return BodyFrame.from_box(BOX, head="up")


def hand(x: float, y: float, palm_xy: tuple[float, float] | None = None) -> np.ndarray:
    """(21, 3) landmarks: fingertips at (x, y); palm landmarks at palm_xy (default (x, y))."""
    lm = np.zeros((21, 3))
    lm[:, :2] = (x, y)
    if palm_xy is not None:
        lm[PALM, :2] = palm_xy
    return lm


def observe(t: float, *hands_xy: tuple[float, float], scores=None) -> HandObservation:
    lms = np.stack([hand(x, y) for x, y in hands_xy])
    sc = np.ones(len(hands_xy)) if scores is None else np.asarray(scores, float)
    return HandObservation(timestamp_s=t, landmarks=lms, scores=sc, image_size=(640, 480))


def xy_of(uv: tuple[float, float]) -> tuple[float, float]:
    """Image point of a tummy-box point for BOX head up."""
    return (0.4 + (uv[0] - 0.5) * 0.4, 0.4 + (uv[1] - 0.5) * 0.4)


def test_still_hand_maps_exactly():
    tracker = ContactSmoother(box_frame(), "fingertips")
    for i in range(30):
        p = tracker.update(observe(i / 30, (0.3, 0.5)), i / 30)
        # u = (0.3 - 0.4) / 0.4 + 0.5 = 0.25; v = (0.5 - 0.4) / 0.4 + 0.5 = 0.75
        assert p.uv.tolist() == pytest.approx([0.25, 0.75], abs=1e-12)
        assert p.xy.tolist() == pytest.approx([0.3, 0.5], abs=1e-12)
        assert p.hands_uv.shape == (1, 2) and not p.bridged
        assert p.timestamp_s == i / 30
    assert tracker.seen == (True,) and tracker.slot_ids == (0,)


def test_dropout_bridged_then_lost():
    tracker = ContactSmoother(box_frame(), "fingertips", max_gap_s=0.35)
    assert tracker.update(None, 0.0) is None  # nothing seen yet: nothing to bridge
    last = tracker.update(observe(1.0, (0.3, 0.5)), 1.0)
    for t in (1.1, 1.2, 1.3, 1.35):  # gaps up to max_gap_s: hold the last point
        p = tracker.update(None, t)
        assert p.bridged and p.timestamp_s == t
        assert np.array_equal(p.uv, last.uv) and np.array_equal(p.xy, last.xy)
    assert tracker.update(None, 1.4) is None  # 0.4 s > max_gap_s: lost
    assert tracker.update(None, 1.5) is None
    # A hand seen again starts fresh: it passes through even far away (no smoothing across)
    p = tracker.update(observe(1.6, (0.5, 0.3)), 1.6)
    assert p.uv.tolist() == pytest.approx([0.75, 0.25]) and not p.bridged


def test_two_hands_crossing_keep_slots():
    """Hand A moves right along v = 0.3, hand B left along v = 0.7 (always >= 0.4 apart).
    MediaPipe's hand order is arbitrary, so the order alternates every frame."""
    tracker = ContactSmoother(box_frame(), "fingertips")
    for i in range(61):
        t = i / 30
        a_uv = (0.2 + 0.6 * i / 60, 0.3)
        b_uv = (0.8 - 0.6 * i / 60, 0.7)
        order = (xy_of(a_uv), xy_of(b_uv)) if i % 2 == 0 else (xy_of(b_uv), xy_of(a_uv))
        p = tracker.update(observe(t, *order), t)
        assert p.hands_uv.shape == (2, 2)
        assert abs(p.hands_uv[0, 1] - 0.3) < 1e-9 and abs(p.hands_uv[1, 1] - 0.7) < 1e-9
        assert abs(p.hands_uv[0, 0] - a_uv[0]) < 0.05  # smoothing lag only
        assert np.array_equal(p.uv, p.hands_uv[0])
    assert tracker.slot_ids == (0, 1)


def test_one_hand_goes_to_nearest_slot_and_promotion():
    tracker = ContactSmoother(box_frame(), "fingertips", max_gap_s=0.35)
    tracker.update(observe(0.0, xy_of((0.2, 0.5)), xy_of((0.8, 0.5))), 0.0)
    assert tracker.slot_ids == (0, 1)
    # only the right-hand one (near slot 1) is seen: slot 0 is held, the point is bridged
    p = tracker.update(observe(0.1, xy_of((0.78, 0.5))), 0.1)
    assert tracker.seen == (False, True) and p.bridged
    assert p.uv.tolist() == pytest.approx([0.2, 0.5])
    assert p.hands_uv[1, 0] < 0.8
    # slot 0 unseen for more than max_gap_s: freed, slot 1 becomes the primary
    p = tracker.update(observe(0.4, xy_of((0.7, 0.5))), 0.4)
    assert tracker.slot_ids == (1,) and tracker.seen == (True,)
    assert p.hands_uv.shape == (1, 2) and not p.bridged
    assert 0.7 <= p.uv[0] < 0.78
    # a new hand takes a fresh slot id behind the primary
    tracker.update(observe(0.5, xy_of((0.7, 0.5)), xy_of((0.1, 0.1))), 0.5)
    assert tracker.slot_ids == (1, 2)


def test_more_hands_than_slots_keeps_best_scores():
    tracker = ContactSmoother(box_frame(), "fingertips", max_hands=1)
    hands = (xy_of((0.1, 0.1)), xy_of((0.5, 0.5)), xy_of((0.9, 0.9)))
    p = tracker.update(observe(0.0, *hands, scores=[0.5, 0.9, 0.7]), 0.0)
    assert p.hands_uv.shape == (1, 2) and p.uv.tolist() == pytest.approx([0.5, 0.5])


@pytest.mark.parametrize(
    ("second_uv", "scores", "want_uv"),
    [
        # the box is 0.4 image widths: 0.02 box = 0.008 in the picture
        ((0.52, 0.5), (0.9, 0.8), [(0.5, 0.5)]),  # 0.02 box apart: one hand, the better score
        ((0.52, 0.5), (0.8, 0.9), [(0.52, 0.5)]),  # ... whichever of the two that is
        ((0.5, 0.55), (0.9, 0.8), [(0.5, 0.5)]),  # 0.05 box apart: still one hand
        ((0.5, 0.57), (0.9, 0.8), [(0.5, 0.5), (0.5, 0.57)]),  # 0.07 box: two hands
        ((0.8, 0.5), (0.9, 0.8), [(0.5, 0.5), (0.8, 0.5)]),  # far apart: two hands
    ],
)
def test_a_hand_seen_twice_is_one_hand(second_uv, scores, want_uv):
    """Where two hands overlap a landmarker may return one of them twice; two contact
    points closer than SAME_HAND_BOX (0.06 box) are one hand (the better-scored copy)."""
    tracker = ContactSmoother(box_frame(), "fingertips")
    p = tracker.update(observe(0.0, xy_of((0.5, 0.5)), xy_of(second_uv), scores=scores), 0.0)
    np.testing.assert_allclose(p.hands_uv, np.array(want_uv), atol=1e-9)
    assert len(tracker.slot_ids) == len(want_uv)


@pytest.mark.parametrize(
    ("contact", "expected_uv"),
    [
        ("fingertips", (0.75, 0.25)),  # fingertips at image (0.5, 0.3)
        ("palm", (0.25, 0.75)),  # palm landmarks at image (0.3, 0.5)
    ],
)
def test_contact_kind(contact, expected_uv):
    lm = hand(0.5, 0.3, palm_xy=(0.3, 0.5))
    obs = HandObservation(0.0, lm[None], np.ones(1), (640, 480))
    p = ContactSmoother(box_frame(), contact).update(obs, 0.0)
    assert p.uv.tolist() == pytest.approx(expected_uv)


def test_set_body_frame_uses_new_mapping():
    tracker = ContactSmoother(box_frame(), "fingertips")
    tracker.update(observe(0.0, (0.3, 0.5)), 0.0)
    tracker.set_body_frame(BodyFrame.from_box((0.0, 0.0, 1.0, 1.0)))  # whole image
    p = tracker.update(observe(0.1, (0.3, 0.5)), 0.1)
    assert p.uv.tolist() == pytest.approx([0.3, 0.5])  # no smoothing across calibrations
    assert tracker.update(None, 0.2).bridged


def test_moving_hand_is_smoothed_not_jumping():
    tracker = ContactSmoother(box_frame(), "fingertips")
    tracker.update(observe(0.0, xy_of((0.2, 0.5))), 0.0)
    p = tracker.update(observe(1 / 30, xy_of((0.4, 0.5))), 1 / 30)
    assert 0.2 < p.uv[0] < 0.4


def test_reset_forgets_hands():
    tracker = ContactSmoother(box_frame(), "palm")
    tracker.update(observe(0.0, (0.3, 0.5)), 0.0)
    tracker.reset()
    assert tracker.update(None, 0.01) is None and tracker.slot_ids == ()


def test_constant_work_per_frame():
    """State stays bounded over a long session: no per-frame history is kept."""
    tracker = ContactSmoother(box_frame(), "fingertips")

    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            t = i / 30
            phase = i % 90
            if phase < 60:
                obs = observe(t, (0.3 + 0.001 * phase, 0.5), (0.5, 0.3))
            elif phase < 70:
                obs = observe(t, (0.3, 0.5))
            else:
                obs = None  # 20 frames: bridged, then lost
            tracker.update(obs, t)
            assert len(tracker.slot_ids) <= 2

    run(0, 300)
    size_early = len(pickle.dumps(tracker))
    run(300, 3600)  # 40 cycles later, same phase of the 90-frame cycle
    assert len(pickle.dumps(tracker)) <= size_early + 16  # only the id counter may grow
    assert tracker._next_ident <= 3 * 3900 // 90 + 3  # ids grow only per new hand


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"contact": "thumb"}, "contact: expected 'fingertips' or 'palm'"),  # unknown contact
        ({"max_hands": 0}, "max_hands: expected an integer from 1 to 4"),  # no hands
        ({"max_hands": 2.0}, "max_hands: expected an integer"),  # float count
        ({"max_gap_s": -0.1}, "max_gap_s: expected a finite number >= 0"),  # negative gap
        ({"min_cutoff_hz": 0}, "min_cutoff_hz: expected a finite number > 0"),  # zero cutoff
        ({"settle_s": -0.2}, "settle_s: expected a finite number >= 0"),  # negative settling
        ({"settle_s": float("nan")}, "settle_s: expected a finite number >= 0"),  # not a number
    ],
)
def test_tracker_rejects_bad_settings(kwargs, message):
    args = {"body_frame": box_frame(), "contact": "fingertips", **kwargs}
    with pytest.raises(ValueError, match=message):
        ContactSmoother(**args)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], 0.0),  # still: no jitter
        ([0.0, 0.1, 0.2, 0.3, 0.4], 0.0),  # steady motion: second differences are 0
        ([0.0, 0.01, 0.04, 0.09, 0.16], 0.02 / math.sqrt(6)),  # constant acceleration
        # alternating 0, a: second differences are -+2a, so sigma = 2a / sqrt(6)
        ([0.0, 0.1, 0.0, 0.1, 0.0, 0.1], 0.2 / math.sqrt(6)),
    ],
)
def test_jitter_from_second_differences(points, expected):
    """Equal time steps, so every second difference is weighted the same."""
    est = JitterEstimator(tau_s=1e9)  # no forgetting: a plain mean of the squares
    for i, x in enumerate(points):
        est.update(np.array([x, 0.0]), i / 30)
    assert est.sigma == pytest.approx(expected, abs=1e-9)


def test_jitter_skips_a_dropped_frame():
    """A step twice as long as the one before is not a jitter sample (dt ratio 2 is the
    limit, 3 is past it)."""
    est = JitterEstimator(tau_s=1e9)
    for x, t in ((0.0, 0.0), (0.1, 1 / 30), (0.5, 4 / 30)):
        est.update(np.array([x, 0.0]), t)
    assert est.sigma == 0.0


@pytest.mark.parametrize(
    ("jitter_box", "min_cutoff_hz", "beta"),
    [
        (0.0, 1.5, 0.5),  # clean: the clean settings
        (0.1, 0.7, 0.1),  # far past noise_box[1]: the noisy settings
    ],
)
def test_jittery_hands_are_smoothed_harder(jitter_box, min_cutoff_hz, beta):
    rng = np.random.default_rng(0)
    tracker = ContactSmoother(box_frame(), "fingertips")
    for i in range(90):
        t = i / 30
        uv = (0.5 + jitter_box * rng.normal(), 0.5 + jitter_box * rng.normal())
        tracker.update(observe(t, xy_of(uv)), t)
    filt = tracker._slots[0].filt
    assert (filt.min_cutoff_hz, filt.beta) == pytest.approx((min_cutoff_hz, beta))


def test_track_reports_each_hands_jitter():
    """The track point carries each hand's measured jitter (box widths), for the matcher:
    a hand whose point alternates 0.1 box to and fro has second differences of 0.2, so
    0.2 / sqrt(6) of jitter (see test_jitter_from_second_differences)."""
    tracker = ContactSmoother(box_frame(), "fingertips")
    track = None
    for i in range(6):
        t = i / 30
        track = tracker.update(observe(t, xy_of((0.5 + 0.1 * (i % 2), 0.5))), t)
    assert track is not None
    assert track.hands_jitter_box == pytest.approx([tracker._slots[0].jitter.sigma])
    assert track.hands_jitter_box[0] == pytest.approx(0.2 / math.sqrt(6), rel=0.05)


@pytest.mark.parametrize(
    ("warm_up", "want"),
    [
        # the n-th sample weighs at least 1 / (n + 1): the running mean of 10, 0, 0, 0
        (True, [10.0, 5.0, 10 / 3, 2.5]),
        # as in the paper: the first sample passes through and is remembered (a cutoff of
        # 0.01 Hz at 30 fps keeps 99.8% of it per frame)
        (False, [10.0, 9.979, 9.958, 9.937]),
    ],
)
def test_warm_up_averages_the_first_samples(warm_up, want):
    f = OneEuroFilter(min_cutoff_hz=0.01, beta=0.0, warm_up=warm_up)
    got = [float(f.filter(x, i / 30)) for i, x in enumerate([10.0, 0.0, 0.0, 0.0])]
    assert got == pytest.approx(want, abs=1e-3)


def test_a_first_sight_far_off_does_not_hold_the_hand_off():
    """A landmarker's first sight of a hand sits 0.3 box off the hand, which then rests at
    (0.5, 0.5): the first frames average it away, 0.3 / (n + 1) after n more frames (the
    jump reads as jitter: the jittery settings, 0.7 Hz, are slower than that). Without
    the warm-up 0.096 was left after 5 frames, and a hand resting at a stroke's start
    seemed to move along it for a third of a second."""
    tracker = ContactSmoother(box_frame(), "fingertips")
    tracker.update(observe(0.0, xy_of((0.5, 0.2))), 0.0)
    offs = []
    for n in range(1, 6):
        p = tracker.update(observe(n / 30, xy_of((0.5, 0.5))), n / 30)
        offs.append(0.5 - p.uv[1])
    assert offs == pytest.approx([0.3 / (n + 1) for n in range(1, 6)], abs=1e-9)


def test_a_hand_just_found_is_reported_once_settled():
    """settle_s 0.2 at 30 fps: a hand first seen at t = 1.0 is reported from t = 1.2 on
    (frames 1.0 .. 1.167 give no track point, slots or seen), its point then already
    averaged over the frames before (the first sight, 0.3 box off, weighs 1/7 at most)."""
    tracker = ContactSmoother(box_frame(), "fingertips", settle_s=0.2)
    tracker.update(observe(1.0, xy_of((0.5, 0.2))), 1.0)
    assert tracker.slot_ids == () and tracker.seen == ()
    points = [
        tracker.update(observe(1 + n / 30, xy_of((0.5, 0.5))), 1 + n / 30) for n in range(1, 9)
    ]
    assert points[:5] == [None] * 5  # 1.033 .. 1.167: still settling
    first = points[5]  # 1.2: six frames after the first sight
    assert first is not None and first.timestamp_s == pytest.approx(1.2)
    assert 0 < 0.5 - first.uv[1] <= 0.3 / 7
    assert tracker.slot_ids == (0,) and tracker.seen == (True,)


def test_a_second_hand_is_reported_after_the_first_once_settled():
    """The followed hand goes on being reported while a new one settles; the new one then
    joins as the second slot."""
    tracker = ContactSmoother(box_frame(), "fingertips", settle_s=0.2)
    for n in range(9):  # one hand from t = 0
        tracker.update(observe(n / 30, (0.3, 0.5)), n / 30)
    for n in range(9, 16):  # a second hand from t = 0.3 (settled at 0.5)
        t = n / 30
        p = tracker.update(observe(t, (0.3, 0.5), (0.5, 0.3)), t)
        want = 2 if t >= 0.5 - 1e-9 else 1
        assert p.hands_uv.shape == (want, 2) and len(tracker.slot_ids) == want
        assert p.uv.tolist() == pytest.approx([0.25, 0.75])  # the first hand stays first
    # Lost for longer than max_gap_s and seen again: settling again.
    tracker.update(None, 1.0)
    assert tracker.update(observe(1.1, (0.3, 0.5)), 1.1) is None
    assert tracker.update(None, 1.2) is None  # nothing reported: nothing to bridge
    assert tracker.update(observe(1.3, (0.3, 0.5)), 1.3) is not None
