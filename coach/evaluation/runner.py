"""Running the coach on evaluation clips, with the hand landmarks cached per clip.

Each clip goes once through :func:`coach.cli.score_video` (the one scoring loop of
``coach score``: the same landmarker, the same frames and timestamps) with a landmarker
that records what it sees. The per-frame :class:`coach.types.HandObservation` s are kept
beside the clip in ``<clip>.obs-<key>.npz``, ``key`` made of the clip's content and the
landmarker's settings (model file, number of hands, confidences, MediaPipe version). A
later evaluation replays them through :class:`coach.pipeline.Coach` (``update`` then
``finish``, exactly what ``Coach.process`` does after the landmarker): seconds, not an hour.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.pipeline import Coach, SessionResult
from coach.core.strokes import StrokeDefinition, load_stroke
from coach.core.types import HANDS_LOOKED_FOR, HandObservation
from coach.vision.models import ModelError, find_model

#: 1: MediaPipe's VIDEO mode (two-hand strokes still); 2: a one-hand stroke's landmarker
#: of hand_tracker.offline_landmarker (MediaPipe finds, the landmark network follows).
OBS_VERSION = 1
OBS_VERSION_FOLLOWED = 2


def landmarker_hands(stroke: StrokeDefinition) -> int:
    """How many hands ``coach score`` asks MediaPipe for on this stroke (as
    :func:`coach.cli.score_video` does: keep the two in step): two, whatever the stroke."""
    return HANDS_LOOKED_FOR


@dataclass(frozen=True)
class LandmarkerSettings:
    num_hands: int
    model_sha256: str
    mediapipe: str
    min_confidence: float = 0.5
    mode: str = "video"  # "video": coach score's landmarker; "live": the live page's
    followed: bool = False  # coach score's one-hand landmarker (the network follows)
    #: hand_tracker.TRACKER_VERSION when TrackingHandLandmarker made the landmarks (live
    #: mode, and video mode when ``followed``), else 0 (MediaPipe's VIDEO mode alone).
    tracker: int = 0

    def key(self, clip_sha256: str) -> str:
        d = dict(self.__dict__)
        if d["mode"] == "video":  # keys made before live mode existed stay valid
            d.pop("mode")
        # Keys made before the tracker had a version (0: not tracked; 1: the first
        # tracker) stay valid: only a later version enters the key.
        if d["tracker"] <= 1:
            d.pop("tracker")
        followed = d.pop("followed", False)
        version = OBS_VERSION_FOLLOWED if followed else OBS_VERSION
        text = json.dumps({**d, "clip": clip_sha256, "v": version}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settings_for(
    stroke: StrokeDefinition, num_hands: int | None = None, mode: str = "video"
) -> LandmarkerSettings:
    from coach.vision.hand_tracker import (  # defers the vision SDKs' import
        TRACKER_VERSION,
        offline_follows,
    )

    try:
        mp_version = metadata.version("mediapipe")
    except metadata.PackageNotFoundError:  # pragma: no cover
        mp_version = "?"
    if mode == "live":  # the live page: lite model (full when the lite one is missing)
        try:
            model = find_model(variant="lite")
        except ModelError:
            model = find_model(variant="full")
    else:
        model = find_model(variant="full")
    followed = mode == "video" and offline_follows(stroke.hands)
    return LandmarkerSettings(
        num_hands=num_hands or landmarker_hands(stroke),
        model_sha256=_model_sha(str(model)),
        mediapipe=mp_version,
        mode=mode,
        followed=followed,
        tracker=TRACKER_VERSION if mode == "live" or followed else 0,
    )


_MODEL_SHA: dict[str, str] = {}


def _model_sha(path: str) -> str:
    if path not in _MODEL_SHA:
        _MODEL_SHA[path] = file_sha256(path)
    return _MODEL_SHA[path]


def obs_path(clip: Path, settings: LandmarkerSettings) -> Path:
    kind = "obs" if settings.mode == "video" else f"{settings.mode}-obs"
    return clip.with_name(f"{clip.stem}.{kind}-{settings.key(file_sha256(clip))}.npz")


class RecordingLandmarker:
    """A landmarker that passes frames to ``inner`` and keeps (timestamp, observation)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.records: list[tuple[float, HandObservation | None]] = []

    def detect(self, frame):
        obs = self.inner.detect(frame)
        self.records.append((float(frame.timestamp_s), obs))
        return obs

    def reset(self) -> None:
        self.inner.reset()
        self.records.clear()

    def close(self) -> None:
        self.inner.close()


