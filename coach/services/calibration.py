"""Calibration: the hand-on-tummy gesture (:class:`HandOnTummy`: a flat hand on the
tummy, fingers to the head, held still) and the drag-a-box helper
(:func:`body_frame_from_display_box`). Mirroring: ``mirror_preview`` flips only
what the user sees; a camera that itself mirrors goes into the body frame, so verdicts
use true geometry."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from coach.core.bodyframe import HEAD_DIRECTIONS, BodyFrame, HeadDirection
from coach.core.contact import (
    FINGERS,
    INDEX_MCP,
    MIDDLE_MCP,
    PALM_LANDMARKS,
    PINKY_MCP,
    WRIST,
)
from coach.core.types import HandObservation

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
    centre = lm[list(PALM_LANDMARKS)].mean(axis=0)
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
