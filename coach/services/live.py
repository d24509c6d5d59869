"""Live coaching for one browser session: frames in, annotated frames and events out.

:class:`LiveCoach` runs on the video worker thread (``process(frame_rgb,
timestamp_s) -> annotated_rgb``) with the very same per-frame pipeline as
``coach score`` (:class:`coach.pipeline.Coach`). What the page shows (hints,
repetition scores, status, calibration progress, statistics) goes out through a
bounded queue: ``put_nowait``, and when it is full the oldest event is dropped,
so a page that stops polling never blocks the video. A frame arriving while the
previous one is still being processed is not queued: it gets the last annotated
frame back at once (counted as dropped), so latency never builds up.

Also here: hand-on-tummy calibration (:class:`HandOnTummy`), the drag-a-box
helper (:func:`body_frame_from_display_box`) and the settings remembered between
visits (:class:`LiveSettings`, saved as JSON in a folder the caller names).

Mirroring: ``mirror_preview`` flips only what the user sees. Frames from the
browser are in true geometry unless ``camera_mirrored`` says the camera itself
flips them; that goes into the body frame, so verdicts use true geometry.

No streamlit here, and no environment variables: the page passes everything in.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from coach.core.bodyframe import HEAD_DIRECTIONS, BodyFrame, HeadDirection
from coach.core.strokes import StrokeDefinition
from coach.core.types import HANDS_LOOKED_FOR, Frame, HandObservation, TrackPoint
from coach.render import draw as overlay
from coach.storage.atomic import write_json_atomic
from coach.vision.models import ModelError

log = logging.getLogger(__name__)

SETTINGS_SCHEMA = "coach.live-settings/1"
SETTINGS_FILE = "live-settings.json"

# MediaPipe landmark indices (strokes.md section 2).
WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, PINKY_MCP = 0, 5, 9, 13, 17
PALM = (0, 5, 9, 13, 17)
FINGERS = ((5, 8), (9, 12), (13, 16), (17, 20))  # (MCP, tip) of index .. little finger


# =================================================================================================
# Events and statistics
# =================================================================================================


@dataclass(frozen=True)
class LiveEvent:
    """One message for the page.

    ``kind``: ``"hint"`` (payload :class:`coach.types.Hint`), ``"repetition"``
    (:class:`coach.types.RepetitionScore`), ``"status"`` (str), ``"calibration"``
    (:class:`CalibrationState`), ``"calibrated"`` (:class:`BodyFrame`), ``"stats"``
    (:class:`LiveStats`), ``"session"`` (a new session started: stream restarted).
    """

    kind: str
    t_s: float
    payload: Any = None


@dataclass(frozen=True)
class LiveStats:
    frames_in: int  # frames offered to process()
    frames_processed: int  # frames that went through the pipeline
    frames_dropped: int  # frames answered with the last annotated frame (worker busy)
    fps: float  # processed frames per second over the last ~2 s (wall clock)
    processing_ms_p50: float
    processing_ms_p95: float
    processing_ms_last: float


class EventQueue:
    """A bounded queue that never blocks the producer: when full, the oldest event goes."""

    def __init__(self, maxsize: int = 64):
        if maxsize < 1:
            raise ValueError(f"EventQueue: expected maxsize >= 1, found {maxsize}")
        self._q: queue.Queue[LiveEvent] = queue.Queue(maxsize=maxsize)
        self.dropped = 0

    def put(self, event: LiveEvent) -> None:
        while True:
            try:
                self._q.put_nowait(event)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._q.get_nowait()
                    self.dropped += 1

    def drain(self, timeout_s: float = 0.0) -> list[LiveEvent]:
        """Every event waiting now; waits up to ``timeout_s`` for the first one."""
        out: list[LiveEvent] = []
        try:
            out.append(self._q.get(timeout=timeout_s) if timeout_s > 0 else self._q.get_nowait())
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def qsize(self) -> int:
        return self._q.qsize()


def percentile(values, q: float) -> float:
    """``q``-th percentile (0..100) of ``values``; nan when empty."""
    arr = np.asarray(list(values), dtype=np.float64)
    return float(np.percentile(arr, q)) if arr.size else float("nan")


# =================================================================================================
# Calibration
# =================================================================================================


@dataclass(frozen=True)
class CalibrationConfig:
    hold_s: float = 2.0  # how long the flat hand must stay still
    still_palm: float = 0.15  # allowed wander of the palm centre, in palm widths
    flat_ratio: float = 1.55  # wrist->tip over wrist->MCP: straight fingers are well above
    flat_fingers: int = 3  # this many of the four fingers must be straight
    box_per_palm_width: float = 1.6  # tummy box width over palm width (assumed; tune per doll)
    box_aspect: float = 1.0  # tummy box height (v extent) over width (u extent)


@dataclass(frozen=True)
class CalibrationState:
    """Progress of hand-on-tummy calibration, for the page and the overlay."""

    fraction: float  # 0..1 of the hold time
    message: str  # what to do, for the page
    short: str  # the same in a few words, for the overlay
    centre_xy: tuple[float, float] | None = None  # palm centre, frame as received
    done: bool = False


def palm_pose(landmarks: np.ndarray, image_size: tuple[int, int], camera_mirrored: bool = False):
    """Palm centre (normalised, frame as received), head angle (true picture, radians,
    0 = up, clockwise positive) from wrist to middle-finger knuckle, palm width (pixels,
    index to little-finger knuckle) and whether the hand is flat. ``landmarks`` (21, 3)."""
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
    w, h = image_size
    px = lm * np.array([w, h], dtype=np.float64)
    centre = lm[list(PALM)].mean(axis=0)
    d = px[MIDDLE_MCP] - px[WRIST]
    if camera_mirrored:
        d[0] = -d[0]  # the true picture is the received one flipped
    angle = math.atan2(d[0], -d[1])
    width_px = float(np.linalg.norm(px[INDEX_MCP] - px[PINKY_MCP]))
    return centre, angle, width_px, px


def fingers_straight(px: np.ndarray, ratio: float) -> int:
    """How many of the four fingers are straight (tip well beyond the knuckle from the wrist)."""
    wrist = px[WRIST]
    n = 0
    for mcp, tip in FINGERS:
        knuckle = np.linalg.norm(px[mcp] - wrist)
        if knuckle > 1e-6 and np.linalg.norm(px[tip] - wrist) / knuckle >= ratio:
            n += 1
    return n


class HandOnTummy:
    """Calibrate from a flat hand held still on the tummy, fingers towards the head.

    ``update(observation, timestamp_s)`` returns a :class:`CalibrationState`; when
    the hand has been flat and still for ``hold_s``, :attr:`body_frame` is set from
    the averages over the hold: centre = palm centre, head direction = wrist to
    middle knuckle, box width = ``box_per_palm_width`` palm widths.
    """

    def __init__(self, config: CalibrationConfig | None = None, camera_mirrored: bool = False):
        self.config = config or CalibrationConfig()
        self.camera_mirrored = camera_mirrored
        self.body_frame: BodyFrame | None = None
        self._held: deque[tuple[float, np.ndarray, float, float]] = deque()
        self._size: tuple[int, int] | None = None

    def reset(self) -> None:
        self.body_frame = None
        self._held.clear()

    def update(self, obs: HandObservation | None, timestamp_s: float) -> CalibrationState:
        cfg = self.config
        if self.body_frame is not None:
            return CalibrationState(1.0, "Calibrated", "done", done=True)
        if obs is None:
            self._held.clear()
            return CalibrationState(
                0.0, "Lay one flat hand on the tummy, fingers towards the head.", "show a flat hand"
            )
        self._size = obs.image_size
        best = int(np.argmax(np.nan_to_num(obs.scores, nan=0.0))) if obs.n_hands > 1 else 0
        centre, angle, width_px, px = palm_pose(
            obs.landmarks[best], obs.image_size, self.camera_mirrored
        )
        centre_t = (float(centre[0]), float(centre[1]))
        if width_px <= 1.0 or fingers_straight(px, cfg.flat_ratio) < cfg.flat_fingers:
            self._held.clear()
            return CalibrationState(
                0.0, "Straighten your fingers: a flat hand.", "flat hand", centre_t
            )
        if self._held:
            ref = np.mean([c for _, c, _, _ in self._held], axis=0)
            wander_px = np.linalg.norm((centre - ref) * np.array(obs.image_size))
            if wander_px > cfg.still_palm * width_px:
                self._held.clear()
        self._held.append((timestamp_s, centre, angle, width_px))
        held_s = timestamp_s - self._held[0][0]
        if held_s < cfg.hold_s:
            return CalibrationState(held_s / cfg.hold_s, "Hold still...", "hold still", centre_t)
        self.body_frame = self._finish()
        self._held.clear()
        return CalibrationState(
            1.0, "Calibrated: the tummy box is set.", "done", centre_t, done=True
        )

    def _finish(self) -> BodyFrame:
        cfg = self.config
        centres = np.array([c for _, c, _, _ in self._held])
        angles = np.array([a for _, _, a, _ in self._held])
        widths = np.array([wd for _, _, _, wd in self._held])
        angle = math.atan2(float(np.mean(np.sin(angles))), float(np.mean(np.cos(angles))))
        box_w = float(np.median(widths)) * cfg.box_per_palm_width
        assert self._size is not None
        return BodyFrame.from_pose(
            tuple(centres.mean(axis=0)), angle, box_w, box_w * cfg.box_aspect, self._size,
            mirrored=self.camera_mirrored,
        )  # fmt: skip


def box_from_display(box: tuple[float, float, float, float], mirror_preview: bool):
    """A box drawn on the (possibly mirrored) preview -> the same box in the received frame."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if mirror_preview:
        x0, x1 = 1.0 - x1, 1.0 - x0
    return (x0, y0, x1, y1)


