"""Stroke library: built-in definitions, hand-computable geometry, validation, round trips."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from coach.core.strokes import (
    MAX_FILE_BYTES,
    STROKES_DIR,
    Segment,
    StrokeDefinition,
    StrokeError,
    arc_sweep_deg,
    lane_layout,
    list_strokes,
    load_stroke,
    polyline_length,
    resample_polyline,
    stroke_from_dict,
    stroke_to_dict,
)
from coach.references.library import load_stroke_file, save_stroke

BUILTIN_IDS = ["i-love-you", "sun", "sun-moon", "water-wheel"]


def shoelace(points: np.ndarray) -> float:
    """Signed area 0.5 * sum(u_i v_{i+1} - u_{i+1} v_i); positive = clockwise with v down."""
    u, v = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(u * np.roll(v, -1) - np.roll(u, -1) * v))


def clock_deg(points: np.ndarray, centre=(0.5, 0.5)) -> np.ndarray:
    """Clock angle in degrees, clockwise from 12 (theta with u = sin, v = -cos)."""
    du, dv = points[:, 0] - centre[0], points[:, 1] - centre[1]
    return np.degrees(np.arctan2(du, -dv)) % 360.0


def base_dict() -> dict:
    return json.loads((STROKES_DIR / "i-love-you.json").read_text())


# -- built-ins ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stroke_id", BUILTIN_IDS)
def test_builtin_loads_and_is_consistent(stroke_id):
    defn = load_stroke(stroke_id)
    assert isinstance(defn, StrokeDefinition)
    assert defn.id == stroke_id and defn.schema == "coach.stroke/1"
    assert defn.nominal_speed_box_per_s == 0.375
    assert (defn.pace.too_fast_below, defn.pace.too_slow_above) == (0.6, 1.8)
    # incomplete below 0.7 of the path: a stroke stopping well short (strokes.md section 5);
    # the smoothing lag of a jittery or fast hand costs up to about a fifth
    assert defn.tolerances.off_path_box == 0.3 and defn.tolerances.incomplete_below == 0.7
    for seg in defn.segments:
        # nominal durations follow from the nominal contact speed (strokes.md section 3)
        assert seg.length_box / seg.nominal_s == pytest.approx(0.375, rel=0.03)
        assert not seg.points.flags.writeable
        steps = np.linalg.norm(np.diff(seg.points, axis=0), axis=1)
        assert steps.max() <= 0.02 + 1e-9 and steps.min() > 0.012
        assert seg.finish_text


def test_list_strokes_sorted_by_id():
    assert [d.id for d in list_strokes()] == BUILTIN_IDS


def test_load_by_path_equals_by_id():
    by_path = load_stroke_file(STROKES_DIR / "sun.json")
    assert by_path.id == "sun" and np.array_equal(
        by_path.segments[0].points, load_stroke("sun").segments[0].points
    )


def test_i_love_you_letters():
    defn = load_stroke("i-love-you")
    assert [s.label for s in defn.segments] == ["I", "L", "U"]
    assert [s.nominal_s for s in defn.segments] == [2.0, 3.6, 5.6]
    # I: 0.75; L: 0.6 across + 0.75 down; U: 0.75 up + 0.6 across + 0.75 down
    assert [s.length_box for s in defn.segments] == pytest.approx([0.75, 1.35, 2.1])
    for seg in defn.segments:
        assert seg.role == "main" and not seg.closed
        assert seg.points[-1].tolist() == [0.8, 0.85]  # every letter ends low on the baby's left
        assert seg.finish_text == "Carry on down to the hip."
    # corners are kept exactly
    u_pts = defn.segments[2].points.tolist()
    for corner in ([0.2, 0.85], [0.2, 0.1], [0.8, 0.1], [0.8, 0.85]):
        assert corner in u_pts
    # vertical motion in the u > 0.6 column is downward, in the u < 0.4 column upward
    for seg in defn.segments:
        d = np.diff(seg.points, axis=0)
        col = seg.points[:-1, 0]
        assert np.all(d[(col > 0.6) & (d[:, 0] == 0), 1] > 0)
        assert np.all(d[(col < 0.4) & (d[:, 0] == 0), 1] < 0)


def test_sun_circle_clockwise_radius():
    seg = load_stroke("sun").segments[0]
    assert seg.closed and seg.nominal_s == 5.9
    r = np.linalg.norm(seg.points - 0.5, axis=1)
    assert np.allclose(r, 0.35, atol=1e-12)
    assert shoelace(seg.points) > 0  # clockwise with v down
    assert shoelace(seg.points) == pytest.approx(math.pi * 0.35**2, rel=0.01)
    assert not np.allclose(seg.points[0], seg.points[-1])  # last point not repeated
    assert seg.points[0].tolist() == pytest.approx([0.5, 0.15])  # start at 12 o'clock
    assert seg.length_box == pytest.approx(2 * math.pi * 0.35, rel=1e-3)


def test_sun_moon_arc():
    defn = load_stroke("sun-moon")
    assert defn.hands == 2 and not defn.per_hand
    sun, moon = defn.segments
    assert (sun.role, moon.role) == ("sun", "moon")
    assert sun.closed and not moon.closed
    assert np.allclose(np.linalg.norm(moon.points - 0.5, axis=1), 0.35)
    angles = np.unwrap(np.radians(clock_deg(moon.points)))
    assert math.degrees(angles[0]) % 360 == pytest.approx(300.0)  # 10 o'clock
    assert math.degrees(angles[-1] - angles[0]) == pytest.approx(210.0)  # clockwise, 210 deg
    assert np.all(np.diff(angles) > 0)  # clock angle grows all the way: clockwise
    assert moon.points[-1].tolist() == pytest.approx(
        [0.5 + 0.35 * 0.5, 0.5 + 0.35 * math.sqrt(3) / 2]
    )
    assert moon.length_box == pytest.approx(math.radians(210) * 0.35, rel=1e-3)
    assert moon.nominal_s == pytest.approx(moon.length_box / 0.375, abs=0.05)


def test_water_wheel():
    defn = load_stroke("water-wheel")
    assert (defn.contact, defn.hands, defn.per_hand) == ("palm", 2, True)
    (seg,) = defn.segments
    assert seg.role == "paddle" and seg.nominal_s == 2.4
    assert seg.points[0].tolist() == [0.5, 0.05] and seg.points[-1].tolist() == [0.5, 0.95]


@pytest.mark.parametrize(
    ("from_hour", "to_hour", "sweep"),
    [
        (10, 5, 210.0),  # the moon
        (12, 3, 90.0),  # a quarter clockwise
        (3, 12, 270.0),  # clockwise the long way round
        (0, 12, 360.0),  # same position: a full turn
    ],
)
def test_arc_sweep(from_hour, to_hour, sweep):
    assert arc_sweep_deg(from_hour, to_hour) == sweep


# -- resampling ---------------------------------------------------------------------------------


def test_resample_keeps_corners_and_spacing():
    pts = np.array([[0.0, 0.0], [0.1, 0.0], [0.1, 0.05]])
    out = resample_polyline(pts, 0.02)
    # 0.1 -> 5 steps of 0.02, 0.05 -> 3 steps of 1/60
    assert len(out) == 1 + 5 + 3
    assert out[5].tolist() == [0.1, 0.0] and out[-1].tolist() == [0.1, 0.05]
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    assert np.allclose(steps[:5], 0.02) and np.allclose(steps[5:], 0.05 / 3)
    assert polyline_length(out) == pytest.approx(0.15)


def test_resample_closed_square():
    square = np.array([[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]], float)
    out = resample_polyline(square, 0.025)
    assert len(out) == 3 * 4 + 1
    closed = resample_polyline(square, 0.025, closed=True)
    assert len(closed) == 16  # 4 edges x 4 steps, first point not repeated
    assert polyline_length(closed, closed=True) == pytest.approx(0.4)
    for corner in square.tolist():
        assert corner in closed.tolist()


def test_resample_is_idempotent():
    seg = load_stroke("i-love-you").segments[2]
    again = resample_polyline(seg.points, 0.02)
    assert np.array_equal(again, seg.points)


@pytest.mark.parametrize(
    ("points", "step"),
    [
        (np.zeros((0, 2)), 0.02),  # no points
        (np.zeros((3, 3)), 0.02),  # 3-D points
        (np.zeros((2, 2)), 0.0),  # zero step
        (np.zeros((2, 2)), float("nan")),  # nan step
    ],
)
def test_resample_rejects(points, step):
    with pytest.raises(ValueError, match="expected"):
        resample_polyline(points, step)


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("stroke_id", BUILTIN_IDS)
def test_round_trip_through_file(stroke_id, tmp_path):
    defn = load_stroke(stroke_id)
    path = save_stroke(defn, tmp_path / f"{stroke_id}.json")
    again = load_stroke_file(path)
    assert stroke_to_dict(again) == stroke_to_dict(defn)
    for a, b in zip(defn.segments, again.segments, strict=True):
        assert np.array_equal(a.points, b.points) and a.closed == b.closed


def test_round_trip_points_only_segment():
    """A recorded reference (points, no geometry) exports as a polyline of the same points."""
    pts = resample_polyline(np.array([[0.2, 0.2], [0.5, 0.7], [0.8, 0.3]]), 0.02, closed=True)
    seg = Segment(id="loop", label="loop", points=pts, closed=True, nominal_s=4.0)
    defn = StrokeDefinition("coach.stroke/1", "my-loop", "My loop", 1, "palm", 1, "", (seg,))
    data = json.loads(json.dumps(stroke_to_dict(defn)))
    again = stroke_from_dict(data)
    assert again.segments[0].closed
    assert np.allclose(again.segments[0].points, pts, atol=1e-12)
    assert len(again.segments[0].points) == len(pts)


# -- validation ---------------------------------------------------------------------------------


def _set(path: str, value):
    """Mutation that sets a nested key given as 'a.b.0.c'."""

    def mutate(d: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return mutate


def _delete(path: str):
    def mutate(d: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = d
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]

    return mutate


def _dup_segment_id(d: dict) -> None:
    d["segments"][1]["id"] = d["segments"][0]["id"]


CIRCLE = {"shape": "circle", "centre": [0.5, 0.5], "radius": 0.35, "start_hour": 12}

MALFORMED = [
    # newer schema
    (_set("schema", "coach.stroke/2"), "schema: expected 'coach.stroke/1'"),
    # no schema at all
    (_delete("schema"), "missing required key(s) schema"),
    # no segments
    (_delete("segments"), "missing required key(s) segments"),
    # unknown top-level key
    (_set("colour", "red"), "unknown key(s) colour"),
    # unsafe id
    (_set("id", "../etc/passwd"), "id: expected an id"),
    # uppercase id
    (_set("id", "Sun"), "id: expected an id"),
    # id too long
    (_set("id", "a" * 65), "id: expected an id"),
    # empty name
    (_set("name", ""), "name: expected a non-empty string"),
    # version as a string
    (_set("version", "1"), "version: expected an integer"),
    # JSON true is not a version
    (_set("version", True), "version: expected an integer"),
    # versions start at 1
    (_set("version", 0), "version: expected an integer in [1"),
    # three hands
    (_set("hands", 3), "hands: expected an integer in [1, 2]"),
    # unknown contact
    (_set("contact", "knuckles"), "contact: expected one of fingertips, palm"),
    # per_hand with 1 hand
    (_set("per_hand", True), "per_hand: expected false for a one-hand"),
    # per_hand not a bool
    (_set("per_hand", "yes"), "per_hand: expected true or false"),
    # zero nominal speed
    (_set("nominal_speed_box_per_s", 0), "nominal_speed_box_per_s: expected a number in (0"),
    # fast bound must be below 1
    (_set("pace.too_fast_below", 1.0), "pace.too_fast_below: expected a number in (0, 1)"),
    # slow bound must be above 1
    (_set("pace.too_slow_above", 0.9), "pace.too_slow_above: expected a number in (1"),
    # number written as a string
    (_set("pace.too_fast_below", "0.6"), "pace.too_fast_below: expected a finite number"),
    # unknown pace key
    (_set("pace.typo", 1), "pace: expected only the keys"),
    # negative tolerance
    (_set("tolerances.off_path_box", -0.1), "tolerances.off_path_box: expected a number in (0"),
    # wrong type
    (_set("tolerances", []), "tolerances: expected an object"),
    # lo > hi
    (_set("repetitions_typical", [10, 6]), "repetitions_typical[1]: expected an integer in [10"),
    # not a pair
    (_set("repetitions_typical", 6), "repetitions_typical: expected [lo, hi]"),
    # no segments
    (_set("segments", []), "segments: expected a list of 1 to 64"),
    # segment not an object
    (_set("segments.0", "I"), "segments[0]: expected an object"),
    # duplicate segment id
    (_dup_segment_id, "segments[1].id: expected ids unique"),
    # unsafe segment id
    (_set("segments.0.id", "I"), "segments[0].id: expected an id"),
    # zero
    (_set("segments.0.nominal_s", 0), "segments[0].nominal_s: expected a number in (0"),
    # negative duration
    (_set("segments.0.nominal_s", -2.0), "segments[0].nominal_s: expected a number in (0"),
    # infinite duration (not JSON, but a dict can hold it)
    (_set("segments.0.nominal_s", float("inf")), "segments[0].nominal_s: expected a finite"),
    # unknown role
    (_set("segments.0.role", "left"), "segments[0].role: expected one of main"),
    # two-hand role in a one-hand stroke
    (_set("segments.0.role", "sun"), "segments[0].role: expected 'main' in a one-hand"),
    # unknown segment key
    (_set("segments.0.speed", 1), "segments[0]: expected only the keys"),
    # no path
    (_delete("segments.0.geometry"), "segments[0]: missing required key(s) geometry"),
    # unknown shape
    (_set("segments.0.geometry.shape", "spiral"), "geometry.shape: expected one of polyline"),
    # a polyline of one point
    (_set("segments.0.geometry.points", [[0.8, 0.1]]), "points: expected a list of at least 2"),
    # coordinate out of range
    (_set("segments.0.geometry.points.1", [0.8, 2.0]), "points[1][1]: expected a number in [-0.5"),
    # coordinate not a number
    (_set("segments.0.geometry.points.1", [0.8, "x"]), "points[1][1]: expected a finite number"),
    # point with one coordinate
    (_set("segments.0.geometry.points.1", [0.8]), "points[1]: expected a point [u, v]"),
    # repeated point (zero-length edge)
    (_set("segments.0.geometry.points.1", [0.8, 0.1]), "points[1]: expected a point different"),
    # closed must be a bool
    (_set("segments.0.geometry.closed", 1), "geometry.closed: expected true or false"),
    # circle key
    (_set("segments.0.geometry.radius", 0.3), "geometry: expected only the keys"),
    # zero radius
    (_set("segments.0.geometry", {**CIRCLE, "radius": 0}), "radius: expected a number in (0, 1]"),
    # circle reaching u = 1.75, outside the margin
    (_set("segments.0.geometry", {**CIRCLE, "centre": [1.4, 0.5]}), "expected a path inside"),
    # clock position past 12
    (_set("segments.0.geometry", {**CIRCLE, "start_hour": 13}), "start_hour: expected a number"),
    # arc key on a circle
    (_set("segments.0.geometry", {**CIRCLE, "from_hour": 1}), "geometry: expected only the keys"),
    # an arc without any sweep
    (
        _set(
            "segments.0.geometry",
            {"shape": "arc", "centre": [0.5, 0.5], "radius": 0.3, "from_hour": 3, "to_hour": 3},
        ),
        "to_hour: expected a clock position different",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), MALFORMED)
def test_malformed_definitions(mutate, message):
    data = base_dict()
    mutate(data)
    with pytest.raises(StrokeError) as info:
        stroke_from_dict(data, "bad.json")
    text = str(info.value)
    assert text.startswith("bad.json: ")  # names the file
    assert message in text


def test_top_level_not_an_object():
    with pytest.raises(StrokeError, match=r"top level: expected an object, found \[\]"):
        stroke_from_dict([], "list.json")


def test_valid_definition_from_file(tmp_path):
    path = tmp_path / "mine.json"
    data = base_dict()
    data["id"] = "mine"
    path.write_text(json.dumps(data))
    assert load_stroke_file(path).id == "mine"
    assert load_stroke_file(str(path)).source == str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "expected JSON, found a syntax error at line 1"),  # truncated JSON
        ('{"x": NaN}', "NaN is not a number JSON allows"),  # NaN is not JSON
        (b"\xff\xfe{}", "expected UTF-8 JSON text"),  # not UTF-8
        ('{"x": ' + "9" * 400 + "}", "a number of 400 characters"),  # would overflow later
        ("[" * 100_000, "nested too deeply"),  # no RecursionError
        (" " * (MAX_FILE_BYTES + 1), f"at most {MAX_FILE_BYTES} bytes"),  # oversized file
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(StrokeError, match="bad.json") as info:
        load_stroke_file(path)
    assert message in str(info.value)


def test_missing_file_and_unknown_id(tmp_path):
    with pytest.raises(StrokeError, match="no such file"):
        load_stroke_file(tmp_path / "nope.json")
    with pytest.raises(StrokeError, match="unknown stroke 'moonwalk'.*i-love-you, sun, sun-moon"):
        load_stroke("moonwalk")


def test_loaded_definition_cannot_be_changed():
    defn = load_stroke("i-love-you")
    with pytest.raises(ValueError):
        defn.segments[0].points[0, 0] = 9.0
    d = stroke_to_dict(defn)
    d["segments"][0]["geometry"]["points"][0][0] = 9.0  # mutating the export...
    # ...does not change the loaded definition
    assert load_stroke("i-love-you").segments[0].geometry["points"][0][0] == 0.8
    assert copy.deepcopy(defn).id == "i-love-you"


def test_builtin_files_have_matching_ids():
    for path in sorted(Path(STROKES_DIR).glob("*.json")):
        assert json.loads(path.read_text())["id"] == path.stem


def test_lane_layout_one_piece_for_the_coach_and_recording():
    """(hand slot, segments) per matcher lane: the coach's layout, one place for both users."""
    ily, sun_moon, wheel = (load_stroke(i) for i in ("i-love-you", "sun-moon", "water-wheel"))
    everything = tuple(range(len(ily.segments)))
    assert lane_layout(ily) == [(0, everything), (1, everything)]
    assert lane_layout(ily, one_hand_slots=(0,)) == [(0, everything)]
    assert lane_layout(wheel) == lane_layout(wheel, one_hand_slots=(0,)) == [(0, (0,)), (1, (0,))]
    assert lane_layout(sun_moon) == [(0, (0,)), (1, (0,)), (0, (1,)), (1, (1,))]
