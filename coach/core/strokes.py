"""Stroke library: versioned definition files (``coach/strokes/*.json``) loaded and validated.

The data classes below are the interface the matcher, scoring, hints, samples and
drawing rely on. Keep their fields; add to them only.

File format (schema ``coach.stroke/1``), all coordinates in the tummy box
(strokes.md section 1, ``u`` right-to-left of the baby, ``v`` ribs-to-hips, v down)::

    {"schema": "coach.stroke/1", "id": "sun", "name": "Sun", "version": 1,
     "contact": "fingertips" | "palm", "hands": 1 | 2, "per_hand": false,
     "description": "...", "nominal_speed_box_per_s": 0.375,
     "pace": {"too_fast_below": 0.6, "too_slow_above": 1.8},
     "tolerances": {"off_path_box": 0.3, "incomplete_below": 0.7, "jerky_stops_per_s": 0.5},
     "repetitions_typical": [6, 10],
     "segments": [{"id": "circle", "label": "circle", "role": "main", "nominal_s": 5.9,
                   "finish_text": "...", "geometry": GEOMETRY}, ...]}

``GEOMETRY`` is one of

* ``{"shape": "polyline", "points": [[u, v], ...], "closed": false}`` (``closed`` optional),
* ``{"shape": "circle", "centre": [u, v], "radius": r, "start_hour": 12}``: a full
  clockwise circle starting at that clock position,
* ``{"shape": "arc", "centre": [u, v], "radius": r, "from_hour": 10, "to_hour": 5}``:
  a clockwise arc (10 -> 5 o'clock sweeps 210 degrees).

Clock positions (strokes.md section 1): hour ``h`` is at ``theta = 30 deg * h``
clockwise from 12, ``u = cu + r sin(theta)``, ``v = cv - r cos(theta)``.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from coach.core.safetext import parse_json, text_problem
from coach.core.types import ContactKind

SCHEMA = "coach.stroke/1"
#: Reference paths are resampled at (at most) this arc-length step, in box widths.
RESAMPLE_STEP_BOX = 0.02
#: Definition files larger than this are refused before parsing.
MAX_FILE_BYTES = 1_000_000
#: Allowed range of every coordinate (the box plus half a box of margin each side).
COORD_MIN, COORD_MAX = -0.5, 1.5
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
CONTACTS = ("fingertips", "palm")
ROLES = ("main", "sun", "moon", "paddle")
SHAPES = ("polyline", "circle", "arc")
STROKES_DIR = Path(__file__).with_name("strokes")


class StrokeError(ValueError):
    """A stroke definition is missing, unreadable or invalid; the message says where and why."""


@dataclass(frozen=True)
class Segment:
    """One judged part of a stroke: a letter, a circle, a paddle, an arc.

    ``points`` (n, 2) is the reference path in the tummy box, in the direction it
    must be performed, resampled to equal arc-length steps. For a closed segment
    (a circle) the path returns to its first point; ``points`` does not repeat it.
    """

    id: str
    label: str
    points: np.ndarray
    closed: bool
    nominal_s: float
    #: Which hand performs it: "main" for one-hand strokes, else "sun", "moon", "paddle".
    role: str = "main"
    #: What a coach says when the stroke stops short, e.g. "Carry on down to the hip."
    finish_text: str = ""
    #: The geometry as written in the definition file (JSON-like dict), None when the
    #: segment was built from points only. Do not mutate; :func:`stroke_to_dict` copies it.
    geometry: dict | None = field(default=None, compare=False, repr=False)

    @property
    def length_box(self) -> float:
        """Path length in tummy-box widths (closed segments include the closing step)."""
        pts = np.vstack([self.points, self.points[:1]]) if self.closed else self.points
        return float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))


@dataclass(frozen=True)
class PaceBounds:
    """Duration ratio bounds (actual / nominal), strokes.md section 3."""

    too_fast_below: float = 0.6
    too_slow_above: float = 1.8


@dataclass(frozen=True)
class Tolerances:
    off_path_box: float = 0.3  # mean distance from the path above this is off_path
    incomplete_below: float = 0.8  # coverage below this is incomplete
    jerky_stops_per_s: float = (
        0.5  # stop-and-go: more stops per second of stroking is jerky (assumed)
    )


@dataclass(frozen=True)
class StrokeDefinition:
    schema: str  # "coach.stroke/1"
    id: str
    name: str
    version: int
    contact: ContactKind
    hands: int  # 1 or 2
    description: str
    segments: tuple[Segment, ...]
    nominal_speed_box_per_s: float = 0.375
    pace: PaceBounds = PaceBounds()
    tolerances: Tolerances = Tolerances()
    repetitions_typical: tuple[int, int] = (6, 10)
    per_hand: bool = False  # each hand performs the whole stroke on its own (water wheel)
    source: str = field(default="", compare=False)  # file it was loaded from ("" if built in code)

    @property
    def nominal_s(self) -> float:
        """Nominal duration of one repetition (all judged segments, no transitions)."""
        return float(sum(s.nominal_s for s in self.segments))


def lane_layout(
    stroke: StrokeDefinition, one_hand_slots: tuple[int, ...] = (0, 1)
) -> list[tuple[int, tuple[int, ...]]]:
    """(hand slot, segment indices) of each matcher lane that follows ``stroke``, in order.

    One hand stroking (a one-hand stroke, or a per-hand stroke such as the water wheel
    where each hand does the whole stroke): one lane per hand slot over every segment.
    A one-hand stroke's slots are ``one_hand_slots``: both by default (the coach follows
    the hand that strokes; the other may rest on the doll). Two hands with different
    roles (sun and moon): a lane per role on each of both slots, the stroke's first
    role first (repetitions are counted on it). Used by the per-frame coach
    (:class:`coach.core.pipeline.Coach`) and by recording a reference.
    """
    everything = tuple(range(len(stroke.segments)))
    if stroke.hands == 1:
        return [(slot, everything) for slot in one_hand_slots]
    if stroke.per_hand:
        return [(0, everything), (1, everything)]
    layout: list[tuple[int, tuple[int, ...]]] = []
    for role in dict.fromkeys(s.role for s in stroke.segments):
        segs = tuple(i for i, s in enumerate(stroke.segments) if s.role == role)
        layout += [(0, segs), (1, segs)]
    return layout


# -- geometry helpers ---------------------------------------------------------------------------


def polyline_length(points: np.ndarray, closed: bool = False) -> float:
    """Length of a polyline (n, 2) in its own units; ``closed`` adds the step back to the start."""
    pts = np.asarray(points, dtype=np.float64)
    if closed and len(pts) > 1:
        pts = np.vstack([pts, pts[:1]])
    if len(pts) < 2:
        return 0.0
    return float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))


def resample_polyline(points: np.ndarray, step_box: float, closed: bool = False) -> np.ndarray:
    """Resample a polyline (n, 2) so that consecutive points are about ``step_box`` apart.

    Every input vertex (corner) is kept exactly; each edge is cut into
    ``ceil(edge / step_box)`` equal pieces, so no step exceeds ``step_box``. A
    closed polyline also resamples its closing edge and does not repeat the first
    point at the end. Zero-length edges are dropped.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 1:
        raise ValueError(
            f"resample_polyline: expected points of shape (n>=1, 2), found {pts.shape}"
        )
    if not (math.isfinite(step_box) and step_box > 0):
        raise ValueError(f"resample_polyline: expected a positive step, found {step_box}")
    ends = np.vstack([pts[1:], pts[:1]]) if closed else pts[1:]
    out = [pts[:1]]
    for a, b in zip(pts, ends, strict=False):
        length = float(np.linalg.norm(b - a))
        if length <= 1e-12:
            continue
        n = max(1, math.ceil(length / step_box - 1e-9))
        t = np.arange(1, n + 1, dtype=np.float64)[:, None] / n
        piece = a + t * (b - a)
        piece[-1] = b  # exact corner
        out.append(piece)
    res = np.vstack(out)
    if closed and len(res) > 1:
        res = res[:-1]  # the closing edge ends on the first point; don't repeat it
    return res