def head_from_display(head: HeadDirection, mirror_preview: bool) -> HeadDirection:
    """Where the head is in the received frame, given where the user sees it on the preview."""
    if head not in HEAD_DIRECTIONS:
        raise ValueError(f"head: expected one of {', '.join(HEAD_DIRECTIONS)}, found {head!r}")
    if mirror_preview:
        return {"left": "right", "right": "left"}.get(head, head)  # type: ignore[return-value]
    return head


def body_frame_from_display_box(
    box: tuple[float, float, float, float],
    head: HeadDirection,
    *,
    mirror_preview: bool,
    camera_mirrored: bool = False,
    image_size: tuple[int, int] | None = None,
) -> BodyFrame:
    """Drag-a-box calibration: the box and head direction as the user sees them."""
    return BodyFrame.from_box(
        box_from_display(box, mirror_preview),
        head_from_display(head, mirror_preview),
        mirrored=camera_mirrored,
        image_size=image_size,
    )


# =================================================================================================
# Settings remembered between visits
# =================================================================================================


@dataclass(frozen=True)
class LiveSettings:
    stroke_id: str = "i-love-you"
    mirror_preview: bool = True
    camera_mirrored: bool = False
    spoken_hints: bool = False
    safety_seen: bool = False
    body_frame: dict | None = None  # BodyFrame.to_dict() of the last calibration
    box: tuple[float, float, float, float] | None = None  # last dragged box, display coordinates
    head: HeadDirection = "up"  # last head direction, display coordinates

    def calibration(self) -> BodyFrame | None:
        if self.body_frame is None:
            return None
        try:
            return BodyFrame.from_dict(self.body_frame)
        except ValueError:
            return None


