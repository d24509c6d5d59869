"""Tests for coach.vision.hand_tracker: MediaPipe finds the hand, the network alone follows it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.core.types import Frame
from coach.vision.hand_tracker import TrackingHandLandmarker
from coach.vision.mediapipe_landmarker import HandLandmarker
from tests.test_mediapipe_landmarker import _errors_px, _frames, _reference


@pytest.mark.model
@pytest.mark.shared
@pytest.mark.slow
def test_follows_the_real_video_like_mediapipe(
    lite_model_path: Path, shared_hands_dir: Path
) -> None:
    """MediaPipe finds the hand once, the network follows it through all 325 frames;
    the landmarks match MediaPipe's own VIDEO mode (measured: median 0.06 px) and stay
    as close to the full model's reference as MediaPipe's lite model does (7.3 / 9.4 px)."""
    frames = _frames(shared_hands_dir)
    with TrackingHandLandmarker(lite_model_path, num_hands=1) as tracker:
        ours = [tracker.detect(frame) for frame in frames]
        assert (tracker.frames_found, tracker.frames_followed) == (1, 324)
    with HandLandmarker(lite_model_path, num_hands=1) as mp:
        theirs = [mp.detect(frame) for frame in frames]
    errors = _errors_px(ours, frames, _reference(shared_hands_dir))
    assert np.median(errors) < 10.0
    assert np.percentile(errors, 95) < 15.0
    w, h = frames[0].width, frames[0].height
    gaps = [
        np.linalg.norm((a.landmarks[0, :, :2] - b.landmarks[0, :, :2]) * (w, h), axis=1).mean()
        for a, b in zip(ours, theirs, strict=True)
    ]
    assert np.median(gaps) < 0.5
    assert np.percentile(gaps, 95) < 2.0
    assert all(o.timestamp_s == f.timestamp_s and o.image_size == (w, h) for o, f in
               zip(ours, frames, strict=True))  # fmt: skip
    assert all(0.5 < o.scores[0] <= 1.0 for o in ours)


@pytest.mark.model
@pytest.mark.shared
@pytest.mark.slow
def test_a_lost_hand_is_found_again(lite_model_path: Path, shared_hands_dir: Path) -> None:
    """A blank frame drops the followed hand (None, not an error); the next frame with
    the hand goes to MediaPipe again and following resumes."""
    frames = _frames(shared_hands_dir, limit=6)
    blank = Frame(np.full_like(frames[0].image, 128), frames[2].timestamp_s)
    with TrackingHandLandmarker(lite_model_path, num_hands=1) as tracker:
        seen = [tracker.detect(f) is not None for f in (frames[0], frames[1], blank)]
        seen += [tracker.detect(f) is not None for f in frames[3:]]
        assert seen == [True, True, False, True, True, True]
        # Found in frame 0, followed in 1, lost in the blank frame (followed, then looked
        # for again in it), found in 3, followed in 4 and 5.
        assert (tracker.frames_found, tracker.frames_followed) == (3, 4)
        tracker.reset()
        assert tracker.detect(frames[0]) is not None
        assert tracker.frames_found == 4


@pytest.mark.model
@pytest.mark.shared
@pytest.mark.slow
def test_follows_two_hands_without_doubling_one(
    lite_model_path: Path, shared_hands_dir: Path
) -> None:
    """Two raised hands in a still picture shown as a video: both are found, then both
    followed, each once, staying where MediaPipe put them."""
    rgb = cv2.cvtColor(cv2.imread(str(shared_hands_dir / "woman_hands.jpg")), cv2.COLOR_BGR2RGB)
    with TrackingHandLandmarker(lite_model_path, num_hands=2) as tracker:
        first = tracker.detect(Frame(rgb, 0.0))
        assert first is not None and first.n_hands == 2
        later = [tracker.detect(Frame(rgb, i / 30)) for i in range(1, 6)]
        assert tracker.frames_followed == 5
    for obs in later:
        assert obs is not None and obs.n_hands == 2
        # Same hands, in either order: each followed hand is near one found hand.
        centres = obs.landmarks[:, :, :2].mean(axis=1)
        found = first.landmarks[:, :, :2].mean(axis=1)
        d = np.linalg.norm(centres[:, None] - found[None], axis=2) * rgb.shape[1]
        assert sorted(d.argmin(axis=1)) == [0, 1]
        assert d.min(axis=1).max() < 10.0


@pytest.mark.model
def test_nothing_in_a_blank_video(lite_model_path: Path) -> None:
    blank = np.full((480, 640, 3), 128, np.uint8)
    with TrackingHandLandmarker(lite_model_path) as tracker:
        assert [tracker.detect(Frame(blank, i / 30)) for i in range(3)] == [None] * 3
        assert (tracker.frames_found, tracker.frames_followed) == (3, 0)
        assert tracker.detect_image(blank) is None


@pytest.mark.model
def test_settings_and_close(lite_model_path: Path) -> None:
    tracker = TrackingHandLandmarker(lite_model_path, num_hands=2, min_tracking_confidence=0.7)
    assert (tracker.num_hands, tracker.min_tracking_confidence) == (2, 0.7)
    assert (tracker.variant, tracker.model_path) == ("lite", lite_model_path)
    # Finding runs MediaPipe in IMAGE mode only: no idle VIDEO task (and its threads).
    assert tracker._finder.modes_open == ("image",)
    tracker.reset()
    assert tracker._finder.modes_open == ("image",)
    tracker.close()
    tracker.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        tracker.detect(Frame(np.zeros((48, 64, 3), np.uint8), 0.0))
    with pytest.raises(RuntimeError, match="closed"):
        tracker.reset()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_hands": 0}, "num_hands: expected an integer >= 1"),  # no hand to follow
        ({"min_tracking_confidence": 1.5}, "min_tracking_confidence: expected a number"),
        ({"variant": "tiny"}, "tiny"),  # no such model
        ({"search_every_s": -1.0}, "search_every_s: expected a number >= 0"),  # before now
        ({"search_every_s": float("nan")}, "search_every_s: expected a number >= 0"),  # no time
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrackingHandLandmarker(**kwargs)


@pytest.mark.model
@pytest.mark.shared
@pytest.mark.slow
def test_looks_for_a_second_hand_now_and_then_not_every_frame(
    lite_model_path: Path, shared_hands_dir: Path
) -> None:
    """The real video has one hand. Set for two, the tracker asks MediaPipe on the first
    frame and then once every search_every_s of video: 325 frames at 25 fps (12.96 s)
    with a search every 0.4 s are searches at t = 0, 0.4, ..., 12.8: 33 of them."""
    frames = _frames(shared_hands_dir)
    with TrackingHandLandmarker(lite_model_path, num_hands=2, search_every_s=0.4) as tracker:
        found = [tracker.detect(frame) for frame in frames]
        assert (tracker.frames_found, tracker.frames_followed) == (33, 292)
    assert all(obs is not None and obs.n_hands == 1 for obs in found)


@pytest.mark.model
@pytest.mark.shared
@pytest.mark.slow
def test_a_hand_that_comes_into_view_is_found_within_the_search_interval(
    lite_model_path: Path, shared_hands_dir: Path
) -> None:
    """woman_hands.jpg: first only the left half (one hand) for 1 s, then the whole
    picture (two hands). The second hand is followed at most 0.4 s after it appears."""
    image = cv2.cvtColor(cv2.imread(str(shared_hands_dir / "woman_hands.jpg")), cv2.COLOR_BGR2RGB)
    half = image.copy()
    half[:, image.shape[1] // 2 :] = 0
    fps = 30.0
    with TrackingHandLandmarker(lite_model_path, num_hands=2, search_every_s=0.4) as tracker:
        seen_two_at = None
        for i in range(60):
            t = i / fps
            obs = tracker.detect(Frame(half if t < 1.0 else image, t, i))
            if t >= 1.0 and obs is not None and obs.n_hands == 2:
                seen_two_at = t
                break
    assert seen_two_at is not None and seen_two_at - 1.0 <= 0.4 + 1e-9
