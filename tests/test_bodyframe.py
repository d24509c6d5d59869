"""Body frame: corner tables for every head direction x mirroring, properties, parse_box."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.bodyframe import HEAD_DIRECTIONS, BodyFrame, parse_box

X0, Y0, X1, Y1 = 0.1, 0.2, 0.5, 0.8
BOX = (X0, Y0, X1, Y1)
TL, TR, BR, BL = (X0, Y0), (X1, Y0), (X1, Y1), (X0, Y1)  # box corners in the stored frame
UV_CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
MIRROR_HEAD = {"up": "up", "down": "down", "left": "right", "right": "left"}


def shoelace(points: np.ndarray) -> float:
    """Signed area; positive = clockwise on screen / in the body frame (second axis down)."""
    a, b = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(a * np.roll(b, -1) - np.roll(a, -1) * b))


def clock_circle(n: int = 72, centre=(0.5, 0.5), r: float = 0.35) -> np.ndarray:
    """Clockwise circle in the body frame from 12 o'clock (strokes.md clock positions)."""
    theta = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([centre[0] + r * np.sin(theta), centre[1] - r * np.cos(theta)], axis=1)


# Where uv (0,0), (1,0), (1,1), (0,1) land in the stored frame: (0,0) is the baby's right
# flank at the ribs, (1,0) its left flank at the ribs, (1,1) left hip, (0,1) right hip.
CORNER_TABLE = [
    # head up, not mirrored: baby's right (u=0) at image left, ribs (v=0) at the top
    ("up", False, (TL, TR, BR, BL)),
    # head down: turned 180 degrees, the baby's right flank is at image right, ribs at the bottom
    ("down", False, (BR, BL, TL, TR)),
    # head left: turned 90 degrees anticlockwise, the baby's right flank is at the bottom
    ("left", False, (BL, TL, TR, BR)),
    # head right: turned 90 degrees clockwise, the baby's right flank is at the top
    ("right", False, (TR, BR, BL, TL)),
    # mirrored selfie, head up: the baby's right flank shows on the image right
    ("up", True, (TR, TL, BL, BR)),
    # mirrored, head down: right flank on the image left, ribs at the bottom
    ("down", True, (BL, BR, TR, TL)),
    # mirrored, head left on screen (head right in the true picture): right flank at the top
    ("left", True, (TL, BL, BR, TR)),
    # mirrored, head right on screen (head left in the true picture): right flank at the bottom
    ("right", True, (BR, TR, TL, BL)),
]


@pytest.mark.parametrize(("head", "mirrored", "corners"), CORNER_TABLE)
def test_corners(head, mirrored, corners):
    bf = BodyFrame.from_box(BOX, head=head, mirrored=mirrored)
    assert bf.box_corners_xy() == pytest.approx(np.array(corners), abs=1e-12)
    assert bf.to_uv(np.array(corners)) == pytest.approx(UV_CORNERS, abs=1e-12)
    assert bf.to_uv(np.array([(X0 + X1) / 2, (Y0 + Y1) / 2])) == pytest.approx([0.5, 0.5])
    assert bf.mirrored is mirrored


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("up", (0.0, -1.0)),  # towards the top of the stored frame
        ("down", (0.0, 1.0)),  # towards the bottom
        ("left", (-1.0, 0.0)),  # towards the left
        ("right", (1.0, 0.0)),  # towards the right
    ],
)
@pytest.mark.parametrize("mirrored", [False, True])
def test_head_vector_is_where_the_user_said(head, expected, mirrored):
    bf = BodyFrame.from_box(BOX, head=head, mirrored=mirrored)
    assert bf.head_vector_xy() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("head", "image_size", "width_px"),
    [
        ("up", (640, 480), 0.4 * 640),  # u along image x: box width in pixels
        ("down", (640, 480), 0.4 * 640),  # likewise, turned round
        ("left", (640, 480), 0.6 * 480),  # u along image y: box height in pixels
        ("right", (1280, 720), 0.6 * 720),  # likewise
    ],
)
def test_box_width_px(head, image_size, width_px):
    bf = BodyFrame.from_box(BOX, head=head, image_size=image_size)
    assert bf.box_width_px == pytest.approx(width_px)
    assert math.isnan(BodyFrame.from_box(BOX, head=head).box_width_px)


def test_batch_shapes():
    bf = BodyFrame.from_box(BOX, head="left", mirrored=True)
    pts = np.random.default_rng(0).uniform(0, 1, size=(3, 4, 2))
    assert bf.to_uv(pts).shape == (3, 4, 2)
    assert bf.to_xy(bf.to_uv(pts)) == pytest.approx(pts)


# -- properties ---------------------------------------------------------------------------------

