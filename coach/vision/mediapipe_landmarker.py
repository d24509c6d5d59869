"""Hand landmarks from MediaPipe's HandLandmarker (the only module that imports mediapipe).

:class:`HandLandmarker` turns a :class:`coach.core.types.Frame` into a
:class:`coach.core.types.HandObservation` (or ``None`` when no hand is seen):
landmarks (n_hands, 21, 3) with x, y normalised to the frame (0..1, x right, y down)
and z MediaPipe's relative depth; scores are the handedness confidences.

Video frames go through MediaPipe's VIDEO mode, which tracks hands from frame to
frame and needs strictly increasing integer millisecond timestamps; still images
(:meth:`HandLandmarker.detect_image`) through a separate IMAGE-mode task.

MediaPipe's native code logs start-up chatter straight to the process's stderr;
it is silenced while a task is created and while it runs for the first time.
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401  (import order matters: see _close_all_at_exit)
import contextlib
import os
import threading
import weakref
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.core.base_options import BaseOptions

from coach.core.types import Frame, HandObservation
from coach.vision.closing import Closing
from coach.vision.models import ModelError, bundle_problem, check_variant, find_model
from coach.vision.quiet import quiet_native_stderr

N_LANDMARKS = 21


def _close_tasks(tasks: dict[str, object]) -> None:
    """Close every MediaPipe task in ``tasks`` (on close, garbage collection or exit)."""
    for key in list(tasks):
        task = tasks.pop(key)
        with contextlib.suppress(Exception):
            task.close()  # type: ignore[attr-defined]


#: Landmarkers not yet closed; closed by :func:`_close_all_at_exit`.
_OPEN: weakref.WeakSet[HandLandmarker] = weakref.WeakSet()


def _close_all_at_exit() -> None:
    """Close landmarkers the program left open.

    MediaPipe runs each task's native calls on a worker thread; a task still open
    when the interpreter shuts down fails noisily in its ``__del__``. This hook runs
    while worker threads still work: ``threading._register_atexit`` hooks run
    before the thread pools shut down (plain ``atexit`` hooks run after).
    """
    for landmarker in list(_OPEN):
        with contextlib.suppress(Exception):
            landmarker.close()


# Exit hooks of this kind run last-registered first. The thread pools register
# theirs when concurrent.futures.thread is first imported (lazily, on first use);
# it is imported at the top of this module, so our hook runs before the pools stop.
_register_exit_hook = getattr(threading, "_register_atexit", atexit.register)
_register_exit_hook(_close_all_at_exit)


def monotonic_ms(timestamp_s: float, last_ms: int | None) -> int:
    """Integer milliseconds for ``timestamp_s``, strictly after ``last_ms``.

    ``round(timestamp_s * 1000)``, or ``last_ms + 1`` when that is not later
    (repeated or out-of-order frames): MediaPipe's VIDEO mode rejects anything else.
    """
    ms = int(round(timestamp_s * 1000.0))
    if last_ms is not None and ms <= last_ms:
        ms = last_ms + 1
    return ms


def _check_fraction(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name}: expected a number in [0, 1], found {value!r}")
    return float(value)


def _mp_image(image: np.ndarray) -> mp.Image:
    """Wrap an RGB uint8 (H, W, 3) array for MediaPipe."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        found = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image)
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), found {found}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), found {image.dtype}")
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))


def _observation(
    result: vision.HandLandmarkerResult, timestamp_s: float, image_size: tuple[int, int]
) -> HandObservation | None:
    """Convert a MediaPipe result; ``None`` when it holds no hand."""
    hands = result.hand_landmarks or []
    if not hands:
        return None
    landmarks = np.array([[(p.x, p.y, p.z) for p in hand] for hand in hands], dtype=np.float64)
    scores = np.array(
        [
            float(result.handedness[i][0].score)
            if i < len(result.handedness) and result.handedness[i]
            else float("nan")
            for i in range(len(hands))
        ],
        dtype=np.float64,
    )
    return HandObservation(
        timestamp_s=float(timestamp_s), landmarks=landmarks, scores=scores, image_size=image_size
    )


