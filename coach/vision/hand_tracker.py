"""Hand landmarks for live video: MediaPipe finds a hand, then we follow it ourselves.

:class:`TrackingHandLandmarker` has the interface of
:class:`coach.vision.mediapipe_landmarker.HandLandmarker` (``detect(frame)``, ``detect_image``,
``reset``, ``close``). While no hand is followed, each frame goes to MediaPipe's
hand landmarker (palm detector, then landmark network); while some but fewer
than ``num_hands`` are, one frame every ``search_every_s`` does. Otherwise a
frame only runs the landmark network
(:class:`coach.vision.litert_landmarks.LandmarkModel`) on the box where the hand was
(:func:`coach.vision.hand_roi.roi_from_landmarks`), on the calling thread. That is what
MediaPipe's VIDEO mode does too, minus its graph threads: a tracked frame is one
crop and one network run, with no waiting for other threads while a browser
competes for the same two cores.

A followed hand is dropped when the network's presence score falls below
``min_tracking_confidence``; a second box that covers the same hand as another
is dropped too (MediaPipe removes such duplicates the same way).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from coach.core.types import HANDS_LOOKED_FOR, Frame, HandObservation
from coach.vision.closing import Closing
from coach.vision.hand_roi import Roi, overlap, roi_from_landmarks
from coach.vision.litert_landmarks import LandmarkModel
from coach.vision.mediapipe_landmarker import HandLandmarker

#: Two boxes covering more than this of each other hold the same hand.
DUPLICATE_OVERLAP = 0.5
#: While some but fewer than ``num_hands`` hands are followed, MediaPipe looks for the
#: others this often (seconds of video), not on every frame: a hand that comes into view
#: (the other hand, resting on the doll) is found within this time, and the frames in
#: between cost one network run per followed hand.
SEARCH_EVERY_S = 0.4


#: Threads of the landmark network when scoring a recorded video (no browser to share
#: the cores with): measured 75 against 57 frames/s with one.
OFFLINE_THREADS = 2


def offline_follows(stroke_hands: int) -> bool:
    """Whether :func:`offline_landmarker` follows the hands with the landmark network (one-hand
    strokes) rather than using MediaPipe's VIDEO mode (two-hand strokes)."""
    return stroke_hands < 2


def offline_landmarker(
    stroke_hands: int = 1,
    model_path: str | os.PathLike | None = None,
    num_hands: int = HANDS_LOOKED_FOR,
) -> TrackingHandLandmarker | HandLandmarker:
    """The landmarker that scores recorded videos (``coach score``, upload, batch, the
    benchmark and the evaluation), always looking for two hands, with the full model.

    A one-hand stroke (the other hand often rests on the doll): MediaPipe finds the hands
    and the landmark network alone follows them, as MediaPipe's VIDEO mode does
    (landmarks within 0.2 px of it), looking for a missing second hand every
    SEARCH_EVERY_S. MediaPipe's own VIDEO mode set for two hands runs its palm detector
    on every frame while only one is in view, which halves the frame rate.
    A two-hand stroke: MediaPipe's VIDEO mode, as before (both hands are in view and
    often close together, where its own tracking is measured to do better).
    ``num_hands`` other than two is for experiments (``coach eval --num-hands``)."""
    if not offline_follows(stroke_hands):
        return HandLandmarker(model_path, num_hands=num_hands, variant="full")
    return TrackingHandLandmarker(
        model_path, num_hands=num_hands, variant="full", num_threads=OFFLINE_THREADS
    )


def _same_hand_as_any(roi: Roi, others: list[Roi]) -> bool:
    """Whether ``roi`` covers the same hand as one of ``others`` (see DUPLICATE_OVERLAP)."""
    return any(overlap(roi, other) > DUPLICATE_OVERLAP for other in others)


class TrackingHandLandmarker(Closing):
    """MediaPipe to find hands, the landmark network alone to follow them (see module doc)."""

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        num_hands: int = 1,
        min_tracking_confidence: float = 0.5,
        variant: str = "lite",
        num_threads: int = 1,
        search_every_s: float = SEARCH_EVERY_S,
    ) -> None:
        if not search_every_s >= 0:
            raise ValueError(f"search_every_s: expected a number >= 0, found {search_every_s!r}")
        self.search_every_s = float(search_every_s)
        self._finder = HandLandmarker(
            model_path, num_hands=num_hands, min_tracking_confidence=min_tracking_confidence,
            variant=variant, preload="image",
        )  # fmt: skip  # finding is IMAGE mode only: no VIDEO task is made
        try:
            self._network = LandmarkModel(self._finder.model_path, num_threads=num_threads)
        except BaseException:
            self._finder.close()
            raise
        self.num_hands = self._finder.num_hands
        self.min_tracking_confidence = self._finder.min_tracking_confidence
        self.variant = self._finder.variant
        self.model_path: Path = self._finder.model_path
        self._rois: list[Roi] = []
        self._closed = False
        self._searched_s = -np.inf  # when MediaPipe last looked at a frame
        self.frames_found = 0  # frames that went to MediaPipe (no hand followed, or a search)
        self.frames_followed = 0  # frames that only ran the landmark network

    def detect(self, frame: Frame) -> HandObservation | None:
        """Landmarks of the hands in a video frame, or ``None`` when no hand is seen."""
        if not self._rois:
            return self._find(frame)
        if (
            len(self._rois) < self.num_hands
            and not frame.timestamp_s - self._searched_s < self.search_every_s - 1e-9
        ):
            return self._find(frame)  # look for the other hand(s) now and then
        self.frames_followed += 1
        w, h = frame.width, frame.height
        kept: list[Roi] = []
        hands, scores = [], []
        for roi in self._rois:
            result = self._network.run(frame.image, roi)
            if result.presence < self.min_tracking_confidence:
                continue
            nxt = roi_from_landmarks(result.points_px)
            if _same_hand_as_any(nxt, kept):
                continue
            kept.append(nxt)
            hands.append(result.points_px / (w, h, w))
            scores.append(max(result.right_hand, 1.0 - result.right_hand))
        self._rois = kept
        if not hands:
            # Every hand lost: look for them again in this very frame.
            return self._find(frame)
        return HandObservation(
            timestamp_s=frame.timestamp_s,
            landmarks=np.array(hands),
            scores=np.array(scores),
            image_size=(w, h),
        )

    def _find(self, frame: Frame) -> HandObservation | None:
        self.frames_found += 1
        self._searched_s = frame.timestamp_s
        observation = self._finder.detect_image(frame.image, frame.timestamp_s)
        self._rois = []
        if observation is not None:
            size = (frame.width, frame.height, frame.width)
            for landmarks in observation.landmarks[: self.num_hands]:
                roi = roi_from_landmarks(landmarks * size)
                if not _same_hand_as_any(roi, self._rois):
                    self._rois.append(roi)
        return observation

    def detect_image(self, image: np.ndarray, timestamp_s: float = 0.0) -> HandObservation | None:
        """Landmarks of the hands in a still image (MediaPipe; no tracking)."""
        return self._finder.detect_image(image, timestamp_s)

    def reset(self) -> None:
        """Forget the hands followed (call before a new video)."""
        if self._closed:
            raise RuntimeError("TrackingHandLandmarker is closed")
        self._rois = []
        self._searched_s = -np.inf

    def close(self) -> None:
        """Release MediaPipe's tasks (safe to call twice)."""
        self._closed = True
        self._rois = []
        self._finder.close()
