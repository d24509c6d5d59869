"""Where to look for a tracked hand in the next frame (pure geometry, no SDK).

MediaPipe's hand landmarker follows a hand from frame to frame by cropping a
rotated square around the landmarks it found in the previous frame and running
only the landmark model on that crop. This module holds that geometry, so that
:mod:`coach.vision.hand_tracker` can do the same on the calling thread:

- :func:`roi_from_landmarks`: the rotated rectangle around a hand (the wrist at
  the bottom, the knuckles at the top), enlarged twice, squared and shifted
  towards the fingers, as MediaPipe's ``HandLandmarksToRectCalculator`` and
  ``RectTransformationCalculator`` (scale 2, shift -0.1, square long side) do;
- :func:`crop_matrix`: the affine map from the image to the model's square input;
- :func:`landmarks_to_image`: the model's landmarks back into the image.

Coordinates are pixels of the frame as stored (x right, y down); a rotation of
0 means the hand points up, positive turns it clockwise on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Landmarks MediaPipe uses to place the box: wrist, thumb base joints, and the two
#: lowest joints of every finger (the fingertips move too much to be useful).
ROI_LANDMARKS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP = 0, 5, 9, 13

SCALE = 2.0  # the box is twice the size of the landmarks' extent ...
SHIFT_Y = -0.1  # ... moved a tenth of its height towards the fingers


@dataclass(frozen=True)
class Roi:
    """A rotated square in the image, in pixels: centre, side and rotation (radians)."""

    centre_x_px: float
    centre_y_px: float
    size_px: float
    rotation_rad: float

    def corners(self) -> np.ndarray:
        """(4, 2) corners in image pixels: top-left, top-right, bottom-right, bottom-left
        of the box as the model sees it (hand upright)."""
        half = self.size_px / 2.0
        local = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
        return local @ _rotation(self.rotation_rad).T + (self.centre_x_px, self.centre_y_px)


def _rotation(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s], [s, c]])


def normalize_radians(angle_rad: float) -> float:
    """``angle_rad`` wrapped into [-pi, pi)."""
    return angle_rad - 2.0 * math.pi * math.floor((angle_rad + math.pi) / (2.0 * math.pi))


def hand_rotation(points_px: np.ndarray) -> float:
    """Rotation that turns the hand upright: wrist at the bottom, knuckles at the top.

    The knuckle point is the mean of the middle knuckle and the midpoint of the
    index and ring knuckles. A hand pointing up gives 0, pointing right +pi/2.
    """
    wrist = points_px[WRIST, :2]
    knuckles = (points_px[INDEX_MCP, :2] + points_px[RING_MCP, :2]) / 2.0
    knuckles = (knuckles + points_px[MIDDLE_MCP, :2]) / 2.0
    dx, dy = knuckles - wrist
    return normalize_radians(math.pi / 2.0 - math.atan2(-dy, dx))


def roi_from_landmarks(points_px: np.ndarray) -> Roi:
    """The box in which to look for this hand in the next frame.

    ``points_px`` is (21, 2 or 3): the hand's landmarks in image pixels.
    """
    points_px = np.asarray(points_px, dtype=np.float64)
    if points_px.ndim != 2 or points_px.shape[0] != 21 or points_px.shape[1] < 2:
        raise ValueError(f"expected 21 landmarks of shape (21, 2+), found {points_px.shape}")
    rotation = hand_rotation(points_px)
    pts = points_px[list(ROI_LANDMARKS), :2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    axis_centre = (lo + hi) / 2.0
    # Extent of the landmarks in the hand's own upright frame.
    upright = (pts - axis_centre) @ _rotation(-rotation).T
    u_lo, u_hi = upright.min(axis=0), upright.max(axis=0)
    width_px, height_px = u_hi - u_lo
    centre = _rotation(rotation) @ ((u_lo + u_hi) / 2.0) + axis_centre
    # Shift towards the fingers by a tenth of the height (in the hand's frame), then
    # square on the long side and double.
    centre = centre + _rotation(rotation) @ np.array([0.0, SHIFT_Y * height_px])
    size = SCALE * max(width_px, height_px)
    return Roi(float(centre[0]), float(centre[1]), float(size), rotation)


def crop_matrix(roi: Roi, input_size_px: int) -> np.ndarray:
    """(2, 3) affine matrix from image pixels to the model's square input.

    The box's corners go to the input's corners (0, 0) .. (size, size), the
    convention of MediaPipe's image-to-tensor step.
    """
    src = roi.corners()[:3].astype(np.float64)
    n = float(input_size_px)
    dst = np.array([[0.0, 0.0], [n, 0.0], [n, n]])
    # Solve [x y 1] @ M.T = dst for the three corners.
    a = np.hstack([src, np.ones((3, 1))])
    return np.linalg.solve(a, dst).T


def landmarks_to_image(crop_points: np.ndarray, roi: Roi, input_size_px: int) -> np.ndarray:
    """Landmarks in model-input pixels, (21, 3) -> image pixels (21, 3).

    x and y go through the inverse of :func:`crop_matrix`; z (the model's relative
    depth, in input pixels) is scaled like x and y, so it stays in image pixels.
    """
    crop_points = np.asarray(crop_points, dtype=np.float64)
    scale = roi.size_px / float(input_size_px)
    local = (crop_points[:, :2] - input_size_px / 2.0) * scale
    xy = local @ _rotation(roi.rotation_rad).T + (roi.centre_x_px, roi.centre_y_px)
    return np.column_stack([xy, crop_points[:, 2] * scale])


def overlap(a: Roi, b: Roi) -> float:
    """How much two boxes cover the same hand: intersection over the smaller box's area,
    approximated with the boxes' inscribed circles (0 apart .. 1 one inside the other)."""
    ra, rb = a.size_px / 2.0, b.size_px / 2.0
    d = math.hypot(a.centre_x_px - b.centre_x_px, a.centre_y_px - b.centre_y_px)
    if d >= ra + rb:
        return 0.0
    small, big = min(ra, rb), max(ra, rb)
    if d + small <= big:
        return 1.0
    # Area of the lens where two circles meet, over the smaller circle's area.
    alpha = math.acos((d * d + small * small - big * big) / (2 * d * small))
    beta = math.acos((d * d + big * big - small * small) / (2 * d * big))
    lens = small * small * (alpha - math.sin(2 * alpha) / 2) + big * big * (
        beta - math.sin(2 * beta) / 2
    )
    return float(lens / (math.pi * small * small))
