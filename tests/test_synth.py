"""Tests for coach.samples.synth: the sample generator and its ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coach.cli.samples import main_samples
from coach.core.contact import FINGERTIP_LANDMARKS, PALM_LANDMARKS
from coach.core.strokes import load_stroke
from coach.samples import synth
from coach.samples.choreography import (
    INCOMPLETE_FRACTION,
    NO_HAND_S,
    OFF_PATH_SHIFT_BOX,
    performed_path,
)
from coach.samples.synth import (
    Sample,
    ensure_sample,
    iter_sample_frames,
    render_sample,
)
from coach.samples.truth import DURATION_FACTORS, FAULTS, SampleTruth, truth_path

STROKES = ("i-love-you", "sun", "sun-moon", "water-wheel")
SMALL = (320, 240)  # small frames keep the suite fast; geometry scales with the frame


def shoelace(points: np.ndarray) -> float:
    """Signed area; positive is clockwise in the body frame (v points down), strokes.md s1."""
    u, v = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(u * np.roll(v, -1) - np.roll(u, -1) * v))


def moving_uv(truth: SampleTruth, start_s: float, end_s: float, hand: int) -> np.ndarray:
    """The truth contact path of ``hand`` while it moves between ``start_s`` and ``end_s``."""
    t = truth.timestamps_s
    sel = (t >= start_s) & (t <= end_s) & truth.visible[:, hand]
    return truth.contact_uv[sel, hand]


# -- ground truth consistency ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stroke", "head", "mirrored", "size"),
    [
        ("i-love-you", "up", False, (640, 480)),  # the plain case
        ("i-love-you", "left", True, (640, 480)),  # rotated and mirrored
        ("sun", "down", False, (480, 640)),  # portrait
        ("sun-moon", "right", True, (1280, 720)),  # two hands, HD, mirrored
        ("water-wheel", "up", False, (640, 480)),  # palm contact, two hands
        ("water-wheel", "left", True, (480, 640)),  # palm contact, rotated, mirrored, portrait
    ],
)
def test_rendered_contact_point_is_the_truth(stroke, head, mirrored, size):
    """The mean of the rendered hand's contact landmarks is the truth uv mapped through the
    body frame a user would give (--tummy/--head/--mirrored), within 1 px."""
    sample = Sample(stroke, head=head, mirrored=mirrored, size=size, repetitions=1)
    truth = sample.truth
    frame = truth.body_frame()
    idx = list(FINGERTIP_LANDMARKS if truth.contact == "fingertips" else PALM_LANDMARKS)
    scale = np.array(size, dtype=float)
    checked = 0
    for i in range(0, sample.n_frames, 7):
        for k, lm in enumerate(sample.hand_landmarks(i)):
            if lm is None:
                assert not truth.visible[i, k]
                continue
            expected_px = frame.to_xy(truth.contact_uv[i, k]) * scale
            assert np.linalg.norm(lm[idx].mean(axis=0) * scale - expected_px) < 1.0
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("mirrored", [False, True])  # the picture as stored, either way
def test_hand_is_drawn_where_its_landmarks_are(mirrored):
    """Pixels at the rendered fingertip landmarks differ from the empty scene."""
    sample = Sample("sun", mirrored=mirrored, size=SMALL, repetitions=1)
    background = sample.scene.background()
    if mirrored:
        background = background[:, ::-1]
    w, h = SMALL
    for i in (0, 60, 120):
        image = sample.render(i)
        (lm,) = sample.hand_landmarks(i)
        for tip in FINGERTIP_LANDMARKS:
            x, y = int(lm[tip, 0] * w), int(lm[tip, 1] * h)
            assert np.abs(image[y, x].astype(int) - background[y, x].astype(int)).sum() > 30


@pytest.mark.parametrize("fault", ["none", "fast", "slow", "incomplete", "jerky", "reversed"])
def test_segment_durations_follow_the_fault(fault):
    """Moving time over nominal is the fault's factor, within the human-like jitter."""
    factor = DURATION_FACTORS.get(fault, 1.0) * (
        INCOMPLETE_FRACTION if fault == "incomplete" else 1
    )
    for stroke in STROKES:
        truth = Sample(stroke, fault=fault, repetitions=2).truth
        assert len(truth.repetitions) == (4 if stroke == "water-wheel" else 2)
        for rep in truth.repetitions:
            for seg in rep.segments:
                ratio = seg.duration_s / seg.nominal_s
                assert factor * 0.94 < ratio < factor * 1.06, (stroke, seg)
            assert rep.duration_s == pytest.approx(sum(s.duration_s for s in rep.segments))
            speed = 1.0 / DURATION_FACTORS.get(fault, 1.0)
            assert rep.speed_ratio == pytest.approx(speed, rel=0.06)


