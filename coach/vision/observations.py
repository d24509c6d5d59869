"""The one frame loop: a hand landmarker run over every frame of a video
(``coach score``, batch review, the upload page, recording a reference, the benchmark)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from coach.core.types import Frame, HandLandmarkerLike, HandObservation
from coach.vision.video import VideoReader


def iter_observations(
    reader: VideoReader,
    landmarker: HandLandmarkerLike,
    on_progress: Callable[[float], None] | None = None,
    progress_every: int = 10,
) -> Iterator[tuple[Frame, HandObservation | None]]:
    """``(frame, hands seen in it)`` for every frame of an open video, in order.

    ``on_progress(fraction)`` is called every ``progress_every`` frames, after the caller
    has handled the frame, and with 1.0 at the end of the video."""
    total = max(reader.info.frames, 1)
    for frame in reader:
        yield frame, landmarker.detect(frame)
        if on_progress is not None and frame.index % progress_every == 0:
            on_progress(min(1.0, (frame.index + 1) / total))
    if on_progress is not None:
        on_progress(1.0)
