"""The one frame loop (coach/vision/observations.py): every frame through the landmarker,
in order, with progress."""

from __future__ import annotations

import numpy as np

from coach.vision.observations import iter_observations
from coach.vision.video import VideoWriter, open_video
from tests.fakes import ScriptedLandmarker


def _clip(path, frames: int = 25, fps: float = 25.0):
    with VideoWriter(path, fps, (64, 48)) as writer:
        for i in range(frames):
            writer.write(np.full((48, 64, 3), 8 * (i % 30), np.uint8))
    return path


def test_every_frame_in_order_with_what_the_landmarker_saw(tmp_path) -> None:
    video = _clip(tmp_path / "c.mp4")
    lm = ScriptedLandmarker(lambda frame: "hand" if frame.index % 2 else None)
    with open_video(video) as reader:
        got = [(f.index, f.timestamp_s, hands) for f, hands in iter_observations(reader, lm)]
    assert [i for i, _, _ in got] == list(range(25)) == lm.seen
    assert [t for _, t, _ in got] == sorted(t for _, t, _ in got)
    assert [h for _, _, h in got] == [None, "hand"] * 12 + [None]
    assert lm.resets == 0 and not lm.closed  # the caller owns the landmarker


def test_progress_every_n_frames_after_the_frame_and_one_at_the_end(tmp_path) -> None:
    video = _clip(tmp_path / "c.mp4")
    events: list[object] = []
    with open_video(video) as reader:
        for frame, _ in iter_observations(
            reader, ScriptedLandmarker(), events.append, progress_every=10
        ):
            events.append(f"frame {frame.index}")
    fractions = [e for e in events if isinstance(e, float)]
    assert fractions == [1 / 25, 11 / 25, 21 / 25, 1.0]
    assert events.index(fractions[0]) == events.index("frame 0") + 1  # after the caller's work
