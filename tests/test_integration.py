"""End to end on generated clips with ground truth: render -> `coach score` path -> verdicts.

The clips show a rendered doll and hand (coach.samples.synth); MediaPipe really tracks the
hand, so this covers video decoding, landmarks, smoothing, the body frame, the
matcher, scoring and the report together. The verdict must match the fault.
"""

from __future__ import annotations

import pytest

from coach.core.bodyframe import BodyFrame, parse_box
from coach.core.strokes import load_stroke
from coach.services.offline import score_video

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def landmarker(model_path):
    """Hand landmarkers as `coach score` makes them: as many hands as the stroke uses."""
    from coach.vision.mediapipe_landmarker import HandLandmarker

    made = {}
    yield lambda hands: made.setdefault(hands, HandLandmarker(model_path, num_hands=hands))
    for lm in made.values():
        lm.close()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return tmp_path_factory.mktemp("clips")


def score_sample(clips, landmarker, stroke_id, **options):
    from coach.samples.synth import render_sample

    name = "-".join([stroke_id, *(f"{k}={v}" for k, v in sorted(options.items()))])
    for ch in " (),":
        name = name.replace(ch, "_")
    path = clips / f"{name}.mp4"
    truth = render_sample(stroke_id, path, **options)
    args = dict(zip(truth.cli_args[::2], truth.cli_args[1::2], strict=False))
    box = parse_box(args["--tummy"])
    head = args.get("--head", "up")
    mirrored = "--mirrored" in truth.cli_args
    stroke = load_stroke(stroke_id)
    report, _ = score_video(
        str(path),
        stroke,
        lambda size: BodyFrame.from_box(box, head, mirrored, size),
        landmarker=landmarker(max(1, stroke.hands)),
    )
    return report, truth


def flags_of(report):
    return [set(r["flags"]) for r in report["repetitions"]]


@pytest.mark.parametrize(
    "options",
    [
        {},  # upright, 640x480, 30 fps, light skin
        {"head": "left", "mirrored": True, "skin": "dark"},  # rotated + selfie mirror, dark skin
        {"head": "down", "size": (480, 640), "fps": 25.0},  # portrait clip at 25 fps, upside down
        {"head": "right", "fps": 29.97, "size": (1280, 720)},  # HD at NTSC rate
    ],
)
def test_correct_i_love_you_has_no_flags_from_any_view(clips, landmarker, options):
    report, truth = score_sample(clips, landmarker, "i-love-you", **options)
    assert report["tracking"]["detection_rate"] > 0.9
    assert len(report["repetitions"]) == len(truth.repetitions)
    assert flags_of(report) == [set(), set()]
    assert report["summary"]["score"] >= 85


@pytest.mark.parametrize(
    ("fault", "expected", "repetitions"),
    [
        ("fast", {"too_fast"}, 2),  # three times faster than nominal
        ("slow", {"too_slow"}, 1),  # three times slower (one repetition keeps the clip short)
        ("jerky", {"jerky"}, 2),  # stop-and-go along the path
        ("incomplete", {"incomplete"}, 2),  # every letter stops half way
    ],
)
def test_faulty_i_love_you_is_named(clips, landmarker, fault, expected, repetitions):
    report, _ = score_sample(clips, landmarker, "i-love-you", fault=fault, repetitions=repetitions)
    assert len(report["repetitions"]) == repetitions
    for flags in flags_of(report):
        assert flags == expected


def test_reversed_i_love_you_is_wrong_direction_in_every_repetition(clips, landmarker):
    report, _ = score_sample(clips, landmarker, "i-love-you", fault="reversed", mirrored=True)
    assert len(report["repetitions"]) >= 2
    assert all("wrong_direction" in f for f in flags_of(report))
    assert all(r["pace"] == "ok" for r in report["repetitions"])


def test_i_love_you_in_the_wrong_place_is_off_path(clips, landmarker):
    report, _ = score_sample(clips, landmarker, "i-love-you", fault="off_path", repetitions=3)
    assert all("off_path" in f for f in flags_of(report))
    assert flags_of(report)[-1] == {"off_path"}


def test_hand_out_of_the_picture_is_no_hand(clips, landmarker):
    report, _ = score_sample(clips, landmarker, "i-love-you", fault="no_hand")
    assert report["summary"]["flags"]["no_hand"] >= 1


@pytest.mark.parametrize(
    ("options", "direction"),
    [
        ({}, "ok"),  # clockwise circles
        ({"fault": "reversed", "head": "down"}, "wrong"),  # anticlockwise, head at the bottom
        ({"fault": "reversed", "mirrored": True, "head": "right"}, "wrong"),  # and mirrored
    ],
)
def test_sun_direction(clips, landmarker, options, direction):
    report, _ = score_sample(clips, landmarker, "sun", **options)
    assert len(report["repetitions"]) >= 2
    assert {r["direction"] for r in report["repetitions"]} == {direction}
    assert all(r["pace"] == "ok" for r in report["repetitions"])


def test_water_wheel_paddles_of_both_hands(clips, landmarker):
    report, _ = score_sample(clips, landmarker, "water-wheel")
    assert len(report["repetitions"]) >= 3
    assert all(r["direction"] == "ok" for r in report["repetitions"])


def test_report_follows_the_contract(clips, landmarker):
    report, _ = score_sample(clips, landmarker, "i-love-you", fault="fast")
    assert report["schema"] == "coach.report/1"
    assert report["video"]["frames"] > 0 and report["video"]["fps"] == pytest.approx(30.0)
    assert any(h["code"] == "too_fast" for h in report["hints"])


@pytest.mark.parametrize(
    ("fault", "direction"),
    [
        ("none", "ok"),  # sun circles with one hand, moon arcs with the other
        ("reversed", "wrong"),  # both hands anticlockwise
    ],
)
def test_sun_and_moon_counts_the_sun_hand(clips, landmarker, fault, direction):
    report, _ = score_sample(clips, landmarker, "sun-moon", fault=fault)
    assert len(report["repetitions"]) >= 2
    assert {r["direction"] for r in report["repetitions"]} == {direction}
