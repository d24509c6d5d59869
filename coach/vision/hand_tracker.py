"""Hand landmarks for live video: MediaPipe finds a hand, then we follow it ourselves.

:class:`TrackingHandLandmarker` has the interface of
:class:`coach.vision.mediapipe_landmarker.HandLandmarker` (``detect(frame)``, ``detect_image``,
``reset``, ``close``). Each frame first runs the landmark network
(:class:`coach.vision.litert_landmarks.LandmarkModel`) on the box where each followed
hand was (:func:`coach.vision.hand_roi.roi_from_landmarks`), on the calling thread.
MediaPipe's hand landmarker (palm detector, then landmark network) sees the frame
only when no hand was followed in it, or when fewer than ``num_hands`` are and the
last search is ``search_every_s`` old. That is what MediaPipe's VIDEO mode does too,
minus its graph threads and its palm detector on every frame while a hand is missing:
a followed frame is one crop and one network run per hand, with no waiting for other
threads while a browser competes for the same two cores.

What a followed hand becomes, and why (each measured on the eval clips where the
tracker lost a hand that MediaPipe's VIDEO mode kept):

- Two boxes hold the same hand when their *landmarks* lie on top of each other
  (mean distance under SAME_HAND_DISTANCE of the hand's size), not when the boxes
  overlap: a box is four times the hand's area, so two hands passing each other a
  palm apart (water wheel, Sun and Moon) have boxes that overlap by more than half
  while the network finds each hand in its own box. When two boxes do converge onto
  one hand, the track whose landmarks moved least from its own last ones keeps it.
- A search adds the hands MediaPipe finds to the followed ones; it does not replace
  them. The palm detector misses hands the landmark network still follows (dark skin
  on a dark doll, a hand on top of the other), and a search used to drop them. A
  followed hand the search finds too takes the search's landmarks.
- A hand the network loses (presence under ``min_tracking_confidence``, or its box
  converged onto the other hand) is not forgotten at once: for COAST_S its box
  moves on with the hand's last speed and the network looks there on each frame;
  the hand is followed again as soon as it is found there and is not the other hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.core.types import HANDS_LOOKED_FOR, Frame, HandObservation
from coach.vision.closing import Closing
from coach.vision.hand_roi import SCALE, Roi, roi_from_landmarks
from coach.vision.litert_landmarks import LandmarkModel, LandmarkResult
from coach.vision.mediapipe_landmarker import HandLandmarker

#: Two sets of landmarks are the same hand when their 21 points lie on average closer
#: than this fraction of the hand's size (the extent of its palm and finger bases). The
#: network run on two boxes over one hand gives landmarks a few percent of the hand apart;
#: two hands side by side, even touching, are most of a hand apart (measured: 0.5-0.9
#: where the water wheel's and Sun and Moon's hands pass each other). In between (0.26-0.3
#: measured) one hand lies over the other and the network's second hand is a mix of the
#: two, not where the hidden hand is: one hand (with 0.25 the coach counted a spurious
#: repetition on two clips where a stroking hand passes over the resting one).
SAME_HAND_DISTANCE = 0.4
#: While some but fewer than ``num_hands`` hands are followed, MediaPipe looks for the
#: others this often (seconds of video), not on every frame: a hand that comes into view
#: (the other hand, resting on the doll) is found within this time, and the frames in
#: between cost one network run per followed hand.
SEARCH_EVERY_S = 0.4
#: How long a lost hand's box keeps moving with the hand's last speed while the network
#: looks for it there (seconds of video). Hands passing each other hide one another for
#: a few frames; the palm detector would find such a hand only at the next search.
COAST_S = 0.3
#: Version of the tracking behaviour: landmarks made by this class are cached under it
#: (coach.evaluation.runner.LandmarkerSettings), so changed tracking never reads
#: landmarks the old one made. 1: boxes overlapping by half were one hand, a search
#: replaced the followed hands. 5: same hand by landmarks, searches add, lost hands coast
#: (2 to 4: trials of this work whose landmarks are in the eval cache).
TRACKER_VERSION = 5


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


def hand_size_px(roi: Roi) -> float:
    """The size of the hand a box was made for: the extent of its palm and finger bases."""
    return roi.size_px / SCALE


def hand_distance(a_px: np.ndarray, b_px: np.ndarray) -> float:
    """Mean image distance between two hands' 21 landmarks (pixels; x and y only)."""
    return float(np.linalg.norm(a_px[:, :2] - b_px[:, :2], axis=1).mean())


def same_hand(a_px: np.ndarray, a_roi: Roi, b_px: np.ndarray, b_roi: Roi) -> bool:
    """Whether two sets of landmarks (with the boxes made from them) are one hand (see
    SAME_HAND_DISTANCE; the size is the two hands' mean)."""
    size = (hand_size_px(a_roi) + hand_size_px(b_roi)) / 2.0
    return hand_distance(a_px, b_px) < SAME_HAND_DISTANCE * size