def settings_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / SETTINGS_FILE


def load_settings(data_dir: str | os.PathLike) -> LiveSettings:
    """The saved settings, or defaults when there are none or the file is unreadable."""
    path = settings_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return LiveSettings()
    if not isinstance(data, dict) or data.get("schema") != SETTINGS_SCHEMA:
        return LiveSettings()
    known = {f for f in LiveSettings.__dataclass_fields__}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("box") is not None:
        values["box"] = tuple(float(v) for v in values["box"])
    if values.get("head") not in HEAD_DIRECTIONS:
        values.pop("head", None)
    try:
        return LiveSettings(**values)
    except TypeError:
        return LiveSettings()


def save_settings(data_dir: str | os.PathLike, settings: LiveSettings) -> Path:
    """Write the settings atomically (a temporary file renamed over the old one)."""
    path = settings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"schema": SETTINGS_SCHEMA, **asdict(settings)}
    return write_json_atomic(path, data, mode=None, newline=False)  # private: 0600


# =================================================================================================
# The per-session live coach
# =================================================================================================


#: The hand model variant of the live page (see coach.models): the lite landmark model
#: costs about 10 ms a frame here against 16 ms for the full one, which matters when
#: the browser shares the two cores and a frame comes every 33 ms.
LIVE_MODEL_VARIANT = "lite"