coords = st.floats(min_value=0.0, max_value=0.7, allow_nan=False)
sizes = st.floats(min_value=0.05, max_value=0.3, allow_nan=False)
heads = st.sampled_from(HEAD_DIRECTIONS)
points = st.lists(
    st.tuples(
        st.floats(-1.0, 2.0, allow_nan=False),
        st.floats(-1.0, 2.0, allow_nan=False),
    ),
    min_size=1,
    max_size=20,
)


def make_box(x0: float, y0: float, w: float, h: float) -> tuple[float, float, float, float]:
    return (x0, y0, x0 + w, y0 + h)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(coords, coords, sizes, sizes, heads, st.booleans(), points)
def test_round_trip(x0, y0, w, h, head, mirrored, pts):
    bf = BodyFrame.from_box(make_box(x0, y0, w, h), head=head, mirrored=mirrored)
    p = np.array(pts)
    assert np.allclose(bf.to_xy(bf.to_uv(p)), p, atol=1e-9)
    assert np.allclose(bf.to_uv(bf.to_xy(p)), p, atol=1e-9)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(coords, coords, sizes, sizes, heads, st.booleans(), st.floats(0.05, 0.5), st.integers(3, 40))
def test_clockwise_survives_the_mapping(x0, y0, w, h, head, mirrored, r, n):
    """A clockwise path in uv is clockwise on screen unless the picture is mirrored, and it
    comes back clockwise through to_xy -> to_uv for every head direction."""
    bf = BodyFrame.from_box(make_box(x0, y0, w, h), head=head, mirrored=mirrored)
    path = clock_circle(n, r=r)
    assert shoelace(path) > 0
    on_screen = bf.to_xy(path)
    assert (shoelace(on_screen) < 0) is mirrored
    assert shoelace(bf.to_uv(on_screen)) == pytest.approx(shoelace(path), rel=1e-9)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(coords, coords, sizes, sizes, heads, st.floats(0.05, 0.5))
def test_mirrored_picture_gives_the_same_uv(x0, y0, w, h, head, r):
    """A clockwise circle drawn in the true picture, then the whole picture mirrored (a selfie
    preview), mapped with mirrored=True (box and head as seen in the mirrored picture) gives
    the same body-frame path as the true picture mapped unmirrored."""
    box_true = make_box(x0, y0, w, h)
    bf_true = BodyFrame.from_box(box_true, head=head)
    circle_xy_true = bf_true.to_xy(clock_circle(48, r=r))
    assert shoelace(circle_xy_true) > 0  # clockwise on the true screen

    mirrored_xy = np.column_stack([1.0 - circle_xy_true[:, 0], circle_xy_true[:, 1]])
    box_seen = (1.0 - box_true[2], box_true[1], 1.0 - box_true[0], box_true[3])
    bf_seen = BodyFrame.from_box(box_seen, head=MIRROR_HEAD[head], mirrored=True)
    assert shoelace(mirrored_xy) < 0  # anticlockwise on the mirrored screen...
    uv = bf_seen.to_uv(mirrored_xy)
    assert np.allclose(uv, bf_true.to_uv(circle_xy_true), atol=1e-9)
    assert shoelace(uv) > 0  # ...but clockwise where it matters


# -- from_pose ----------------------------------------------------------------------------------


def assert_same_frame(a: BodyFrame, b: BodyFrame) -> None:
    assert np.allclose(a.matrix, b.matrix, atol=1e-9)
    assert np.allclose(a.origin_xy, b.origin_xy, atol=1e-12)
    assert a.mirrored == b.mirrored
    assert a.box_width_px == pytest.approx(b.box_width_px)


@pytest.mark.parametrize("mirrored", [False, True])  # selfie or not
@pytest.mark.parametrize("image_size", [(640, 480), (720, 1280)])  # landscape / portrait
def test_from_pose_angle_zero_is_head_up(mirrored, image_size):
    w_img, h_img = image_size
    centre = ((X0 + X1) / 2, (Y0 + Y1) / 2)
    pose = BodyFrame.from_pose(
        centre, 0.0, (X1 - X0) * w_img, (Y1 - Y0) * h_img, image_size, mirrored=mirrored
    )
    box = BodyFrame.from_box(BOX, head="up", mirrored=mirrored, image_size=image_size)
    assert_same_frame(pose, box)