def _match_found(
    tracks: list[_Track], found: list[_Candidate], timestamp_s: float
) -> tuple[list[_Candidate], list[_Candidate]]:
    """Which hands a search found are followed hands: each found hand goes to the track
    whose landmarks, moved on to now, are the same hand (nearest pairs first). Returns
    the found landmarks as those tracks' candidates, and the found hands left over."""
    pairs = []
    for i, f in enumerate(found):
        for j, k in enumerate(tracks):
            points = k.predicted_points(timestamp_s)
            if same_hand(f.points_px, f.roi, points, k.roi):
                pairs.append((hand_distance(f.points_px, points), i, j))
    candidates, used_f, used_k = [], set(), set()
    for d, i, j in sorted(pairs):
        if i in used_f or j in used_k:
            continue
        used_f.add(i)
        used_k.add(j)
        f, k = found[i], tracks[j]
        candidates.append(_Candidate(f.points_px, f.roi, f.score, k, d / hand_size_px(k.roi)))
    return candidates, [f for i, f in enumerate(found) if i not in used_f]


def _take_found_landmarks(kept: list[_Candidate], found: list[_Candidate]) -> None:
    """A followed hand a search found too takes the search's landmarks (in place): they
    come from a fresh crop around the palm the detector saw, so the box is put back on
    the hand wherever following has let it drift (as the first tracker did on every
    search; keeping the followed landmarks instead moved one good I Love You clip's
    landmarks up to 25 px and gave it a false "too fast" hint)."""
    for f in found:
        for k in kept:
            if k.track is not None and same_hand(f.points_px, f.roi, k.points_px, k.roi):
                k.points_px, k.roi, k.score = f.points_px, f.roi, f.score
                break


@dataclass
class _Track:
    """A followed hand (the tracker's own state; nothing outside sees it).

    ``points_px`` and ``roi``: its landmarks when last seen, and the box made from them;
    ``seen_s``: when; ``velocity_px_s``: how fast that box was moving then; ``lost``:
    whether the network missed it since (it coasts, see COAST_S)."""

    roi: Roi
    points_px: np.ndarray
    seen_s: float
    velocity_px_s: tuple[float, float] = (0.0, 0.0)
    lost: bool = False

    def box_at(self, timestamp_s: float) -> Roi:
        """Where to look for the hand at ``timestamp_s``: its box, moved on with its last
        speed while it is lost."""
        if not self.lost:
            return self.roi
        dt = max(0.0, timestamp_s - self.seen_s)
        return Roi(
            self.roi.centre_x_px + self.velocity_px_s[0] * dt,
            self.roi.centre_y_px + self.velocity_px_s[1] * dt,
            self.roi.size_px,
            self.roi.rotation_rad,
        )

    def predicted_points(self, timestamp_s: float) -> np.ndarray:
        """Its last landmarks moved on with its last speed to ``timestamp_s``."""
        dt = max(0.0, timestamp_s - self.seen_s)
        shift = np.array([self.velocity_px_s[0] * dt, self.velocity_px_s[1] * dt, 0.0])
        return self.points_px + shift


