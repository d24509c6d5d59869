"""Real-hand cut-outs placed on the motion track (coach/evaluation/cutout.py)."""

from __future__ import annotations

import numpy as np
import pytest

from coach.core.contact import FINGERTIP_LANDMARKS, PALM_LANDMARKS
from coach.evaluation.cutout import (
    CutoutPainter,
    HandCutout,
    apply_affine,
    load_cutouts,
    place_cutout,
    placement,
    tint,
)
from coach.samples.scene import hand_landmarks_px

TIPS = list(FINGERTIP_LANDMARKS)


def _model_hand(side="right", angle=0.0, length=30.0, at=(20.0, 12.0)):
    return hand_landmarks_px(at, angle, length, side)


@pytest.mark.parametrize(
    ("side", "angle", "length", "contact"),
    [
        ("right", 0.0, 130.0, "fingertips"),  # same side, upright, bigger
        ("left", 0.0, 60.0, "fingertips"),  # the other side: the patch is mirrored first
        ("right", 135.0, 90.0, "fingertips"),  # turned and smaller
        ("left", -80.0, 110.0, "palm"),  # water wheel: the palm on the track
    ],
)
def test_placement_puts_the_contact_mean_on_the_track_point(side, angle, length, contact):
    cut = _model_hand("right", 10.0, 30.0)
    target = hand_landmarks_px((321.3, 207.8), angle, length, side, contact)
    m, flip = placement(cut, target, contact)
    placed = apply_affine(m, cut)
    idx = list(FINGERTIP_LANDMARKS if contact == "fingertips" else PALM_LANDMARKS)
    assert placed[idx].mean(axis=0) == pytest.approx(target[idx].mean(axis=0), abs=1e-6)
    assert flip is (side != "right")
    # the hand is as long as the target and points the same way
    assert np.hypot(*(placed[12] - placed[0])) == pytest.approx(np.hypot(*(target[12] - target[0])))
    d_p, d_t = placed[9] - placed[0], target[9] - target[0]
    assert np.dot(d_p, d_t) / (np.linalg.norm(d_p) * np.linalg.norm(d_t)) == pytest.approx(1.0)


def test_pixels_land_where_the_landmarks_say():
    """A red dot under landmark 8 of the patch is drawn under landmark 8 of the target."""
    lm = _model_hand("right", 0.0, 30.0, at=(20.0, 14.0))
    rgba = np.zeros((40, 40, 4), np.uint8)
    col, row = int(lm[8, 0]), int(lm[8, 1])  # the pixel containing landmark 8
    rgba[row - 1 : row + 2, col - 1 : col + 2] = (255, 0, 0, 255)
    cut = HandCutout("dot", rgba, lm)
    img = np.zeros((120, 200, 3), np.uint8)
    placed = place_cutout(img, cut, lm + (100.0, 50.0))  # a pure shift
    assert placed[8] == pytest.approx(lm[8] + (100.0, 50.0))
    assert tuple(img[row + 50, col + 100]) == (255, 0, 0)
    assert img.sum() == 9 * 255  # nothing else drawn


def test_tint_moves_the_mean_colour_to_the_skin():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (100, 80, 60)
    rgba[..., 3] = 255
    out = tint(rgba, (50, 40, 30))
    assert tuple(out[0, 0, :3]) == (50, 40, 30)  # half as bright, texture ratio kept


@pytest.mark.model
@pytest.mark.shared
def test_real_cutouts_land_on_the_track(model_path, shared_hands_dir, tmp_path):
    cuts = load_cutouts(tmp_path)
    assert [c.name for c in cuts] == [
        "hands.jpg#0",
        "hands.jpg#1",
        "woman_hands.jpg#0",
        "woman_hands.jpg#1",
    ]
    for c in cuts:
        a = c.rgba[..., 3] > 128
        assert 0.15 < a.mean() < 0.8  # a hand, not the whole patch nor nothing
        tips = c.landmarks[TIPS].round().astype(int)
        inside = [a[min(y, a.shape[0] - 1), min(x, a.shape[1] - 1)] for x, y in tips]
        assert sum(inside) >= 3  # the fingertips are in the mask
    painter = CutoutPainter(cuts, "fingertips")
    for k, angle in enumerate((0.0, 60.0, 180.0, -100.0)):
        img = np.full((480, 640, 3), 200, np.uint8)
        target = hand_landmarks_px((300.4, 250.7), angle, 120.0, "right")
        placed = place_cutout(img, painter.cutout(k, (0, 0, 0)), target)
        assert np.linalg.norm(placed[TIPS].mean(axis=0) - (300.4, 250.7)) < 1.0
    assert len(list(tmp_path.glob("cutout-*.npz"))) == 2  # cached per photo
