"""Tests for coach.vision.litert_landmarks: MediaPipe's landmark network run with LiteRT."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from coach.vision.hand_roi import Roi, roi_from_landmarks
from coach.vision.litert_landmarks import LandmarkModel, read_landmark_network
from coach.vision.mediapipe_landmarker import HandLandmarker
from coach.vision.models import ModelError
from tests.test_mediapipe_landmarker import _frames


@pytest.mark.model
@pytest.mark.shared
@pytest.mark.slow
def test_network_reproduces_mediapipe_on_the_real_video(
    lite_model_path: Path, shared_hands_dir: Path
) -> None:
    """Given the box MediaPipe would use (from its landmarks of the previous frame), the
    network run by LiteRT gives MediaPipe's landmarks of this frame (measured: median
    0.06 px, p95 0.21 px, max 0.31 px, on 620x1080), depth included, and a confident
    presence and handedness."""
    frames = _frames(shared_hands_dir)
    with HandLandmarker(lite_model_path, num_hands=1) as mp:
        expected = [mp.detect(frame) for frame in frames]
    model = LandmarkModel(lite_model_path)
    w, h = frames[0].width, frames[0].height
    errors, depth_errors = [], []
    for prev, obs, frame in zip(expected, expected[1:], frames[1:], strict=False):
        result = model.run(frame.image, roi_from_landmarks(prev.landmarks[0] * (w, h, w)))
        want = obs.landmarks[0] * (w, h, w)
        errors.append(np.linalg.norm(result.points_px[:, :2] - want[:, :2], axis=1).mean())
        depth_errors.append(np.abs(result.points_px[:, 2] - want[:, 2]).mean())
        assert result.presence > 0.9
        assert max(result.right_hand, 1 - result.right_hand) == pytest.approx(
            obs.scores[0], abs=0.01
        )
    assert np.median(errors) < 0.5
    assert np.max(errors) < 2.0
    assert np.median(depth_errors) < 1.0


@pytest.mark.model
def test_no_hand_in_an_empty_box(lite_model_path: Path) -> None:
    model = LandmarkModel(lite_model_path)
    result = model.run(np.full((480, 640, 3), 128, np.uint8), Roi(320.0, 240.0, 200.0, 0.3))
    assert result.points_px.shape == (21, 3)
    assert result.presence < 0.5


@pytest.mark.model
def test_the_network_comes_from_the_bundle(lite_model_path: Path) -> None:
    with zipfile.ZipFile(lite_model_path) as bundle:
        expected = bundle.read("hand_landmarks_detector.tflite")
    assert read_landmark_network(lite_model_path) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),  # no file at all
        (b"not a zip", "expected a .task bundle holding hand_landmarks_detector.tflite"),
        ({"hand_detector.tflite": b"TFL3"}, "found KeyError"),  # the network is missing
        ({"hand_landmarks_detector.tflite": b"garbage"}, "cannot load the landmark network"),
    ],
)
def test_bad_bundles_are_refused_with_a_reason(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "hand.task"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        with zipfile.ZipFile(path, "w") as z:
            for name, data in content.items():
                z.writestr(name, data)
    with pytest.raises(ModelError, match=message):
        LandmarkModel(path)


@pytest.mark.parametrize("num_threads", [0, -1, 1.5])  # none, negative, not a whole number
def test_bad_thread_counts_are_refused(tmp_path: Path, num_threads) -> None:
    with pytest.raises(ValueError, match="num_threads: expected an integer >= 1"):
        LandmarkModel(tmp_path / "unused.task", num_threads=num_threads)