@pytest.mark.parametrize(
    ("fault", "direction", "pace", "flags"),
    [
        ("none", "ok", "ok", ()),  # correct
        ("reversed", "wrong", "ok", ("wrong_direction",)),  # backwards
        ("fast", "ok", "too_fast", ("too_fast",)),  # 3x fast
        ("slow", "ok", "too_slow", ("too_slow",)),  # 3x slow
        ("incomplete", "ok", "ok", ("incomplete",)),  # half of each path, at nominal speed
        ("off_path", "ok", "ok", ("off_path",)),  # shifted away
        ("jerky", "ok", "ok", ("jerky",)),  # stop and go
    ],
)
def test_expected_verdicts(fault, direction, pace, flags):
    truth = Sample("i-love-you", fault=fault, repetitions=1).truth
    (rep,) = truth.repetitions
    assert (rep.direction, rep.pace, rep.flags) == (direction, pace, flags)
    assert truth.expected_flags == flags
    assert truth.session_flags == ()


@pytest.mark.parametrize("stroke", ["sun", "sun-moon"])
def test_reversed_circles_run_anticlockwise(stroke):
    """Shoelace area of the sun circle: positive (clockwise) when correct, negative reversed."""
    for fault, sign in (("none", 1.0), ("reversed", -1.0)):
        truth = Sample(stroke, fault=fault, repetitions=1).truth
        seg = truth.repetitions[0].segments[0]
        area = shoelace(moving_uv(truth, seg.start_s, seg.end_s, seg.hand))
        assert sign * area > 0.3  # a full circle of radius 0.35 has area 0.385


def test_reversed_moon_and_letters_run_backwards():
    moon = Sample("sun-moon", fault="reversed", repetitions=1).truth.repetitions[0].segments[1]
    assert moon.reversed
    truth = Sample("i-love-you", fault="reversed", repetitions=1).truth
    i_letter = truth.repetitions[0].segments[0]
    path = moving_uv(truth, i_letter.start_s, i_letter.end_s, 0)
    assert path[0, 1] > 0.8 and path[-1, 1] < 0.15  # the I runs up instead of down


def test_performed_path_faults():
    circle = load_stroke("sun").segments[0]
    full = performed_path(circle, "none")
    assert np.allclose(full[0], full[-1])  # a closed segment is a full turn
    back = performed_path(circle, "reversed")
    assert np.allclose(back[0], full[0]) and shoelace(back) < 0 < shoelace(full)
    half = performed_path(load_stroke("i-love-you").segments[0], "incomplete")
    assert np.allclose(half[[0, -1]], [[0.8, 0.1], [0.8, 0.475]])  # I stops half way
    moved = performed_path(circle, "off_path", np.array([0.45, 0.0]))
    assert np.allclose(moved - full, [0.45, 0.0])


