"""Typed, frozen records passed between the pipeline stages.

Frame -> HandObservation -> TrackPoint (body frame) -> Progress -> RepetitionScore / Hint.

Every record carries ``timestamp_s``: stages measure time from timestamps, never
from frame counts, because live video drops frames. Arrays are numpy arrays and
are made read-only on construction so a frozen record cannot be changed through
its arrays either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

import numpy as np

ContactKind = Literal["fingertips", "palm"]
Direction = Literal["ok", "wrong"]
Pace = Literal["ok", "too_fast", "too_slow"]

#: What the coach knows of the hand on one frame (``FrameResult.status``): ``tracking``
#: (seen), ``bridged`` (a short gap filled in), ``searching`` (not seen, for under a
#: second), ``no_hand`` (not seen for a second or more).
FrameStatus = Literal["tracking", "bridged", "searching", "no_hand"]
FRAME_STATUSES: tuple[FrameStatus, ...] = get_args(FrameStatus)
#: The frame statuses in which the hand is followed.
FOLLOWING: tuple[FrameStatus, ...] = ("tracking", "bridged")
#: What the live screen shows: a frame status, or a calibration step before any frame
#: is coached (``calibrate``: not calibrated yet, ``calibrating``: hand on the tummy).
LiveStatus = FrameStatus | Literal["calibrate", "calibrating"]

#: Hands the landmarker looks for, whatever the stroke: a one-hand stroke is done while
#: the other hand rests on or near the doll, and the coach must see both to follow the
#: one that strokes (from its motion along the reference, never from the detector's
#: scores or MediaPipe's handedness label).
HANDS_LOOKED_FOR = 2

#: Stable mistake codes (strokes.md section 5).
FLAG_CODES = (
    "wrong_direction",
    "too_fast",
    "too_slow",
    "incomplete",
    "off_path",
    "jerky",
    "no_hand",
    "lifted",
)


def _frozen_array(value: object, dtype: type, shape_tail: tuple[int, ...], name: str) -> np.ndarray:
    """Return ``value`` as a read-only array whose trailing dimensions are ``shape_tail``."""
    arr = np.array(value, dtype=dtype, copy=True)
    if shape_tail and arr.shape[-len(shape_tail) :] != shape_tail:
        raise ValueError(
            f"{name}: expected an array of shape (..., {shape_tail}), found {arr.shape}"
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Frame:
    """One decoded video frame: RGB uint8 image of shape (height, width, 3)."""

    image: np.ndarray
    timestamp_s: float
    index: int = 0

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"Frame.image: expected an RGB uint8 array (H, W, 3), "
                f"found {self.image.dtype} {self.image.shape}"
            )
        if not np.isfinite(self.timestamp_s):
            raise ValueError(
                f"Frame.timestamp_s: expected a finite number, found {self.timestamp_s}"
            )

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class HandObservation:
    """The hands MediaPipe found in one frame (at least one; no hand is ``None``).

    ``landmarks`` has shape (n_hands, 21, 3): x and y normalised to the frame as
    stored (0..1, x right, y down), z MediaPipe's relative depth. ``scores`` has
    shape (n_hands,): the detector's confidence for each hand.
    """

    timestamp_s: float
    landmarks: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]  # (width, height) in pixels

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "landmarks", _frozen_array(self.landmarks, np.float64, (21, 3), "landmarks")
        )
        object.__setattr__(self, "scores", _frozen_array(self.scores, np.float64, (), "scores"))
        if self.landmarks.ndim != 3 or self.landmarks.shape[0] < 1:
            raise ValueError(
                f"HandObservation.landmarks: expected (n>=1, 21, 3), found {self.landmarks.shape}"
            )
        if self.scores.shape != (self.landmarks.shape[0],):
            raise ValueError(
                f"HandObservation.scores: expected shape ({self.landmarks.shape[0]},), "
                f"found {self.scores.shape}"
            )

    @property
    def n_hands(self) -> int:
        return int(self.landmarks.shape[0])


@dataclass(frozen=True)
class TrackPoint:
    """The stroke's contact point after smoothing, in the body frame and in the image.

    ``uv`` is (2,): tummy-box coordinates (strokes.md section 1). ``xy`` is (2,):
    the same point in normalised image coordinates of the frame as stored.
    ``hands_uv`` is (n, 2) with every tracked hand's contact point, slot order
    stable over time (slot 0 is the primary hand). ``bridged`` is True when the
    hand was not seen in this frame and the point was carried over a short gap.
    """

    timestamp_s: float
    uv: np.ndarray
    xy: np.ndarray
    hands_uv: np.ndarray
    bridged: bool = False
    hands_noise: np.ndarray | None = None  # (n,) per hand: 0 clean landmarks .. 1 jittery
    hands_jitter_box: np.ndarray | None = None  # (n,) per hand: landmark jitter (std, box)

    def __post_init__(self) -> None:
        object.__setattr__(self, "uv", _frozen_array(self.uv, np.float64, (2,), "uv"))
        object.__setattr__(self, "xy", _frozen_array(self.xy, np.float64, (2,), "xy"))
        object.__setattr__(
            self, "hands_uv", _frozen_array(self.hands_uv, np.float64, (2,), "hands_uv")
        )
        for name in ("hands_noise", "hands_jitter_box"):
            given = getattr(self, name)
            per_hand = np.zeros(len(self.hands_uv)) if given is None else given
            per_hand = _frozen_array(per_hand, np.float64, (), name)
            if per_hand.shape != (len(self.hands_uv),):
                raise ValueError(
                    f"TrackPoint.{name}: expected shape ({len(self.hands_uv)},), "
                    f"found {per_hand.shape}"
                )
            object.__setattr__(self, name, per_hand)


@dataclass(frozen=True)
class SegmentRecord:
    """One letter / circle / paddle the matcher saw completed (or abandoned)."""

    repetition: int  # repetition index this segment belongs to
    segment: int  # index into the stroke's segments
    reversed: bool  # performed against the reference direction
    start_s: float  # when the hand entered the segment
    end_s: float  # when it left it
    duration_s: float  # pace estimate: time from 10% to 90% of the path, scaled to 100%
    coverage: float  # fraction of the reference path covered, 0..1
    mean_distance_box: float  # mean distance of the hand from the reference path, box widths

    def overlap(self, other: SegmentRecord) -> float:
        """How much the two records' time spans overlap, over the shorter span (0..1)."""
        inter = min(self.end_s, other.end_s) - max(self.start_s, other.start_s)
        shorter = min(self.end_s - self.start_s, other.end_s - other.start_s)
        return max(0.0, inter) / shorter if shorter > 0 else 0.0