def default_landmarker_factory(num_hands: int):
    """The live landmarker: MediaPipe finds the hand, then the landmark network alone
    follows it on the calling thread (:class:`coach.hand_tracker.TrackingHandLandmarker`),
    with the lite model, or the full one when the lite bundle is missing (a clone set up
    before it existed); ``landmarker.variant`` says which."""
    # Imported here: only where mediapipe and LiteRT are wanted.
    from coach.vision.hand_tracker import TrackingHandLandmarker  # noqa: PLC0415

    try:
        return TrackingHandLandmarker(num_hands=num_hands, variant=LIVE_MODEL_VARIANT)
    except ModelError as exc:
        log.warning("live: using the full hand model (%s); `make setup` builds the lite one", exc)
        return TrackingHandLandmarker(num_hands=num_hands, variant="full")


@dataclass
class _Clock:
    """Per-frame processing times (ms) and wall-clock completion times (s)."""

    ms: deque = field(default_factory=lambda: deque(maxlen=1800))  # ~1 min at 30 fps
    done_at: deque = field(default_factory=lambda: deque(maxlen=120))


class LiveCoach:
    """One per browser session. Thread-safe: ``process`` runs on the video worker
    thread, the other methods on the page's thread.

    ``landmarker_factory(num_hands)`` makes the hand landmarker (lazily, on the first
    frame: the worker thread pays its start-up, not the page). ``body_frame`` None
    means "not calibrated yet": frames are shown with a prompt and only calibration runs.
    """

    def __init__(
        self,
        stroke: StrokeDefinition,
        body_frame: BodyFrame | None = None,
        *,
        landmarker_factory: Callable[[int], Any] = default_landmarker_factory,
        mirror_preview: bool = False,
        camera_mirrored: bool = False,
        queue_size: int = 64,
        trace_s: float = 3.0,
        stats_every_s: float = 0.5,
        calibration: CalibrationConfig | None = None,
    ) -> None:
        self.events = EventQueue(queue_size)
        self._factory = landmarker_factory
        self._landmarker = None
        self._landmarker_hands = 0
        self._lock = threading.RLock()  # guards the pipeline state
        self._busy = threading.Lock()  # held while a frame is processed
        self.stroke = stroke
        self.body_frame = body_frame
        self.mirror_preview = mirror_preview
        self.camera_mirrored = camera_mirrored
        self.trace_s = trace_s
        self.stats_every_s = stats_every_s
        self._cal_config = calibration or CalibrationConfig()
        self._calibrator: HandOnTummy | None = None
        self._coach = None
        self._trace: deque[TrackPoint] = deque()
        self._last_out: np.ndarray | None = None
        self._last_in: np.ndarray | None = None
        self._last_t: float | None = None
        self._last_status = ""
        self._last_stats_at = 0.0
        self._clock = _Clock()
        self.frames_in = 0
        self.frames_processed = 0
        self.frames_dropped = 0
        self.sessions = 0
        self.last_result = None
        self._closed = False
        self._make_coach()

    # -- control (page thread) -----------------------------------------------------------------

    def set_stroke(self, stroke: StrokeDefinition) -> None:
        with self._lock:
            self.stroke = stroke
            self._make_coach()

    def set_body_frame(self, body_frame: BodyFrame | None) -> None:
        with self._lock:
            self.body_frame = body_frame
            if self._coach is not None and body_frame is not None:
                self._coach.set_body_frame(body_frame)
            else:
                self._make_coach()
            self._trace.clear()

    def set_mirror(
        self, *, mirror_preview: bool | None = None, camera_mirrored: bool | None = None
    ) -> None:
        with self._lock:
            if mirror_preview is not None:
                self.mirror_preview = bool(mirror_preview)
            if camera_mirrored is not None and bool(camera_mirrored) != self.camera_mirrored:
                self.camera_mirrored = bool(camera_mirrored)
                if self._calibrator is not None:
                    self._calibrator = HandOnTummy(self._cal_config, self.camera_mirrored)

    def start_calibration(self) -> None:
        """Begin hand-on-tummy calibration: coaching pauses until it finishes or is cancelled."""
        with self._lock:
            self._calibrator = HandOnTummy(self._cal_config, self.camera_mirrored)

    def cancel_calibration(self) -> None:
        with self._lock:
            self._calibrator = None

    @property
    def calibrating(self) -> bool:
        return self._calibrator is not None

    def reset(self) -> None:
        """Start a new session (same stroke and calibration)."""
        with self._lock:
            self._make_coach()
            self._trace.clear()
            self.sessions += 1

    def finish(self):
        """Close the session in progress and return its :class:`coach.pipeline.SessionResult`
        (None when not calibrated)."""
        with self._lock:
            return None if self._coach is None else self._coach.finish()

    def session(self):
        with self._lock:
            return None if self._coach is None else self._coach.session()

    def snapshot(self) -> np.ndarray | None:
        """The latest frame as received (RGB), for drag-a-box calibration."""
        with self._lock:
            return None if self._last_in is None else self._last_in.copy()

    def stats(self) -> LiveStats:
        with self._lock:
            ms = list(self._clock.ms)
            done = list(self._clock.done_at)
        fps = float("nan")
        if len(done) >= 2:
            recent = [t for t in done if done[-1] - t <= 2.0]
            if len(recent) >= 2 and recent[-1] > recent[0]:
                fps = (len(recent) - 1) / (recent[-1] - recent[0])
        return LiveStats(
            frames_in=self.frames_in,
            frames_processed=self.frames_processed,
            frames_dropped=self.frames_dropped,
            fps=fps,
            processing_ms_p50=percentile(ms, 50),
            processing_ms_p95=percentile(ms, 95),
            processing_ms_last=ms[-1] if ms else float("nan"),
        )

    def processing_times_ms(self) -> list[float]:
        with self._lock:
            return list(self._clock.ms)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._landmarker is not None:
                with contextlib.suppress(Exception):
                    self._landmarker.close()
                self._landmarker = None

    # -- per frame (worker thread) ---------------------------------------------------------------

    def process(self, frame_rgb: np.ndarray, timestamp_s: float) -> np.ndarray:
        """Run one frame through the pipeline; returns the annotated RGB frame.

        Never raises on odd frames: a frame that comes while another is processed,
        or whose timestamp is not after the last one, is answered at once with the
        last annotated frame (or the frame itself) and counted as dropped.
        """
        self.frames_in += 1
        if not self._busy.acquire(blocking=False):
            self.frames_dropped += 1
            return self._last_out if self._last_out is not None else frame_rgb
        try:
            t0 = time.perf_counter()
            out = self._process(frame_rgb, float(timestamp_s))
            elapsed_ms = (time.perf_counter() - t0) * 1000.0
            with self._lock:
                self._clock.ms.append(elapsed_ms)
                self._clock.done_at.append(time.monotonic())
            self._maybe_stats()
            return out
        finally:
            self._busy.release()

    def _process(self, image: np.ndarray, t: float) -> np.ndarray:
        with self._lock:
            if self._closed:
                return image
            if self._last_t is not None and t <= self._last_t:
                if t < self._last_t - 1.0:  # the stream restarted: a new session
                    self._new_session(t)
                else:  # a repeated or out-of-order frame
                    self.frames_dropped += 1
                    return self._last_out if self._last_out is not None else image
            self._last_t = t
            self._last_in = image
            landmarker = self._get_landmarker()
            frame = Frame(image, t, self.frames_processed)
            observation = landmarker.detect(frame) if landmarker is not None else None
            self.frames_processed += 1
            if self._calibrator is not None:
                return self._calibrate(image, observation, t)
            if self._coach is None:
                self._set_status("calibrate", t)
                out = overlay.draw(image, None, mirror=self.mirror_preview, status="calibrate")
                self._last_out = out
                return out
            result = self._coach.update(observation, t)
            self.last_result = result
            self._publish(result)
            if result.track is not None:
                self._trace.append(result.track)
            while self._trace and t - self._trace[0].timestamp_s > self.trace_s:
                self._trace.popleft()
            out = overlay.draw(
                image, result, stroke=self.stroke, body_frame=self.body_frame,
                trace=tuple(self._trace), mirror=self.mirror_preview,
            )  # fmt: skip
            self._last_out = out
            return out

    def _calibrate(self, image: np.ndarray, observation, t: float) -> np.ndarray:
        assert self._calibrator is not None
        state = self._calibrator.update(observation, t)
        self.events.put(LiveEvent("calibration", t, state))
        self._set_status("calibrating", t)
        out = overlay.draw(
            image, None, mirror=self.mirror_preview, status="calibrating", detail=state.short
        )
        if state.centre_xy is not None:
            proj = overlay.Projector(image.shape[1], image.shape[0], self.mirror_preview)
            overlay.draw_hold_progress(
                out, np.array(state.centre_xy), state.fraction, proj, overlay.Style()
            )
        if state.done and self._calibrator.body_frame is not None:
            bf = self._calibrator.body_frame
            self._calibrator = None
            self.set_body_frame(bf)
            self.events.put(LiveEvent("calibrated", t, bf))
        self._last_out = out
        return out

    # -- helpers ---------------------------------------------------------------------------------

    def _make_coach(self) -> None:
        from coach.core.pipeline import Coach  # noqa: PLC0415 - keeps this module light to import

        self._coach = None if self.body_frame is None else Coach(self.stroke, self.body_frame)
        self.last_result = None

    def _new_session(self, t: float) -> None:
        self._make_coach()
        self._trace.clear()
        self.sessions += 1
        if self._landmarker is not None:
            self._landmarker.reset()
        self.events.put(LiveEvent("session", t, self.sessions))

    def _get_landmarker(self):
        want = HANDS_LOOKED_FOR
        if self._landmarker is not None and self._landmarker_hands != want:
            with contextlib.suppress(Exception):
                self._landmarker.close()
            self._landmarker = None
        if self._landmarker is None:
            self._landmarker = self._factory(want)
            self._landmarker_hands = want
        return self._landmarker

    def _publish(self, result) -> None:
        t = result.timestamp_s
        if result.new_hint and result.hint is not None:
            self.events.put(LiveEvent("hint", t, result.hint))
        for rep in result.new_repetitions:
            self.events.put(LiveEvent("repetition", t, rep))
        self._set_status(result.status, t)

    def _set_status(self, status: str, t: float) -> None:
        if status != self._last_status:
            self._last_status = status
            self.events.put(LiveEvent("status", t, status))

    def _maybe_stats(self) -> None:
        now = time.monotonic()
        if now - self._last_stats_at >= self.stats_every_s:
            self._last_stats_at = now
            self.events.put(LiveEvent("stats", self._last_t or 0.0, self.stats()))