@pytest.mark.parametrize("stroke", STROKES)
def test_off_path_is_clearly_away_from_the_reference(stroke):
    defn = load_stroke(stroke)
    truth = Sample(stroke, fault="off_path", repetitions=1).truth
    assert OFF_PATH_SHIFT_BOX <= np.hypot(*truth.off_path_shift_uv) <= 0.7 + 1e-9
    ref = np.vstack([s.points for s in defn.segments])
    for seg in truth.repetitions[0].segments:
        path = moving_uv(truth, seg.start_s, seg.end_s, seg.hand)
        nearest = np.min(np.linalg.norm(path[:, None] - ref[None], axis=2), axis=1)
        assert nearest.mean() > defn.tolerances.off_path_box


def test_jerky_stops_and_goes():
    truth = Sample("i-love-you", fault="jerky", repetitions=1).truth
    seg = truth.repetitions[0].segments[2]  # the U, 5.6 s
    t = truth.timestamps_s
    sel = (t >= seg.start_s) & (t <= seg.end_s)
    speed = np.linalg.norm(np.diff(truth.contact_uv[sel, 0], axis=0), axis=1) * truth.fps
    nominal = load_stroke("i-love-you").segments[2].length_box / seg.nominal_s
    assert speed.max() > 2.0 * nominal
    stops = np.sum((speed[1:] < 0.2 * nominal) & (speed[:-1] >= 0.2 * nominal))
    assert stops >= 5