@dataclass
class _Candidate:
    """Landmarks for this frame, from a track's box (``track``) or from a search (None)."""

    points_px: np.ndarray
    roi: Roi
    score: float
    track: _Track | None
    misfit: float = 0.0  # how far from its track's own last landmarks, in hand sizes


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
        finder = HandLandmarker(
            model_path, num_hands=num_hands, min_tracking_confidence=min_tracking_confidence,
            variant=variant, preload="image",
        )  # fmt: skip  # finding is IMAGE mode only: no VIDEO task is made
        try:
            network = LandmarkModel(finder.model_path, num_threads=num_threads)
        except BaseException:
            finder.close()
            raise
        self._start(finder, network, search_every_s)

    @classmethod
    def with_parts(
        cls, finder, network, search_every_s: float = SEARCH_EVERY_S
    ) -> TrackingHandLandmarker:
        """A tracker around a finder (``detect_image``, ``close`` and the settings of
        :class:`HandLandmarker`) and a network (``run(image, roi)`` of
        :class:`LandmarkModel`) made elsewhere: the tests' stand-ins."""
        tracker = cls.__new__(cls)
        tracker._start(finder, network, search_every_s)
        return tracker

    def _start(self, finder, network, search_every_s: float) -> None:
        self.search_every_s = float(search_every_s)
        self._finder = finder
        self._network = network
        self.num_hands = finder.num_hands
        self.min_tracking_confidence = finder.min_tracking_confidence
        self.variant = finder.variant
        self.model_path: Path = finder.model_path
        self._tracks: list[_Track] = []
        self._closed = False
        self._searched_s = -np.inf  # when MediaPipe last looked at a frame
        self.frames_found = 0  # frames that went to MediaPipe (nothing followed, or a search)
        self.frames_followed = 0  # frames that only ran the landmark network

    def detect(self, frame: Frame) -> HandObservation | None:
        """Landmarks of the hands in a video frame, or ``None`` when no hand is seen."""
        if self._closed:
            raise RuntimeError("TrackingHandLandmarker is closed")
        t = frame.timestamp_s
        size = np.array([frame.width, frame.height, frame.width], dtype=np.float64)
        # Forget hands lost for longer than COAST_S, and lost hands while all are followed.
        followed = sum(not k.lost for k in self._tracks)
        self._tracks = [
            k for k in self._tracks
            if not k.lost or (followed < self.num_hands and t - k.seen_s < COAST_S + 1e-9)
        ]  # fmt: skip
        due = not t - self._searched_s < self.search_every_s - 1e-9
        found: list[_Candidate] | None = None
        candidates: list[_Candidate] = []
        tracks = self._tracks
        if followed < self.num_hands and due:
            # Search first: a followed hand the search finds needs no network run.
            found = self._search(frame, size)
            candidates, found = _match_found(tracks, found, t)
            matched = {id(c.track) for c in candidates}
            tracks = [k for k in tracks if id(k) not in matched]
        candidates += [c for k in tracks if (c := self._follow(frame, k)) is not None]
        kept = self._keep(candidates + (found or []))
        if found is None and (not kept or (len(kept) < self.num_hands and due)):
            found = self._search(frame, size)  # a hand lost in this very frame
            kept = self._keep(candidates + found)
        if found is None:
            self.frames_followed += 1
        else:
            _take_found_landmarks(kept, found)
        return self._update(kept, frame, size)

    def _search(self, frame: Frame, size: np.ndarray) -> list[_Candidate]:
        """The hands MediaPipe finds in the frame (palm detector, then landmark network)."""
        self.frames_found += 1
        self._searched_s = frame.timestamp_s
        observation = self._finder.detect_image(frame.image, frame.timestamp_s)
        if observation is None:
            return []
        return [
            _Candidate(points * size, roi_from_landmarks(points * size), float(s), None)
            for points, s in zip(observation.landmarks, observation.scores, strict=True)
        ]

    def _follow(self, frame: Frame, track: _Track) -> _Candidate | None:
        """The network on ``track``'s box in this frame: its hand, or None if absent."""
        result: LandmarkResult = self._network.run(frame.image, track.box_at(frame.timestamp_s))
        if not result.presence >= self.min_tracking_confidence:
            return None
        roi = roi_from_landmarks(result.points_px)
        misfit = hand_distance(result.points_px, track.predicted_points(frame.timestamp_s))
        return _Candidate(
            result.points_px, roi, max(result.right_hand, 1.0 - result.right_hand), track,
            misfit / hand_size_px(track.roi),
        )  # fmt: skip

    def _keep(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """At most ``num_hands`` candidates, each a different hand. Followed hands come
        first, those whose landmarks fit their own last ones best first; then lost hands
        found again where they coast; then hands a search found."""

        def rank(c: _Candidate) -> tuple[int, float]:
            if c.track is None:
                return (2, 0.0)
            return (int(c.track.lost), c.misfit)

        kept: list[_Candidate] = []
        for c in sorted(candidates, key=rank):  # stable: a search's hands keep their order
            if len(kept) == self.num_hands:
                break
            if not any(same_hand(c.points_px, c.roi, k.points_px, k.roi) for k in kept):
                kept.append(c)
        return kept

    def _update(
        self, kept: list[_Candidate], frame: Frame, size: np.ndarray
    ) -> HandObservation | None:
        """Move the tracks to this frame's hands; the observation, hands in track order."""
        t = frame.timestamp_s
        by_track = {id(c.track): c for c in kept if c.track is not None}
        tracks: list[_Track] = []
        hands, scores = [], []
        for track in self._tracks:
            c = by_track.get(id(track))
            if c is None:
                if not track.lost:  # just lost: it coasts from where it was last seen
                    track.lost = True
                tracks.append(track)
                continue
            dt = t - track.seen_s
            if dt > 0:
                track.velocity_px_s = (
                    (c.roi.centre_x_px - track.roi.centre_x_px) / dt,
                    (c.roi.centre_y_px - track.roi.centre_y_px) / dt,
                )
            track.roi, track.points_px, track.seen_s, track.lost = c.roi, c.points_px, t, False
            tracks.append(track)
            hands.append(c.points_px / size)
            scores.append(c.score)
        for c in kept:
            if c.track is None:
                tracks.append(_Track(c.roi, c.points_px, t))
                hands.append(c.points_px / size)
                scores.append(c.score)
        self._tracks = tracks
        if not hands:
            return None
        return HandObservation(
            timestamp_s=t,
            landmarks=np.array(hands),
            scores=np.array(scores),
            image_size=(frame.width, frame.height),
        )

    def detect_image(self, image: np.ndarray, timestamp_s: float = 0.0) -> HandObservation | None:
        """Landmarks of the hands in a still image (MediaPipe; no tracking)."""
        return self._finder.detect_image(image, timestamp_s)

    def reset(self) -> None:
        """Forget the hands followed (call before a new video)."""
        if self._closed:
            raise RuntimeError("TrackingHandLandmarker is closed")
        self._tracks = []
        self._searched_s = -np.inf

    def close(self) -> None:
        """Release MediaPipe's tasks (safe to call twice)."""
        self._closed = True
        self._tracks = []
        self._finder.close()
