"""The evaluation's landmark cache (coach/evaluation/runner.py): a replay of the cached
observations gives exactly the session ``coach score`` gave."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from coach.core.types import HandObservation
from coach.evaluation import clips
from coach.evaluation.runner import (
    LandmarkerSettings,
    RecordingLandmarker,
    body_frame_for,
    load_observations,
    run_coach,
    save_observations,
    settings_for,
)


def _obs(t, n):
    lm = np.arange(n * 21 * 3, dtype=np.float64).reshape(n, 21, 3) / 1000.0 + t
    return HandObservation(t, lm, np.full(n, 0.9), (320, 240))


def test_observations_round_trip(tmp_path):
    # frames with two hands, none, one: order, counts and values kept
    records = [(0.0, _obs(0.0, 2)), (0.1, None), (0.2, _obs(0.2, 1))]
    path = tmp_path / "x.npz"
    save_observations(path, records, (320, 240))
    back = load_observations(path)
    assert [t for t, _ in back] == [0.0, 0.1, 0.2]
    assert back[1][1] is None
    for (_, a), (_, b) in zip(records, back, strict=True):
        if a is not None:
            assert np.array_equal(a.landmarks, b.landmarks)
            assert np.array_equal(a.scores, b.scores) and b.image_size == (320, 240)


@pytest.mark.parametrize(
    "change",
    [
        {"num_hands": 2},  # MediaPipe asked for more hands
        {"model_sha256": "other"},  # another model file
        {"mediapipe": "9.9"},  # another MediaPipe
        {"mode": "live"},  # the live page's landmarker
        {"tracker": 5},  # landmarks the changed TrackingHandLandmarker makes
    ],
)
def test_cache_key_follows_every_setting(change):
    base = LandmarkerSettings(num_hands=1, model_sha256="m", mediapipe="1.2.2")
    other = LandmarkerSettings(**{**base.__dict__, **change})
    assert base.key("clip") != other.key("clip")
    assert base.key("clip") != base.key("another clip")


@pytest.mark.parametrize(
    ("settings", "old_fields"),
    [
        # MediaPipe's VIDEO mode (two-hand strokes): the key made before live mode and
        # the tracker version existed.
        ({}, {"v": 1}),
        ({"tracker": 1}, {"v": 1}),  # the first tracker had no version: tracker 1 is it
        ({"followed": True, "tracker": 1}, {"v": 2}),  # a one-hand stroke's, first tracker
        ({"mode": "live", "tracker": 1}, {"mode": "live", "v": 1}),  # the live page's
    ],
)
def test_cache_keys_made_before_the_tracker_version_stay_valid(settings, old_fields):
    s = LandmarkerSettings(num_hands=2, model_sha256="m", mediapipe="1.2.2", **settings)
    old = {"num_hands": 2, "model_sha256": "m", "mediapipe": "1.2.2", "min_confidence": 0.5}
    text = json.dumps({**old, **old_fields, "clip": "c"}, sort_keys=True)
    assert s.key("c") == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_tracked_landmarks_carry_the_tracker_version():
    """Landmarks TrackingHandLandmarker makes (live; a one-hand stroke offline) are keyed
    by its version; MediaPipe's VIDEO mode's (a two-hand stroke offline) are not."""
    from coach.core.strokes import load_stroke
    from coach.vision.hand_tracker import TRACKER_VERSION
    from coach.vision.models import ModelError

    try:
        one, two = settings_for(load_stroke("sun")), settings_for(load_stroke("water-wheel"))
        live = settings_for(load_stroke("water-wheel"), mode="live")
    except ModelError as exc:
        pytest.skip(str(exc))
    assert (one.followed, one.tracker) == (True, TRACKER_VERSION)
    assert (two.followed, two.tracker) == (False, 0)
    assert live.tracker == TRACKER_VERSION


@pytest.mark.model
def test_replay_is_exactly_what_coach_score_said(model_path, tmp_path):
    from coach.core.strokes import load_stroke
    from coach.services.offline import score_video
    from coach.vision.mediapipe_landmarker import HandLandmarker

    spec = clips.ClipSpec("sun", "fast", size=(320, 240), repetitions=2).with_tags()
    video = clips.render_clip(spec, tmp_path)
    info = json.loads(video.with_suffix(".eval.json").read_text())
    stroke = load_stroke("sun")
    rec = RecordingLandmarker(HandLandmarker(num_hands=1))
    try:
        _report, session = score_video(str(video), stroke, body_frame_for(info), landmarker=rec)
    finally:
        rec.close()
    save_observations(tmp_path / "o.npz", rec.records, (320, 240))
    replay = run_coach(info, load_observations(tmp_path / "o.npz"), (320, 240))
    assert replay.repetitions == session.repetitions
    assert replay.hints == session.hints
    assert len(session.repetitions) == 2  # the clip was scored at all


@pytest.mark.model
@pytest.mark.parametrize("stroke_id", ["sun", "sun-moon"])  # one hand, two hands
def test_cache_asks_for_as_many_hands_as_coach_score(model_path, tmp_path, monkeypatch, stroke_id):
    """The cache key says how many hands MediaPipe looked for (landmarker_hands); it must be
    what coach score's own loop uses, or cached landmarks would not be coach score's."""
    from coach.core.strokes import load_stroke
    from coach.evaluation.runner import landmarker_hands, settings_for
    from coach.samples.synth import render_sample
    from coach.services.offline import score_video
    from coach.vision import hand_tracker

    asked = []
    real = hand_tracker.offline_landmarker

    def spy(*args, **kwargs):  # the real landmarker, its num_hands and kind noted
        lm = real(*args, **kwargs)
        asked.append((lm.num_hands, isinstance(lm, hand_tracker.TrackingHandLandmarker)))
        return lm

    monkeypatch.setattr(hand_tracker, "offline_landmarker", spy)
    video = tmp_path / "c.mp4"
    truth = render_sample(stroke_id, video, size=(160, 120), fps=10, duration_s=0.5)
    stroke = load_stroke(stroke_id)
    frame = truth.body_frame
    score_video(str(video), stroke, lambda size: frame())
    assert asked == [(landmarker_hands(stroke), settings_for(stroke).followed)]