def test_no_hand_leaves_the_picture():
    sample = Sample("sun", fault="no_hand", size=SMALL, repetitions=2)
    truth = sample.truth
    assert truth.session_flags == ("no_hand",)
    ((a, b),) = truth.no_hand_spans
    assert b - a == pytest.approx(NO_HAND_S)
    inside = (truth.timestamps_s > a) & (truth.timestamps_s < b)
    assert not truth.visible[inside].any() and np.isnan(truth.contact_uv[inside]).all()
    assert truth.visible[~inside].all()
    i = int(np.flatnonzero(inside)[len(np.flatnonzero(inside)) // 2])
    assert np.array_equal(sample.render(i), sample.scene.background())
    assert len(truth.repetitions) == 2 and all(r.flags == () for r in truth.repetitions)


def test_water_wheel_next_hand_lands_before_the_previous_lifts():
    truth = Sample("water-wheel", repetitions=2).truth
    hands = [r.hand for r in truth.repetitions]
    assert hands == [0, 1, 0, 1]
    both = truth.touching.all(axis=1)
    for prev, nxt in zip(truth.repetitions[:-1], truth.repetitions[1:], strict=True):
        window = (truth.timestamps_s > prev.end_s - 0.35) & (truth.timestamps_s < nxt.start_s)
        assert both[window].any()


# -- geometry variants ----------------------------------------------------------------------------


def test_mirrored_frame_is_the_flipped_frame():
    plain = Sample("i-love-you", head="left", size=SMALL, repetitions=1)
    mirror = Sample("i-love-you", head="left", size=SMALL, repetitions=1, mirrored=True)
    for i in (0, 40, 200):
        assert np.array_equal(mirror.render(i), plain.render(i)[:, ::-1])
    assert mirror.truth.head == "right" and plain.truth.head == "left"
    x0, y0, x1, y1 = plain.truth.tummy_box
    assert mirror.truth.tummy_box == pytest.approx((1 - x1, y0, 1 - x0, y1))
    assert np.allclose(mirror.truth.contact_uv, plain.truth.contact_uv, equal_nan=True)
    assert mirror.truth.cli_args[-1] == "--mirrored"


@pytest.mark.parametrize("size", [(640, 480), (480, 640), (1280, 720)])
@pytest.mark.parametrize("head", ["up", "down", "left", "right"])
def test_every_head_direction_fits_in_the_frame(head, size):
    """Tummy box and every touching hand's landmarks inside the picture."""
    for stroke in ("i-love-you", "water-wheel"):
        sample = Sample(stroke, head=head, size=size, repetitions=1)
        truth = sample.truth
        x0, y0, x1, y1 = truth.tummy_box
        assert 0 < x0 < x1 < 1 and 0 < y0 < y1 < 1
        assert truth.body_frame().box_width_px == pytest.approx(0.28 * min(size), abs=1)
        for i in range(0, sample.n_frames, 5):
            for k, lm in enumerate(sample.hand_landmarks(i)):
                if lm is not None and truth.touching[i, k]:
                    assert lm.min() > 0.0 and lm.max() < 1.0, (stroke, i, k)


@pytest.mark.parametrize("fps", [25.0, 29.97, 30.0])
def test_frame_rate_changes_timestamps_not_the_performance(fps):
    truth = Sample("sun", fps=fps, repetitions=1, size=SMALL).truth
    exact = 30000 / 1001 if fps == 29.97 else fps  # NTSC rates as the video writer stores them
    assert np.allclose(truth.timestamps_s, np.arange(truth.frames) / exact, rtol=0, atol=1e-9)
    reference = Sample("sun", fps=30.0, repetitions=1, size=SMALL).truth
    assert truth.repetitions[0].duration_s == pytest.approx(reference.repetitions[0].duration_s)


def test_deterministic_by_seed():
    a = Sample("sun-moon", seed=3, size=SMALL, repetitions=1)
    b = Sample("sun-moon", seed=3, size=SMALL, repetitions=1)
    c = Sample("sun-moon", seed=4, size=SMALL, repetitions=1)
    assert np.array_equal(a.truth.contact_uv, b.truth.contact_uv, equal_nan=True)
    assert np.array_equal(a.render(100), b.render(100))
    assert a.truth.repetitions != c.truth.repetitions


def test_duration_loops_repetitions():
    truth = Sample("i-love-you", duration_s=60.0, size=SMALL).truth
    assert truth.frames == 1800 and truth.duration_s == pytest.approx(60.0)
    assert len(truth.repetitions) >= 3
    assert truth.repetitions[-1].end_s <= 60.0
    assert [r.index for r in truth.repetitions] == list(range(len(truth.repetitions)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fault": "sloppy"}, "fault: expected one of"),  # unknown fault
        ({"head": "north"}, "head: expected one of"),  # unknown head
        ({"size": (641, 480)}, "size: expected an even"),  # odd width
        ({"fps": 0.0}, "fps: expected"),  # no frame rate
        ({"repetitions": 0}, "repetitions: expected at least 1"),  # nothing to do
        ({"skin": "green"}, "skin: expected one of"),  # unknown skin tone
    ],
)
def test_bad_options_say_what_was_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Sample("sun", **kwargs)


def test_skin_tones_change_only_the_hand():
    light = Sample("sun", skin="light", size=SMALL, repetitions=1).render(30)
    dark = Sample("sun", skin="dark", size=SMALL, repetitions=1).render(30)
    custom = Sample("sun", skin=(200, 150, 120), size=SMALL, repetitions=1)
    changed = np.any(light != dark, axis=2)
    assert 0.01 < changed.mean() < 0.2
    assert custom.truth.skin == "rgb(200,150,120)"


# -- files ----------------------------------------------------------------------------------------


def test_truth_json_round_trip(tmp_path):
    truth = Sample("water-wheel", fault="no_hand", size=SMALL, repetitions=1).truth
    path = truth.save(tmp_path / "t.truth.json")
    data = json.loads(path.read_text())
    assert data["schema"] == "coach.sample-truth/1"
    assert data["cli_args"][:2] == ["--stroke", "water-wheel"]
    back = SampleTruth.load(path)
    assert back.repetitions == truth.repetitions
    assert back.tummy_box == truth.tummy_box and back.no_hand_spans == truth.no_hand_spans
    assert np.allclose(back.contact_uv, truth.contact_uv, atol=1e-5, equal_nan=True)
    assert np.array_equal(back.visible, truth.visible)
    assert np.array_equal(back.touching, truth.touching)


@pytest.mark.parametrize(("fps", "n_frames"), [(25.0, 50), (29.97, 59)])  # whole and NTSC rates
def test_render_sample_writes_video_and_truth(tmp_path, fps, n_frames):
    from coach.vision import video

    path = tmp_path / "clip.mp4"
    truth = render_sample("sun", path, size=SMALL, fps=fps, duration_s=2.0)
    assert path.is_file() and truth_path(path).is_file()
    assert truth_path(path).name == "clip.truth.json"
    assert not list(tmp_path.glob(".*part*"))
    with video.open_video(path) as reader:
        frames = list(reader)
    assert len(frames) == truth.frames == n_frames
    assert (frames[0].width, frames[0].height) == SMALL
    assert [f.timestamp_s for f in frames] == pytest.approx(list(truth.timestamps_s), abs=1e-6)


def test_ensure_sample_reuses_the_cached_clip(tmp_path):
    first = ensure_sample("sun", tmp_path, size=SMALL, duration_s=1.0)
    stamp = first.stat().st_mtime_ns
    again = ensure_sample("sun", tmp_path, size=SMALL, duration_s=1.0)
    assert again == first and again.stat().st_mtime_ns == stamp
    assert SampleTruth.load(truth_path(first)).frames == 30


def test_main_samples_makes_every_combination(tmp_path, capsys):
    argv = [
        "--out",
        str(tmp_path),
        "--stroke",
        "sun",
        "i-love-you",
        "--fault",
        "none",
        "fast",
        "--size",
        "160x120",
        "--duration",
        "0.5",
        "--format",
        "avi",
    ]
    assert main_samples(argv) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 4 and all(p.endswith(".avi") for p in printed)
    assert len(list(tmp_path.glob("*.truth.json"))) == 4


def test_main_samples_rejects_unknown_faults(capsys):
    with pytest.raises(SystemExit) as exc:
        main_samples(["--fault", "sloppy"])
    assert exc.value.code == 2
    assert "sloppy" in capsys.readouterr().err


def test_iter_sample_frames_yields_rgb_frames_with_timestamps():
    frames = list(iter_sample_frames("sun", size=SMALL, fps=10.0, duration_s=1.0))
    assert len(frames) == 10
    image, t = frames[3]
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8 and t == pytest.approx(0.3)


def test_all_faults_are_known_to_the_flags_table():
    assert set(FAULTS) == set(synth.FAULT_FLAGS)


# -- MediaPipe sees the rendered hand -------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("skin", ["light", "dark"])
@pytest.mark.parametrize("stroke", STROKES)
def test_mediapipe_detects_the_rendered_hands(stroke, skin, model_path):
    """At least 90% of the rendered hands are found, near their truth contact point."""
    landmarks = pytest.importorskip(
        "coach.vision.mediapipe_landmarker", reason="no coach.vision.mediapipe_landmarker"
    )
    contact = pytest.importorskip("coach.core.contact", reason="no coach.core.contact")
    from coach.core.types import Frame

    sample = Sample(stroke, skin=skin, fps=10.0, duration_s=6.0)  # both hands in view by 4 s
    truth = sample.truth
    frame = truth.body_frame()
    seen = found = 0
    errors = []
    with landmarks.HandLandmarker(model_path) as detector:
        for i, (image, t) in enumerate(sample.frames()):
            obs = detector.detect(Frame(image, t, i))
            uv = (
                []
                if obs is None
                else frame.to_uv(contact.contact_point(obs.landmarks, truth.contact))
            )
            for k in np.flatnonzero(truth.visible[i]):
                seen += 1
                if len(uv):
                    dist = np.linalg.norm(np.asarray(uv) - truth.contact_uv[i, k], axis=1)
                    if dist.min() < 0.25:
                        found += 1
                        errors.append(dist.min())
    assert found / seen >= 0.9
    assert np.mean(errors) < 0.1  # box widths