class HandLandmarker(Closing):
    """MediaPipe hand landmarks for video frames (VIDEO mode) and still images (IMAGE mode).

    ``model_path`` defaults to the bundle of ``variant`` ("full", or "lite" for the
    live page: see :mod:`coach.vision.models`) found by :func:`coach.vision.models.find_model`;
    ``variant`` only chooses that default. Use as a context manager or call
    :meth:`close`: MediaPipe tasks must be closed explicitly.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        num_hands: int = 2,
        min_hand_detection_confidence: float = 0.5,
        min_hand_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        variant: str = "full",
        preload: str = "video",
    ) -> None:
        if not isinstance(num_hands, int) or num_hands < 1:
            raise ValueError(f"num_hands: expected an integer >= 1, found {num_hands!r}")
        self.num_hands = num_hands
        self.min_hand_detection_confidence = _check_fraction(
            "min_hand_detection_confidence", min_hand_detection_confidence
        )
        self.min_hand_presence_confidence = _check_fraction(
            "min_hand_presence_confidence", min_hand_presence_confidence
        )
        self.min_tracking_confidence = _check_fraction(
            "min_tracking_confidence", min_tracking_confidence
        )
        self.variant = check_variant(variant)
        if preload not in ("video", "image"):
            raise ValueError(f"preload: expected 'video' or 'image', found {preload!r}")
        self.model_path = (
            Path(model_path) if model_path is not None else find_model(variant=variant)
        )
        problem = bundle_problem(self.model_path)
        if problem is not None:
            raise ModelError(f"hand model at {self.model_path} is not usable ({problem})")
        self._tasks: dict[str, object] = {}
        self._first_run: set[str] = set()
        self._last_ms: int | None = None
        self._closed = False
        self._finalizer = weakref.finalize(self, _close_tasks, self._tasks)
        self._finalizer.atexit = False  # too late at exit: _close_all_at_exit does it
        _OPEN.add(self)
        # Load the task of the mode that will be used now: fail here, not on the first
        # frame, if the model does not load. The other mode's task is made on first use.
        self._task(preload)

    # ----------------------------------------------------------------- tasks

    def _task(self, mode: str) -> vision.HandLandmarker:
        """The task for ``mode`` ("video" or "image"), created on first use."""
        if self._closed:
            raise RuntimeError("HandLandmarker is closed")
        task = self._tasks.get(mode)
        if task is None:
            running_mode = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
            options = vision.HandLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(self.model_path)),
                running_mode=running_mode,
                num_hands=self.num_hands,
                min_hand_detection_confidence=self.min_hand_detection_confidence,
                min_hand_presence_confidence=self.min_hand_presence_confidence,
                min_tracking_confidence=self.min_tracking_confidence,
            )
            try:
                with quiet_native_stderr():
                    task = vision.HandLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as exc:
                reason = " ".join(str(exc).split())
                raise ModelError(
                    f"cannot load the hand model {self.model_path}: {reason}"
                ) from None
            self._tasks[mode] = task
            self._first_run.add(mode)
        return task  # type: ignore[return-value]

    def _run(self, mode: str, call: object) -> vision.HandLandmarkerResult:
        """Run ``call`` (the first run of a task with native logging silenced)."""
        if mode in self._first_run:
            self._first_run.discard(mode)
            with quiet_native_stderr():
                return call()  # type: ignore[operator]
        return call()  # type: ignore[operator]

    # ----------------------------------------------------------------- public

    @property
    def modes_open(self) -> tuple[str, ...]:
        """The modes ("video", "image") whose MediaPipe task exists now."""
        return tuple(sorted(self._tasks))

    def next_timestamp_ms(self, timestamp_s: float) -> int:
        """The timestamp MediaPipe gets for ``timestamp_s``, in ms; see :func:`monotonic_ms`."""
        self._last_ms = monotonic_ms(timestamp_s, self._last_ms)
        return self._last_ms

    def detect(self, frame: Frame) -> HandObservation | None:
        """Landmarks of the hands in a video frame, or ``None`` when no hand is seen.

        Frames must come in time order; call :meth:`reset` before a new video.
        """
        task = self._task("video")
        image = _mp_image(frame.image)
        ms = self.next_timestamp_ms(frame.timestamp_s)
        result = self._run("video", lambda: task.detect_for_video(image, ms))
        return _observation(result, frame.timestamp_s, (frame.width, frame.height))

    def detect_image(self, image: np.ndarray, timestamp_s: float = 0.0) -> HandObservation | None:
        """Landmarks of the hands in a still RGB uint8 image (no tracking between calls)."""
        task = self._task("image")
        mp_image = _mp_image(image)
        result = self._run("image", lambda: task.detect(mp_image))
        return _observation(result, timestamp_s, (int(image.shape[1]), int(image.shape[0])))

    def reset(self) -> None:
        """Forget tracking state and timestamps (call before a new video)."""
        if self._closed:
            raise RuntimeError("HandLandmarker is closed")
        task = self._tasks.pop("video", None)
        if task is not None:
            with contextlib.suppress(Exception):
                task.close()  # type: ignore[attr-defined]
        self._last_ms = None
        if task is not None:
            self._task("video")

    def close(self) -> None:
        """Release the MediaPipe tasks (safe to call twice)."""
        self._closed = True
        _OPEN.discard(self)
        self._finalizer()