@pytest.mark.parametrize(
    ("angle_deg", "mirrored", "head_seen"),
    [
        (90, False, "right"),  # turned clockwise by 90 degrees: head to the right
        (-90, False, "left"),  # turned anticlockwise: head to the left
        (180, False, "down"),  # turned round
        (90, True, "left"),  # head right in the true picture shows left in a selfie
        (-90, True, "right"),  # and the other way round
        (180, True, "down"),  # turned round, mirrored
    ],
)
def test_from_pose_rotated_matches_from_box(angle_deg, mirrored, head_seen):
    image_size = (640, 480)
    w_img, h_img = image_size
    sideways = head_seen in ("left", "right")
    # u runs along image y when the head points sideways, along x otherwise
    width_px = (Y1 - Y0) * h_img if sideways else (X1 - X0) * w_img
    height_px = (X1 - X0) * w_img if sideways else (Y1 - Y0) * h_img
    centre = ((X0 + X1) / 2, (Y0 + Y1) / 2)
    pose = BodyFrame.from_pose(
        centre, math.radians(angle_deg), width_px, height_px, image_size, mirrored=mirrored
    )
    box = BodyFrame.from_box(BOX, head=head_seen, mirrored=mirrored, image_size=image_size)
    assert_same_frame(pose, box)


def test_from_pose_rejects_empty_size():
    with pytest.raises(ValueError, match="expected positive pixels"):
        BodyFrame.from_pose((0.5, 0.5), 0.0, 0.0, 10.0, (640, 480))


# -- construction errors, dict round trip -------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"box": (0.5, 0.2, 0.1, 0.8)}, "expected x0 < x1 and y0 < y1"),  # x reversed
        ({"box": (0.1, 0.5, 0.5, 0.5)}, "expected x0 < x1 and y0 < y1"),  # zero height
        ({"box": (0.1, float("nan"), 0.5, 0.8)}, "expected four finite numbers"),  # nan
        ({"box": BOX, "head": "north"}, "head: expected one of up, down, left, right"),  # typo
    ],
)
def test_from_box_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BodyFrame.from_box(**kwargs)


def test_singular_matrix_rejected():
    with pytest.raises(ValueError, match="finite and invertible"):
        BodyFrame(np.zeros((2, 2)), np.zeros(2))


@pytest.mark.parametrize("mirrored", [False, True])
def test_dict_round_trip(mirrored):
    bf = BodyFrame.from_box(BOX, head="left", mirrored=mirrored, image_size=(640, 480))
    again = BodyFrame.from_dict(bf.to_dict())
    assert_same_frame(bf, again)
    bare = BodyFrame.from_dict(BodyFrame.from_box(BOX).to_dict())
    assert math.isnan(bare.box_width_px)


def test_from_dict_error():
    with pytest.raises(ValueError, match="body frame: expected matrix, origin_xy"):
        BodyFrame.from_dict({"matrix": [[1, 0], [0, 1]]})


# -- parse_box ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1,0.2,0.5,0.8", (0.1, 0.2, 0.5, 0.8)),  # plain
        (" 0.1, 0.2 ,0.5 , 0.8 ", (0.1, 0.2, 0.5, 0.8)),  # spaces around numbers
        ("0,0,1,1", (0.0, 0.0, 1.0, 1.0)),  # the whole frame
        ("1e-1,.2,0.5,8e-1", (0.1, 0.2, 0.5, 0.8)),  # other float spellings
    ],
)
def test_parse_box_ok(text, expected):
    assert parse_box(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected four numbers X0,Y0,X1,Y1, found ''"),  # empty
        ("0.1,0.2,0.5", "expected four numbers"),  # three numbers
        ("0.1,0.2,0.5,0.8,0.9", "expected four numbers"),  # five numbers
        ("0.1 0.2 0.5 0.8", "expected four numbers"),  # spaces instead of commas
        ("a,b,c,d", "expected four numbers X0,Y0,X1,Y1, found 'a,b,c,d'"),  # not numbers
        ("0.1,,0.5,0.8", "expected four numbers"),  # a missing number
        ("10,20,50,80", "expected numbers between 0 and 1"),  # percent, not normalised
        ("-0.1,0.2,0.5,0.8", "expected numbers between 0 and 1"),  # negative
        ("nan,0.2,0.5,0.8", "expected numbers between 0 and 1"),  # nan parses as a float
        ("inf,0.2,0.5,0.8", "expected numbers between 0 and 1"),  # so does inf
        ("0.5,0.2,0.1,0.8", "expected X0 < X1 and Y0 < Y1"),  # x reversed
        ("0.1,0.8,0.5,0.2", "expected X0 < X1 and Y0 < Y1"),  # y reversed
        ("0.1,0.2,0.1,0.8", "expected X0 < X1 and Y0 < Y1"),  # zero width
    ],
)
def test_parse_box_errors(text, message):
    with pytest.raises(ValueError) as info:
        parse_box(text)
    assert message in str(info.value)
    assert str(info.value).startswith("--tummy: ")
