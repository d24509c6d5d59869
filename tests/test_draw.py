"""Overlay annotators: golden-ish pixel checks on a flat grey frame."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import load_stroke
from coach.core.types import Progress, TrackPoint
from coach.render import draw as D

W, H = 640, 480
GREY = 120


@pytest.fixture(scope="module")
def stroke():
    return load_stroke("i-love-you")


def frame() -> np.ndarray:
    return np.full((H, W, 3), GREY, np.uint8)


def near(img: np.ndarray, x: float, y: float, colour, radius: int = 3, tol: int = 40) -> bool:
    """Some pixel within ``radius`` of pixel (x, y) has ``colour`` (per channel within tol)."""
    xi, yi = round(x), round(y)
    patch = img[max(0, yi - radius) : yi + radius + 1, max(0, xi - radius) : xi + radius + 1]
    diff = np.abs(patch.astype(int) - np.array(colour)).max(axis=2)
    return bool((diff <= tol).any())


def result(segment: int | None, guide_uv=(0.2, 0.5), status="tracking", t=10.0):
    prog = Progress(t, 0, segment, "" if segment is None else "ULI"[2 - segment], 0.3, False,
                    np.array(guide_uv), 1.0, 0.05)  # fmt: skip
    return SimpleNamespace(progress=prog, status=status, timestamp_s=t)


def track(t: float, xy) -> TrackPoint:
    return TrackPoint(t, np.array([0.5, 0.5]), np.array(xy, float), np.zeros((1, 2)))


BOX = (0.3, 0.3, 0.7, 0.8)


def test_input_not_modified_and_output_is_new(stroke) -> None:
    img = frame()
    before = img.copy()
    bf = BodyFrame.from_box(BOX)
    out = D.draw(img, result(2), stroke=stroke, body_frame=bf, trace=[track(9.9, (0.4, 0.5))])
    assert np.array_equal(img, before)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out is not img and not np.array_equal(out, img)


@pytest.mark.parametrize(
    "head, mirrored, mirror",
    [
        ("up", False, False),  # the usual view
        ("down", False, False),  # camera at the baby's feet side
        ("left", False, False),  # rotated a quarter turn
        ("right", True, False),  # mirrored video: box flipped back into true geometry
        ("up", False, True),  # selfie preview: the overlay flips with the picture
    ],
)
def test_current_segment_drawn_where_projected(stroke, head, mirrored, mirror) -> None:
    bf = BodyFrame.from_box(BOX, head=head, mirrored=mirrored)
    no_guide = (np.nan, np.nan)  # a guide dot would cover the path under it
    out = D.draw(frame(), result(2, guide_uv=no_guide), stroke=stroke, body_frame=bf, mirror=mirror)
    pts = bf.to_xy(stroke.segments[2].points[::10])
    for x, y in pts:
        xd = (1 - x) if mirror else x
        assert near(out, xd * W, y * H, D.SKY_BLUE), (x, y)


def test_guide_dot_at_guide_uv(stroke) -> None:
    bf = BodyFrame.from_box(BOX)
    out = D.draw(frame(), result(2, guide_uv=(0.5, 0.5)), stroke=stroke, body_frame=bf)
    x, y = bf.to_xy(np.array([0.5, 0.5]))  # centre of the box: (0.5, 0.55) -> (320, 264) px
    assert (round(x * W), round(y * H)) == (320, 264)
    assert near(out, 320 + 6, 264, D.ORANGE, radius=2)


def test_image_unchanged_away_from_overlays(stroke) -> None:
    bf = BodyFrame.from_box(BOX)
    out = D.draw(frame(), result(0), stroke=stroke, body_frame=bf)
    # Bottom-right corner: far from the box (ends at x=448, y=384 px) and the top band.
    assert (out[420:, 500:] == GREY).all()
    # The top band is darkened, not blanked.
    assert 0 < out[5, 320].max() < GREY


def test_trace_fades_and_skips_gaps() -> None:
    bf = BodyFrame.from_box(BOX)
    pts = [track(9.0 + i * 0.1, (0.2 + 0.02 * i, 0.6)) for i in range(10)]  # 9.0 .. 9.9 s
    pts += [track(10.0, (0.8, 0.9))]  # after a 0.1 s step: joined
    gap = [track(5.0, (0.1, 0.95)), track(5.8, (0.9, 0.95))]  # older than the 3 s window
    out = D.draw(frame(), result(None, t=10.0), body_frame=bf, trace=gap + pts)
    assert near(out, 0.8 * W, 0.9 * H, D.YELLOW)  # newest point: full trace colour
    assert not near(out, 0.5 * W, 0.95 * H, D.YELLOW, tol=60)  # outside the window: not drawn
    old = out[round(0.6 * H), round(0.21 * W)]  # oldest shown part: darker than the colour
    assert old.astype(int).sum() < sum(D.YELLOW) - 60


def test_trace_gap_is_not_joined() -> None:
    pts = [track(9.0, (0.1, 0.9)), track(9.9, (0.9, 0.9))]  # 0.9 s apart: a lift
    out = D.draw(frame(), None, trace=pts)
    assert not near(out, 0.5 * W, 0.9 * H, D.YELLOW, tol=80)


def test_status_band_and_label(stroke) -> None:
    bf = BodyFrame.from_box(BOX)
    ok = D.draw(frame(), result(1, status="tracking"), stroke=stroke, body_frame=bf)
    lost = D.draw(frame(), result(1, status="no_hand"), stroke=stroke, body_frame=bf)
    band = slice(0, H // 11)
    assert near(ok[band], H // 22, H // 22, D.BLUISH_GREEN, radius=2)
    assert near(lost[band], H // 22, H // 22, D.VERMILLION, radius=2)
    assert D.segment_label(stroke, result(1).progress) == "Rep 1 - Letter L (2/3)"
    assert D.segment_label(stroke, result(None).progress) == ""


def test_no_calibration_draws_only_status() -> None:
    out = D.draw(frame(), None, status="calibrate")
    assert (out[H // 11 + 2 :] == GREY).all()


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.uint8),  # grey image
        np.zeros((10, 10, 4), np.uint8),  # RGBA
        np.zeros((10, 10, 3), np.float32),  # floats
    ],
)
def test_rejects_non_rgb_uint8(bad) -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        D.draw(bad, None)


def test_layer_cache_reused_and_bounded(stroke) -> None:
    bf = BodyFrame.from_box(BOX)
    cache = D._LayerCache(size=2)
    layer, _mask = cache.get(stroke, bf, 0, (H, W, 3), False, D.Style())
    assert cache.get(stroke, bf, 0, (H, W, 3), False, D.Style())[0] is layer
    cache.get(stroke, bf, 1, (H, W, 3), False, D.Style())
    cache.get(stroke, bf, 2, (H, W, 3), False, D.Style())
    assert len(cache._items) == 2