@dataclass(frozen=True)
class Progress:
    """Where the user is along the reference, after one frame."""

    timestamp_s: float
    repetition: int  # index of the repetition in progress
    segment: int | None  # current segment index, None while between segments (hand lifted / idle)
    label: str  # segment label ("I", "L", "U", "circle", ...) or "" between segments
    fraction: float  # how far along the current segment the hand got, 0..1
    reversed: bool  # current segment is being followed backwards
    guide_uv: np.ndarray  # (2,) where the guide dot should be now at nominal pace
    speed_ratio: float  # user's speed over nominal speed in the current segment (nan if unknown)
    distance_box: float  # distance of the hand from the reference path (nan when lifted)
    completed: tuple[SegmentRecord, ...] = ()  # segments that finished on this frame
    elapsed_s: float = float("nan")  # time since the hand passed 10% of this segment
    # Segments reported before that the matcher now reads the other way round (same
    # repetition and segment; later motion told it which way the hand went): they replace
    # the records reported for them.
    revised: tuple[SegmentRecord, ...] = ()
    # Where along the segment the hand is now, 0..1 (``fraction`` is the furthest it got:
    # a jittery hand falls back from it): what a pace projected from here must use.
    at_fraction: float = float("nan")

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "guide_uv", _frozen_array(self.guide_uv, np.float64, (2,), "guide_uv")
        )


@dataclass(frozen=True)
class RepetitionScore:
    """The verdict on one repetition; field names follow contract.md."""

    index: int
    start_s: float
    end_s: float
    duration_s: float
    nominal_s: float
    score: int
    direction: Direction
    pace: Pace
    speed_ratio: float
    coverage: float
    flags: tuple[str, ...] = ()
    smoothness: float = float("nan")  # log dimensionless jerk, less negative is smoother
    mean_distance_box: float = float("nan")
    segments: tuple[SegmentRecord, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Hint:
    """A short live instruction: a stable ``code`` and friendly ``text``."""

    timestamp_s: float
    code: str
    text: str


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: ``width`` x ``height`` are of the upright frames."""

    path: str
    fps: float
    frames: int
    duration_s: float
    width: int
    height: int


class HandLandmarkerLike(Protocol):
    """What the pipeline needs of a hand landmarker (MediaPipe's, the tracking one, or a
    fake in tests): the hands in a frame, a fresh start, and letting go of it."""

    def detect(self, frame: Frame) -> HandObservation | None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Guide:
    """The instructor's recent path for the parents' "follow me" overlay.

    ``points`` (n, 3) read-only: ``t_s`` (the instructor's stream clock), ``u``, ``v``;
    oldest first. ``idle_s``: wall seconds since the last path message (inf: none yet).
    ``serial``: instructor points received since joining.
    """

    code: str
    instructor: str
    stroke_id: str
    points: np.ndarray
    segment: int | None
    label: str
    repetition: int
    status: str  # "waiting" (nothing yet), "tracking", "searching" (hand not seen)
    idle_s: float
    serial: int

    @property
    def latest_uv(self) -> np.ndarray | None:
        return None if len(self.points) == 0 else self.points[-1, 1:3]
