"""Live coaching for one browser session: frames in, annotated frames and events out.

:class:`LiveCoach` runs on the video worker thread (``process(frame_rgb,
timestamp_s) -> annotated_rgb``) with the very same per-frame pipeline as
``coach score`` (:class:`coach.core.pipeline.Coach`). What the page shows goes out as
events through a bounded queue (:mod:`coach.services.events`). A frame arriving while
the previous one is still being processed is not queued: it gets the last annotated
frame back at once (counted as dropped), so latency never builds up. Calibration is
:mod:`coach.services.calibration`, the remembered settings
:mod:`coach.storage.settings`.

No streamlit here, and no environment variables: the page passes everything in."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import StrokeDefinition
from coach.core.types import HANDS_LOOKED_FOR, Frame, LiveStatus, TrackPoint
from coach.render import draw as overlay
from coach.services.calibration import CalibrationConfig, HandOnTummy
from coach.services.events import EventQueue, LiveEvent, LiveStats, percentile
from coach.vision.models import ModelError

log = logging.getLogger(__name__)


# =================================================================================================
# The per-session live coach
# =================================================================================================


#: The hand model variant of the live page (see coach.vision.models): the lite landmark model
#: costs about 10 ms a frame here against 16 ms for the full one, which matters when
#: the browser shares the two cores and a frame comes every 33 ms.
LIVE_MODEL_VARIANT = "lite"


def default_landmarker_factory(num_hands: int):
    """The live landmarker: MediaPipe finds the hand, then the landmark network alone
    follows it on the calling thread (:class:`coach.vision.hand_tracker.TrackingHandLandmarker`),
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
        self._last_status: LiveStatus | None = None
        self._last_stats_at = 0.0
        self._clock = _Clock()
        self.frames_in = 0
        self.frames_processed = 0
        self.frames_dropped = 0
        self.frames_failed = 0  # frames the pipeline raised on (answered with the raw frame)
        self._failures_said: set[str] = set()
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
        """Close the session in progress and return its :class:`coach.core.pipeline.SessionResult`
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
            try:
                out = self._process(frame_rgb, float(timestamp_s))
            except Exception as exc:  # noqa: BLE001 - the video goes on; the page says why
                return self._failed(frame_rgb, float(timestamp_s), exc)
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

    def _failed(self, image: np.ndarray, t: float, exc: Exception) -> np.ndarray:
        """A frame the pipeline raised on: the raw frame goes back (the video never
        freezes), the error is logged, and the page is told once per kind of failure
        (its exception type, all the page names: a message that changes every frame, an
        index or a time, would otherwise flood the event queue and push the hints out).
        streamlit-webrtc would swallow the exception and stop the video without a word."""
        self.frames_failed += 1
        kind = type(exc).__name__
        if kind not in self._failures_said:
            self._failures_said.add(kind)
            log.error("live frame at %.3f s failed", t, exc_info=exc)
            self.events.put(
                LiveEvent(
                    "error", t,
                    "The coach could not process the video and is not scoring it "
                    f"({kind}). Press Stop and Start to try again.",
                )
            )  # fmt: skip
        return image

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
        self._failures_said.clear()
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

    def _set_status(self, status: LiveStatus, t: float) -> None:
        if status != self._last_status:
            self._last_status = status
            self.events.put(LiveEvent("status", t, status))

    def _maybe_stats(self) -> None:
        now = time.monotonic()
        if now - self._last_stats_at >= self.stats_every_s:
            self._last_stats_at = now
            self.events.put(LiveEvent("stats", self._last_t or 0.0, self.stats()))
