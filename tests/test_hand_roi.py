"""Tests for coach.vision.hand_roi: the box a followed hand is looked for in (hand-computable)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.vision.hand_roi import (
    ROI_LANDMARKS,
    Roi,
    crop_matrix,
    hand_rotation,
    landmarks_to_image,
    normalize_radians,
    overlap,
    roi_from_landmarks,
)


def upright_hand() -> np.ndarray:
    """21 landmarks (px) of an upright hand: the box landmarks span x 80..120 and
    y 100..200 (wrist at the bottom, knuckles above it); fingertips further up."""
    pts = np.zeros((21, 3))
    pts[:] = (100.0, 60.0, 0.0)  # fingertips and the rest: not used for the box
    box = {
        0: (100, 200), 1: (80, 190), 2: (80, 170), 3: (85, 150),  # wrist, thumb
        5: (90, 120), 6: (90, 100), 9: (100, 120), 10: (100, 100),  # index, middle
        13: (110, 120), 14: (110, 100), 17: (120, 125), 18: (120, 110),  # ring, little
    }  # fmt: skip
    for i, xy in box.items():
        pts[i, :2] = xy
    return pts


def turned(points: np.ndarray, angle_rad: float, about=(100.0, 150.0)) -> np.ndarray:
    """``points`` turned clockwise on screen (y down) by ``angle_rad`` about ``about``."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    out = points.copy()
    d = points[:, :2] - about
    out[:, 0] = about[0] + c * d[:, 0] - s * d[:, 1]
    out[:, 1] = about[1] + s * d[:, 0] + c * d[:, 1]
    return out


@pytest.mark.parametrize(
    ("angle_deg", "expected_deg"),
    [
        (0, 0),  # fingers up: already upright
        (90, 90),  # fingers to the right: turned a quarter clockwise
        (-90, -90),  # fingers to the left
        (180, -180),  # fingers down: wrapped into [-180, 180)
        (30, 30),  # a slight clockwise tilt
    ],
)
def test_hand_rotation(angle_deg: float, expected_deg: float) -> None:
    rot = hand_rotation(turned(upright_hand(), math.radians(angle_deg)))
    assert math.degrees(rot) == pytest.approx(expected_deg, abs=1e-9)


@pytest.mark.parametrize(
    ("angle", "expected"),
    [
        (0.0, 0.0),  # unchanged
        (math.pi, -math.pi),  # the upper end goes to the lower
        (3 * math.pi / 2, -math.pi / 2),  # three quarters = minus one quarter
        (-5 * math.pi / 2, -math.pi / 2),  # more than a turn back
    ],
)
def test_normalize_radians(angle: float, expected: float) -> None:
    assert normalize_radians(angle) == pytest.approx(expected)


def test_roi_of_an_upright_hand() -> None:
    """Box landmarks span 40 x 100 px around (100, 150): the box is squared on the long
    side and doubled (200 px) and moved a tenth of the height (10 px) up."""
    roi = roi_from_landmarks(upright_hand())
    assert roi == Roi(100.0, 140.0, 200.0, 0.0)


@pytest.mark.parametrize("angle_deg", [90, -45, 170])  # quarter, slant, almost upside down
def test_roi_turns_with_the_hand(angle_deg: float) -> None:
    """A turned hand gets the same box, turned about the same point."""
    a = math.radians(angle_deg)
    roi = roi_from_landmarks(turned(upright_hand(), a))
    centre = turned(np.array([[100.0, 140.0, 0.0]]), a)[0]
    assert (roi.centre_x_px, roi.centre_y_px) == pytest.approx(tuple(centre[:2]))
    assert roi.size_px == pytest.approx(200.0)
    assert roi.rotation_rad == pytest.approx(a)


def test_roi_ignores_the_fingertips() -> None:
    """Only the wrist, thumb base and lowest finger joints place the box."""
    pts = upright_hand()
    others = [i for i in range(21) if i not in ROI_LANDMARKS]
    pts[others, :2] = (500.0, -300.0)
    assert roi_from_landmarks(pts) == Roi(100.0, 140.0, 200.0, 0.0)


@pytest.mark.parametrize("shape", [(20, 3), (21, 1), (21,)])  # too few points, no y, flat
def test_roi_refuses_other_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="expected 21 landmarks"):
        roi_from_landmarks(np.zeros(shape))


def test_corners_of_an_upright_and_a_quarter_turned_box() -> None:
    up = Roi(50.0, 60.0, 20.0, 0.0).corners()
    np.testing.assert_allclose(up, [[40, 50], [60, 50], [60, 70], [40, 70]])
    # Turned a quarter clockwise: the model's "top left" is now at the top right.
    right = Roi(50.0, 60.0, 20.0, math.pi / 2).corners()
    np.testing.assert_allclose(right, [[60, 50], [60, 70], [40, 70], [40, 50]], atol=1e-12)


@pytest.mark.parametrize(
    "roi",
    [
        Roi(320.0, 240.0, 224.0, 0.0),  # upright, one input pixel per image pixel
        Roi(100.0, 400.0, 150.0, 0.7),  # turned and smaller
        Roi(600.0, 50.0, 400.0, -2.5),  # partly outside the image, nearly upside down
    ],
)
def test_crop_matrix_and_landmarks_to_image_are_inverse(roi: Roi) -> None:
    n = 224
    m = crop_matrix(roi, n)
    corners = roi.corners()
    np.testing.assert_allclose(corners @ m[:, :2].T + m[:, 2], [[0, 0], [n, 0], [n, n], [0, n]],
                               atol=1e-9)  # fmt: skip
    rng = np.random.default_rng(0)
    crop_pts = np.column_stack([rng.uniform(0, n, (21, 2)), rng.uniform(-20, 20, 21)])
    image_pts = landmarks_to_image(crop_pts, roi, n)
    np.testing.assert_allclose(image_pts[:, :2] @ m[:, :2].T + m[:, 2], crop_pts[:, :2],
                               atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(image_pts[:, 2], crop_pts[:, 2] * roi.size_px / n)


def test_centre_of_the_input_is_the_centre_of_the_box() -> None:
    roi = Roi(10.0, 20.0, 100.0, 1.0)
    out = landmarks_to_image(np.array([[112.0, 112.0, 0.0]]), roi, 224)
    np.testing.assert_allclose(out[0], [10.0, 20.0, 0.0])


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Roi(0, 0, 100, 0), Roi(0, 0, 100, 1.0), 1.0),  # the same place, turned: same hand
        (Roi(0, 0, 100, 0), Roi(300, 0, 100, 0), 0.0),  # apart
        (Roi(0, 0, 100, 0), Roi(10, 0, 40, 0), 1.0),  # a small box inside a big one
        # Equal circles (r = 50) whose centres are r apart: the lens is
        # (2 pi / 3 - sqrt(3) / 2) r^2, over pi r^2.
        (Roi(0, 0, 100, 0), Roi(50, 0, 100, 0), (2 * math.pi / 3 - math.sqrt(3) / 2) / math.pi),
    ],
)
def test_overlap(a: Roi, b: Roi, expected: float) -> None:
    assert overlap(a, b) == pytest.approx(expected)
    assert overlap(b, a) == pytest.approx(expected)