def arc_sweep_deg(from_hour: float, to_hour: float) -> float:
    """Clockwise sweep from one clock position to another, degrees in (0, 360]."""
    sweep = ((to_hour - from_hour) % 12.0) * 30.0
    return 360.0 if sweep == 0 else sweep


def _clock_path(
    centre: Sequence[float],
    radius: float,
    start_hour: float,
    sweep_deg: float,
    n_steps: int,
    include_end: bool,
) -> np.ndarray:
    hours = (
        start_hour + np.arange(n_steps + (1 if include_end else 0)) * (sweep_deg / 30.0) / n_steps
    )
    theta = np.radians(30.0 * hours)
    return np.stack(
        [centre[0] + radius * np.sin(theta), centre[1] - radius * np.cos(theta)], axis=1
    )


def geometry_points(
    geometry: Mapping[str, Any], step_box: float = RESAMPLE_STEP_BOX
) -> tuple[np.ndarray, bool]:
    """Resampled points (n, 2) and ``closed`` for an already validated geometry dict."""
    shape = geometry["shape"]
    if shape == "polyline":
        closed = bool(geometry.get("closed", False))
        return resample_polyline(np.asarray(geometry["points"], float), step_box, closed), closed
    centre, radius = geometry["centre"], float(geometry["radius"])
    if shape == "circle":
        n = max(8, math.ceil(2 * math.pi * radius / step_box - 1e-9))
        return _clock_path(centre, radius, float(geometry["start_hour"]), 360.0, n, False), True
    sweep = arc_sweep_deg(float(geometry["from_hour"]), float(geometry["to_hour"]))
    n = max(2, math.ceil(math.radians(sweep) * radius / step_box - 1e-9))
    return _clock_path(centre, radius, float(geometry["from_hour"]), sweep, n, True), False