def with_updates(settings: LiveSettings, **changes) -> LiveSettings:
    """``dataclasses.replace`` for settings (kept here so the page needs one import)."""
    return replace(settings, **changes)


# =================================================================================================
# What the page shows, rebuilt from events (pure)
# =================================================================================================


@dataclass(frozen=True)
class LiveView:
    """The page's picture of a live session, folded from :class:`LiveEvent` s."""

    hint: Any = None  # coach.types.Hint currently shown
    hint_serial: int = 0  # bumps with every new hint (the page speaks each one once)
    repetitions: tuple = ()  # RepetitionScore, oldest first
    status: str = ""
    stats: LiveStats | None = None
    calibration: CalibrationState | None = None
    calibrated: BodyFrame | None = None  # set when hand-on-tummy calibration finished
    session: int = 0


def apply_events(view: LiveView, events: list[LiveEvent]) -> LiveView:
    """Fold events into the view; returns the same object when nothing changed."""
    if not events:
        return view
    changes: dict[str, Any] = {}
    reps = list(view.repetitions)
    serial = view.hint_serial
    for e in events:
        if e.kind == "hint":
            serial += 1
            changes.update(hint=e.payload, hint_serial=serial)
        elif e.kind == "repetition":
            reps.append(e.payload)
        elif e.kind == "status":
            changes["status"] = e.payload
        elif e.kind == "stats":
            changes["stats"] = e.payload
        elif e.kind == "calibration":
            changes["calibration"] = e.payload
        elif e.kind == "calibrated":
            changes.update(calibrated=e.payload, calibration=None)
        elif e.kind == "session":
            reps = []
            changes.update(session=e.payload, hint=None)
    changes["repetitions"] = tuple(reps)
    return replace(view, **changes)