def save_observations(path: Path, records, size: tuple[int, int]) -> None:
    t = np.array([r[0] for r in records], dtype=np.float64)
    counts = np.array([0 if o is None else o.n_hands for _, o in records], dtype=np.int32)
    lms = [o.landmarks for _, o in records if o is not None]
    scores = [o.scores for _, o in records if o is not None]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part.npz")
    np.savez_compressed(
        tmp,
        t=t,
        counts=counts,
        landmarks=np.concatenate(lms) if lms else np.zeros((0, 21, 3)),
        scores=np.concatenate(scores) if scores else np.zeros(0),
        size=np.array(size, dtype=np.int32),
    )
    os.replace(tmp, path)


def load_observations(path: Path) -> list[tuple[float, HandObservation | None]]:
    with np.load(path) as z:
        t, counts, lms, scores = z["t"], z["counts"], z["landmarks"], z["scores"]
        size = (int(z["size"][0]), int(z["size"][1]))
    out: list[tuple[float, HandObservation | None]] = []
    k = 0
    for ti, n in zip(t, counts, strict=True):
        if n == 0:
            out.append((float(ti), None))
            continue
        obs = HandObservation(float(ti), lms[k : k + n], scores[k : k + n], size)
        out.append((float(ti), obs))
        k += n
    return out


def body_frame_for(info: dict):
    box = tuple(info["tummy_box"])
    return lambda size: BodyFrame.from_box(box, info["head"], info["mirrored"], size)  # type: ignore[arg-type]


def landmark_clip(clip: Path, num_hands: int | None = None, landmarker=None) -> Path:
    """Landmarks of ``clip`` (cached): runs ``coach score``'s loop once when not cached."""
    from coach.services.offline import score_video  # deferred: LiteRT, PyAV, OpenCV, MediaPipe
    from coach.vision.hand_tracker import offline_landmarker  # deferred: LiteRT, OpenCV, MediaPipe

    info = json.loads(clip.with_suffix(".eval.json").read_text())
    stroke = load_stroke(info["stroke"])
    settings = settings_for(stroke, num_hands)
    out = obs_path(clip, settings)
    if out.is_file():
        return out
    inner = landmarker or offline_landmarker(stroke.hands, num_hands=settings.num_hands)
    rec = RecordingLandmarker(inner)
    try:
        report, _session = score_video(str(clip), stroke, body_frame_for(info), landmarker=rec)
    finally:
        if landmarker is None:
            inner.close()
    size = (int(report["video"]["width"]), int(report["video"]["height"]))
    save_observations(out, rec.records, size)
    return out


def landmark_clip_live(clip: Path) -> Path:
    """Landmarks of ``clip`` as the live page sees them (cached): every frame through
    :class:`coach.live.LiveCoach` (its landmarker: MediaPipe finds the hand, the lite
    landmark network follows it), the observations recorded on the way."""
    from coach.services.live import LiveCoach, default_landmarker_factory  # deferred: OpenCV
    from coach.vision.video import open_video  # deferred: PyAV

    info = json.loads(clip.with_suffix(".eval.json").read_text())
    stroke = load_stroke(info["stroke"])
    # LiveCoach asks for as many hands as the stroke needs (LiveCoach._get_landmarker)
    settings = settings_for(stroke, landmarker_hands(stroke), mode="live")
    out = obs_path(clip, settings)
    if out.is_file():
        return out
    made: list[RecordingLandmarker] = []

    def factory(num_hands: int) -> RecordingLandmarker:
        made.append(RecordingLandmarker(default_landmarker_factory(num_hands)))
        return made[-1]

    with open_video(clip) as reader:
        size = (reader.info.width, reader.info.height)
        live = LiveCoach(stroke, body_frame_for(info)(size), landmarker_factory=factory)
        try:
            for frame in reader:
                live.process(frame.image, frame.timestamp_s)
            live.finish()
        finally:
            live.close()
    save_observations(out, made[-1].records if made else [], size)
    return out


def run_coach(
    info: dict, records: list[tuple[float, HandObservation | None]], size: tuple[int, int]
) -> SessionResult:
    """The coaching pipeline over recorded observations (what ``Coach.process`` does)."""
    return run_coach_tracked(info, records, size)[0]


def run_coach_tracked(
    info: dict, records: list[tuple[float, HandObservation | None]], size: tuple[int, int]
) -> tuple[SessionResult, np.ndarray]:
    """:func:`run_coach`, and the coach's contact point per frame ((n, 2) uv, NaN if none)."""
    stroke = load_stroke(info["stroke"])
    coach = Coach(stroke, body_frame_for(info)(size))
    uv = np.full((len(records), 2), np.nan)
    for i, (t, obs) in enumerate(records):
        res = coach.update(obs, t)
        if res.track is not None:
            uv[i] = res.track.uv
    return coach.finish(), uv