# -- validation ---------------------------------------------------------------------------------


class _Checker:
    """Field checks that raise StrokeError naming the file and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, expected: str, found: object) -> StrokeError:
        shown = repr(found)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return StrokeError(f"{self.source}: {where}: expected {expected}, found {shown}")

    def keys(self, obj: object, where: str, required: set[str], optional: set[str]) -> dict:
        if not isinstance(obj, dict):
            raise self.fail(where, "an object", obj)
        unknown = sorted(set(obj) - required - optional)
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.fail(
                where, f"only the keys {allowed}", f"unknown key(s) {', '.join(unknown)}"
            )
        missing = sorted(required - set(obj))
        if missing:
            raise StrokeError(
                f"{self.source}: {where}: missing required key(s) {', '.join(missing)}"
            )
        return obj

    def number(
        self,
        value: object,
        where: str,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
        hi_open: bool = False,
    ) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(where, "a finite number", value)
        v = float(value)
        below = lo is not None and (v <= lo if lo_open else v < lo)
        above = hi is not None and (v >= hi if hi_open else v > hi)
        if below or above:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            raise self.fail(where, f"a number in {left}{lo_s}, {hi_s}{right}", value)
        return v

    def integer(self, value: object, where: str, lo: int, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, "an integer", value)
        if value < lo or (hi is not None and value > hi):
            raise self.fail(
                where, f"an integer in [{lo}, {hi if hi is not None else 'inf'}]", value
            )
        return value

    def text(self, value: object, where: str, nonempty: bool = True, max_len: int = 2000) -> str:
        """Plain printable text (no control, bidi or line-separator characters)."""
        if not isinstance(value, str) or (nonempty and not value.strip()) or len(value) > max_len:
            what = "a non-empty string" if nonempty else "a string"
            raise self.fail(where, f"{what} of at most {max_len} characters", value)
        problem = text_problem(value, max_len)
        if problem is not None:
            raise StrokeError(f"{self.source}: {where}: {problem}")
        return value

    def choice(self, value: object, where: str, options: Sequence[Any]) -> Any:
        if isinstance(value, bool) or value not in options:
            raise self.fail(where, f"one of {', '.join(map(str, options))}", value)
        return value

    def ident(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise self.fail(where, "an id of lowercase letters, digits and '-' (at most 64)", value)
        return value

    def point(self, value: object, where: str) -> list[float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(where, "a point [u, v]", value)
        return [self.number(c, f"{where}[{i}]", COORD_MIN, COORD_MAX) for i, c in enumerate(value)]


def _parse_geometry(chk: _Checker, obj: object, where: str) -> dict:
    shape = obj.get("shape") if isinstance(obj, dict) else None
    chk.keys(
        obj,
        where,
        {"shape"},
        {"points", "closed", "centre", "radius", "start_hour", "from_hour", "to_hour"},
    )
    chk.choice(shape, f"{where}.shape", SHAPES)
    if shape == "polyline":
        chk.keys(obj, where, {"shape", "points"}, {"closed"})
        raw = obj["points"]
        if not isinstance(raw, list) or len(raw) < 2:
            raise chk.fail(f"{where}.points", "a list of at least 2 points", raw)
        pts = [chk.point(p, f"{where}.points[{i}]") for i, p in enumerate(raw)]
        closed = obj.get("closed", False)
        if not isinstance(closed, bool):
            raise chk.fail(f"{where}.closed", "true or false", closed)
        for i in range(1, len(pts)):
            if pts[i] == pts[i - 1]:
                raise chk.fail(
                    f"{where}.points[{i}]", "a point different from the one before", pts[i]
                )
        if closed and len(pts) < 3:
            raise chk.fail(f"{where}.points", "at least 3 points for a closed polyline", raw)
        return {"shape": "polyline", "points": pts, **({"closed": True} if closed else {})}
    hours = {"start_hour"} if shape == "circle" else {"from_hour", "to_hour"}
    chk.keys(obj, where, {"shape", "centre", "radius"} | hours, set())
    geom: dict = {
        "shape": shape,
        "centre": chk.point(obj["centre"], f"{where}.centre"),
        "radius": chk.number(obj["radius"], f"{where}.radius", 0.0, 1.0, lo_open=True),
    }
    for key in sorted(hours):
        geom[key] = chk.number(obj[key], f"{where}.{key}", 0.0, 12.0)
    if shape == "arc" and (geom["to_hour"] - geom["from_hour"]) % 12.0 == 0:
        raise chk.fail(
            f"{where}.to_hour",
            "a clock position different from from_hour (use a circle for a full turn)",
            obj["to_hour"],
        )
    return geom


def _parse_segment(chk: _Checker, obj: object, where: str, hands: int) -> Segment:
    chk.keys(obj, where, {"id", "label", "nominal_s", "geometry"}, {"role", "finish_text"})
    seg_id = chk.ident(obj["id"], f"{where}.id")
    role = chk.choice(obj.get("role", "main"), f"{where}.role", ROLES)
    if hands == 1 and role != "main":
        raise chk.fail(f"{where}.role", "'main' in a one-hand stroke", role)
    geometry = _parse_geometry(chk, obj["geometry"], f"{where}.geometry")
    points, closed = geometry_points(geometry)
    if points.min() < COORD_MIN or points.max() > COORD_MAX:
        raise chk.fail(
            f"{where}.geometry",
            f"a path inside [{COORD_MIN:g}, {COORD_MAX:g}]",
            f"a path reaching {points.min():.3g}..{points.max():.3g}",
        )
    points.setflags(write=False)
    return Segment(
        id=seg_id,
        label=chk.text(obj["label"], f"{where}.label", max_len=40),
        points=points,
        closed=closed,
        nominal_s=chk.number(obj["nominal_s"], f"{where}.nominal_s", 0.0, 600.0, lo_open=True),
        role=role,
        finish_text=chk.text(
            obj.get("finish_text", ""), f"{where}.finish_text", nonempty=False, max_len=200
        ),
        geometry=geometry,
    )


_TOP_REQUIRED = {"schema", "id", "name", "version", "contact", "hands", "description", "segments"}
_TOP_OPTIONAL = {"per_hand", "nominal_speed_box_per_s", "pace", "tolerances", "repetitions_typical"}


def stroke_from_dict(data: object, source: str = "<stroke>") -> StrokeDefinition:
    """Validate a parsed definition (``coach.stroke/1``) and build the StrokeDefinition.

    ``source`` names the file in error messages. Raises :class:`StrokeError`.
    """
    chk = _Checker(source)
    if isinstance(data, dict) and "schema" in data and data["schema"] != SCHEMA:
        raise chk.fail("schema", repr(SCHEMA), data["schema"])
    chk.keys(data, "top level", _TOP_REQUIRED, _TOP_OPTIONAL)
    assert isinstance(data, dict)
    hands = chk.integer(data["hands"], "hands", 1, 2)
    per_hand = data.get("per_hand", False)
    if not isinstance(per_hand, bool):
        raise chk.fail("per_hand", "true or false", per_hand)
    if per_hand and hands != 2:
        raise chk.fail("per_hand", "false for a one-hand stroke (hands = 1)", per_hand)
    pace_obj = chk.keys(data.get("pace", {}), "pace", set(), {"too_fast_below", "too_slow_above"})
    pace = PaceBounds(
        chk.number(
            pace_obj.get("too_fast_below", 0.6), "pace.too_fast_below", 0.0, 1.0, True, True
        ),
        chk.number(pace_obj.get("too_slow_above", 1.8), "pace.too_slow_above", 1.0, 100.0, True),
    )
    tol_obj = chk.keys(
        data.get("tolerances", {}),
        "tolerances",
        set(),
        {"off_path_box", "incomplete_below", "jerky_stops_per_s"},
    )
    tolerances = Tolerances(
        chk.number(tol_obj.get("off_path_box", 0.3), "tolerances.off_path_box", 0.0, 2.0, True),
        chk.number(tol_obj.get("incomplete_below", 0.8), "tolerances.incomplete_below", 0.0, 1.0),
        chk.number(tol_obj.get("jerky_stops_per_s", 0.5), "tolerances.jerky_stops_per_s", 0, 100),
    )
    reps = data.get("repetitions_typical", [6, 10])
    if not isinstance(reps, list | tuple) or len(reps) != 2:
        raise chk.fail("repetitions_typical", "[lo, hi]", reps)
    lo = chk.integer(reps[0], "repetitions_typical[0]", 1, 1000)
    hi = chk.integer(reps[1], "repetitions_typical[1]", lo, 1000)
    raw_segments = data["segments"]
    if not isinstance(raw_segments, list) or not raw_segments or len(raw_segments) > 64:
        raise chk.fail("segments", "a list of 1 to 64 segments", raw_segments)
    segments = tuple(
        _parse_segment(chk, s, f"segments[{i}]", hands) for i, s in enumerate(raw_segments)
    )
    seen: set[str] = set()
    for i, seg in enumerate(segments):
        if seg.id in seen:
            raise chk.fail(f"segments[{i}].id", "ids unique within the stroke", seg.id)
        seen.add(seg.id)
    return StrokeDefinition(
        schema=SCHEMA,
        id=chk.ident(data["id"], "id"),
        name=chk.text(data["name"], "name", max_len=80),
        version=chk.integer(data["version"], "version", 1),
        contact=chk.choice(data["contact"], "contact", CONTACTS),
        hands=hands,
        description=chk.text(data["description"], "description", nonempty=False),
        segments=segments,
        nominal_speed_box_per_s=chk.number(
            data.get("nominal_speed_box_per_s", 0.375),
            "nominal_speed_box_per_s",
            0.0,
            10.0,
            lo_open=True,
        ),
        pace=pace,
        tolerances=tolerances,
        repetitions_typical=(lo, hi),
        per_hand=per_hand,
        source=source,
    )


# -- loading ------------------------------------------------------------------------------------


def builtin_ids() -> list[str]:
    """Ids of the definitions shipped in ``coach/strokes``, sorted."""
    return sorted(p.stem for p in STROKES_DIR.glob("*.json"))  # package data


@lru_cache(maxsize=32)
def _load_builtin(stroke_id: str) -> StrokeDefinition:
    path = STROKES_DIR / f"{stroke_id}.json"  # package data, read as shipped
    data = parse_json(path.read_text(encoding="utf-8"), str(path), StrokeError)
    defn = stroke_from_dict(data, str(path))
    if defn.id != stroke_id:
        raise StrokeError(f"{path}: id: expected {stroke_id!r} (the file name), found {defn.id!r}")
    return defn


def load_stroke(stroke_id: str) -> StrokeDefinition:
    """A built-in stroke by id (``"sun"``). Definition files other people made are read by
    :func:`coach.references.library.load_stroke_file` (the core reads no file).

    Raises :class:`StrokeError` for an unknown id.
    """
    known = builtin_ids()
    if stroke_id not in known:
        raise StrokeError(
            f"unknown stroke {stroke_id!r}: expected one of {', '.join(known)} "
            "or a path to a .json definition"
        )
    return _load_builtin(stroke_id)


def list_strokes() -> list[StrokeDefinition]:
    """The built-in stroke definitions, sorted by id."""
    return [_load_builtin(i) for i in builtin_ids()]


# -- export -------------------------------------------------------------------------------------


def _segment_to_dict(seg: Segment) -> dict:
    if seg.geometry is not None:
        geometry = copy.deepcopy(seg.geometry)
    else:
        geometry = {"shape": "polyline", "points": [[float(u), float(v)] for u, v in seg.points]}
        if seg.closed:
            geometry["closed"] = True
    out = {"id": seg.id, "label": seg.label, "role": seg.role, "nominal_s": seg.nominal_s}
    if seg.finish_text:
        out["finish_text"] = seg.finish_text
    out["geometry"] = geometry
    return out


def stroke_to_dict(defn: StrokeDefinition) -> dict:
    """A JSON-ready dict that :func:`stroke_from_dict` turns back into an equal definition.

    Segments built from points (no ``geometry``) are exported as polylines of their
    resampled points, which resample to the same points again.
    """
    return {
        "schema": SCHEMA,
        "id": defn.id,
        "name": defn.name,
        "version": defn.version,
        "contact": defn.contact,
        "hands": defn.hands,
        "per_hand": defn.per_hand,
        "description": defn.description,
        "nominal_speed_box_per_s": defn.nominal_speed_box_per_s,
        "pace": {
            "too_fast_below": defn.pace.too_fast_below,
            "too_slow_above": defn.pace.too_slow_above,
        },
        "tolerances": {
            "off_path_box": defn.tolerances.off_path_box,
            "incomplete_below": defn.tolerances.incomplete_below,
            "jerky_stops_per_s": defn.tolerances.jerky_stops_per_s,
        },
        "repetitions_typical": list(defn.repetitions_typical),
        "segments": [_segment_to_dict(s) for s in defn.segments],
    }
