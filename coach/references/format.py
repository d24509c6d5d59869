"""The reference file format ``coach.reference/1``: the :class:`Reference` record, names
and ids, dict <-> Reference with full validation, reading one file.

A *reference* is a :class:`~coach.core.strokes.StrokeDefinition` of a built-in stroke
type (``based_on``) whose segment paths and nominal durations come from a
demonstration (:mod:`coach.references.recording`). One small UTF-8 JSON file, at most
:data:`MAX_FILE_BYTES`; see ``docs/reference-format.md``::

    {"schema": "coach.reference/1",          # format and version
     "based_on": "i-love-you",               # a built-in stroke id
     "created_at": "2025-05-01T10:00:00Z",   # ISO 8601
     "demonstration": {...},                 # optional: what it was recorded from
     "stroke": <a coach.stroke/1 definition, as coach.core.strokes.stroke_to_dict writes it>}

The ``stroke`` object loads with :func:`coach.core.strokes.stroke_from_dict` on its own.
Everything read from a file is validated (:func:`reference_from_dict`); a bad file
raises :class:`ReferenceFileError` with a message saying what was expected and what
was found.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from coach.core.safetext import one_line, skeleton, text_problem
from coach.core.strokes import (
    ID_PATTERN,
    StrokeDefinition,
    StrokeError,
    builtin_ids,
    load_stroke,
    stroke_from_dict,
    stroke_to_dict,
)
from coach.storage.shared_files import read_json_file

SCHEMA = "coach.reference/1"
FORMAT_VERSION = 1
_SCHEMA_RE = re.compile(r"^coach\.reference/(\d{1,6})$")

#: Reference files larger than this are refused before parsing.
MAX_FILE_BYTES = 256 * 1024
MAX_SEGMENTS = 12
MAX_POINTS_PER_SEGMENT = 2000
MAX_NAME_CHARS = 80
MAX_ID_CHARS = 64
#: A segment's nominal duration must lie in this range (seconds) ...
NOMINAL_S_RANGE = (0.3, 120.0)
#: ... and within this factor of the built-in type's nominal duration.
NOMINAL_RATIO_RANGE = (0.25, 4.0)
#: A segment's path length must lie in this range (tummy-box widths).
SEGMENT_LENGTH_RANGE_BOX = (0.05, 10.0)
#: Names that are not usable as file names on some systems.
RESERVED_IDS = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)


class ReferenceFileError(StrokeError):
    """A reference file or name is missing, unreadable, invalid or clashes; one-line message."""


@dataclass(frozen=True)
class Reference:
    """A saved (or about to be saved) reference: the stroke plus where it came from."""

    stroke: StrokeDefinition
    based_on: str  # built-in stroke id
    created_at: str  # ISO 8601, UTC
    demonstration: dict = field(default_factory=dict, compare=False)
    path: Path | None = field(default=None, compare=False)  # file it was loaded from

    @property
    def id(self) -> str:
        return self.stroke.id

    @property
    def name(self) -> str:
        return self.stroke.name


# =================================================================================================
# Names
# =================================================================================================


def slugify(name: str) -> str:
    """``"Anna's I Love You"`` -> ``"anna-s-i-love-you"``: ASCII lowercase letters, digits and
    single dashes, at most :data:`MAX_ID_CHARS`; ``""`` when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_ID_CHARS].rstrip("-")


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a usable reference name, or None."""
    if not isinstance(name, str):
        return f"expected a name (text), found {type(name).__name__}"
    text = name.strip()
    if not text:
        return "expected a non-empty name"
    if len(text) > MAX_NAME_CHARS:
        return f"expected a name of at most {MAX_NAME_CHARS} characters, found {len(text)}"
    if "/" in text or "\\" in text:
        return f"expected a name without path separators ('/' or '\\'), found {text!r}"
    if ".." in text:
        return f"expected a name without '..', found {text!r}"
    bad = [c for c in text if unicodedata.category(c)[0] == "C" or not c.isprintable()]
    if bad:
        return f"expected a name without control characters, found {bad[0]!r} in {text!r}"
    imitated = _imitated_builtin(text)
    if imitated is not None:
        return (
            f"expected a name that does not copy or look like the built-in stroke "
            f"{imitated!r}, found {text!r}"
        )
    return _id_problem(slugify(text), text)


def _imitated_builtin(name: str) -> str | None:
    """The built-in stroke whose display name or id ``name`` copies or imitates (same
    skeleton after Unicode confusable folding), or None."""
    folded = skeleton(name)
    for stroke_id in builtin_ids():
        if folded in (skeleton(stroke_id), skeleton(load_stroke(stroke_id).name)):
            return stroke_id
    return None


def _id_problem(ref_id: object, shown: object = None) -> str | None:
    shown = ref_id if shown is None else shown
    if not isinstance(ref_id, str) or not ref_id:
        return f"expected a name with at least one letter or digit, found {shown!r}"
    if not ID_PATTERN.match(ref_id) or len(ref_id) > MAX_ID_CHARS:
        return (
            f"expected an id of lowercase letters, digits and '-' (at most {MAX_ID_CHARS}), "
            f"found {shown!r}"
        )
    if ref_id in RESERVED_IDS:
        return (
            f"expected a name that is not a reserved file name ({ref_id.upper()}), found {shown!r}"
        )
    if ref_id in builtin_ids():
        return (
            f"expected a name other than the built-in stroke {ref_id!r} "
            f"(it would hide it), found {shown!r}"
        )
    return None


def reference_id(name: str) -> str:
    """The id (and file stem) of a reference called ``name``; raises ReferenceFileError
    for names that are empty, too long, hold path separators, ``..`` or control
    characters, or whose slug is reserved or a built-in stroke id."""
    problem = name_problem(name)
    if problem is not None:
        raise ReferenceFileError(f"reference name: {problem}")
    return slugify(name.strip())


# =================================================================================================
# File format: dict <-> Reference, with full validation
# =================================================================================================


class _Described(str):
    """A description of what was found, shown without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _fail(source: str, where: str, expected: str, found: object) -> ReferenceFileError:
    shown = repr(found)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ReferenceFileError(f"{source}: {where}: expected {expected}, found {shown}")


def _check_keys(source: str, obj: object, where: str, required: set, optional: set) -> dict:
    if not isinstance(obj, dict):
        raise _fail(source, where, "an object", obj)
    unknown = sorted(one_line(k)[:40] for k in set(obj) - required - optional)
    if unknown:
        raise _fail(
            source,
            where,
            f"only the keys {', '.join(sorted(required | optional))}",
            _Described(f"unknown key(s) {', '.join(unknown)}"),
        )
    missing = sorted(required - set(obj))
    if missing:
        raise ReferenceFileError(f"{source}: {where}: missing required key(s) {', '.join(missing)}")
    return obj


def _check_int(source: str, value: object, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(source, where, f"an integer in [{lo}, {hi}]", value)
    return value


def _check_float(source: str, value: object, where: str, lo: float, hi: float) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and lo <= value <= hi
    )
    if not ok:
        raise _fail(source, where, f"a finite number in [{lo:g}, {hi:g}]", value)
    return float(value)


def _check_text(source: str, value: object, where: str, max_len: int) -> str:
    if text_problem(value, max_len) is not None:
        raise _fail(source, where, f"printable text of at most {max_len} characters", value)
    assert isinstance(value, str)
    return value


def _check_demonstration(source: str, obj: object) -> dict:
    """The optional ``demonstration`` block: small, typed, informational."""
    where = "demonstration"
    _check_keys(
        source, obj, where, set(), {"video", "frames", "repetitions", "detected", "segments"}
    )
    assert isinstance(obj, dict)
    out: dict[str, Any] = {}
    if "video" in obj:
        out["video"] = _check_text(source, obj["video"], f"{where}.video", 255)
    if "frames" in obj:
        out["frames"] = _check_int(source, obj["frames"], f"{where}.frames", 0, 10_000_000)
    if "repetitions" in obj:
        out["repetitions"] = _check_int(source, obj["repetitions"], f"{where}.repetitions", 0, 1000)
    if "detected" in obj:
        if not isinstance(obj["detected"], bool):
            raise _fail(source, f"{where}.detected", "true or false", obj["detected"])
        out["detected"] = obj["detected"]
    if "segments" in obj:
        segs = obj["segments"]
        if not isinstance(segs, list) or len(segs) > MAX_SEGMENTS:
            raise _fail(source, f"{where}.segments", f"a list of at most {MAX_SEGMENTS}", segs)
        out["segments"] = []
        for i, s in enumerate(segs):
            w = f"{where}.segments[{i}]"
            _check_keys(source, s, w, {"id"}, {"repetitions", "durations_s"})
            item: dict[str, Any] = {"id": _check_text(source, s["id"], f"{w}.id", MAX_ID_CHARS)}
            if "repetitions" in s:
                item["repetitions"] = _check_int(
                    source, s["repetitions"], f"{w}.repetitions", 0, 1000
                )
            if "durations_s" in s:
                d = s["durations_s"]
                if not isinstance(d, list) or len(d) > 1000:
                    raise _fail(source, f"{w}.durations_s", "a list of at most 1000 numbers", d)
                item["durations_s"] = [
                    _check_float(source, x, f"{w}.durations_s[{k}]", 0.0, 3600.0)
                    for k, x in enumerate(d)
                ]
            out["segments"].append(item)
    return out


def _precheck_stroke_sizes(source: str, obj: object) -> None:
    """Array sizes before the (costlier) stroke validation: few segments, bounded points."""
    if not isinstance(obj, dict):
        raise _fail(source, "stroke", "an object (a coach.stroke/1 definition)", obj)
    segs = obj.get("segments")
    if not isinstance(segs, list):
        raise _fail(source, "stroke: segments", "a list of segments", segs)
    if not 1 <= len(segs) <= MAX_SEGMENTS:
        raise _fail(
            source,
            "stroke: segments",
            f"1 to {MAX_SEGMENTS} segments",
            _Described(f"{len(segs)} segments"),
        )
    for i, seg in enumerate(segs):
        geom = seg.get("geometry") if isinstance(seg, dict) else None
        pts = geom.get("points") if isinstance(geom, dict) else None
        if isinstance(pts, list) and len(pts) > MAX_POINTS_PER_SEGMENT:
            raise _fail(
                source,
                f"stroke: segments[{i}].geometry.points",
                f"at most {MAX_POINTS_PER_SEGMENT} points",
                _Described(f"{len(pts)} points"),
            )


def _check_against_builtin(source: str, stroke: StrokeDefinition, base: StrokeDefinition) -> None:
    """Same structure as the built-in type; durations and lengths in sane ranges."""
    for attr in ("contact", "hands", "per_hand"):
        if getattr(stroke, attr) != getattr(base, attr):
            raise _fail(
                source,
                f"stroke: {attr}",
                f"{getattr(base, attr)!r} as in the built-in {base.id!r}",
                getattr(stroke, attr),
            )
    if len(stroke.segments) != len(base.segments):
        raise _fail(
            source,
            "stroke: segments",
            f"{_count(len(base.segments), 'segment')} as in the built-in {base.id!r}",
            _Described(_count(len(stroke.segments), "segment")),
        )
    lo_s, hi_s = NOMINAL_S_RANGE
    lo_r, hi_r = NOMINAL_RATIO_RANGE
    lo_l, hi_l = SEGMENT_LENGTH_RANGE_BOX
    for i, (seg, ref) in enumerate(zip(stroke.segments, base.segments, strict=True)):
        where = f"stroke: segments[{i}]"
        for attr in ("id", "role", "closed"):
            if getattr(seg, attr) != getattr(ref, attr):
                raise _fail(
                    source,
                    f"{where}.{attr}",
                    f"{getattr(ref, attr)!r} as in the built-in {base.id!r}",
                    getattr(seg, attr),
                )
        if not lo_s <= seg.nominal_s <= hi_s:
            raise _fail(
                source, f"{where}.nominal_s", f"seconds in [{lo_s:g}, {hi_s:g}]", seg.nominal_s
            )
        ratio = seg.nominal_s / ref.nominal_s
        if not lo_r <= ratio <= hi_r:
            raise _fail(
                source,
                f"{where}.nominal_s",
                f"{lo_r:g}x to {hi_r:g}x the built-in {ref.nominal_s:g} s",
                seg.nominal_s,
            )
        length = seg.length_box
        if not lo_l <= length <= hi_l:
            raise _fail(
                source,
                f"{where}.geometry",
                f"a path {lo_l:g} to {hi_l:g} box widths long",
                _Described(f"{length:.3g}"),
            )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _check_created_at(source: str, value: object) -> str:
    text = _check_text(source, value, "created_at", 40)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise _fail(source, "created_at", "an ISO 8601 date and time", value) from None
    return text


def reference_from_dict(data: object, source: str = "<reference>") -> Reference:
    """Validate a parsed ``coach.reference/1`` object and build the :class:`Reference`.

    Checks the schema and version, every key and type, array sizes (at most
    :data:`MAX_SEGMENTS` segments of at most :data:`MAX_POINTS_PER_SEGMENT` points),
    finite numbers in range, the names (safe as a file name, not reserved, not a
    built-in id), that ``based_on`` is a built-in stroke whose structure (contact,
    hands, segment ids, roles, open/closed) the stroke keeps, and sane durations and
    lengths. ``source`` names the file in messages. Raises :class:`ReferenceFileError`.
    """
    if not isinstance(data, dict):
        raise _fail(source, "top level", "an object", data)
    schema = data.get("schema")
    match = _SCHEMA_RE.match(schema) if isinstance(schema, str) else None
    if match is None:
        raise _fail(source, "schema", repr(SCHEMA), schema)
    if int(match.group(1)) != FORMAT_VERSION:
        raise _fail(
            source,
            "schema",
            f"version {FORMAT_VERSION} ({SCHEMA}); this Stroke Coach cannot read newer files",
            schema,
        )
    _check_keys(
        source, data, "top level", {"schema", "based_on", "created_at", "stroke"}, {"demonstration"}
    )
    known = builtin_ids()
    based_on = data["based_on"]
    if not isinstance(based_on, str) or based_on not in known:
        raise _fail(source, "based_on", f"a built-in stroke id ({', '.join(known)})", based_on)
    created_at = _check_created_at(source, data["created_at"])
    demonstration = _check_demonstration(source, data.get("demonstration", {}))
    raw = data["stroke"]
    _precheck_stroke_sizes(source, raw)
    try:
        stroke = stroke_from_dict(raw, f"{source}: stroke")
    except StrokeError as exc:
        raise ReferenceFileError(str(exc)) from None
    problem = name_problem(stroke.name)
    if problem is not None:
        raise ReferenceFileError(f"{source}: stroke: name: {problem}")
    problem = _id_problem(stroke.id)
    if problem is not None:
        raise ReferenceFileError(f"{source}: stroke: id: {problem}")
    expected_id = slugify(stroke.name.strip())
    if stroke.id != expected_id:
        raise _fail(
            source, "stroke: id", f"{expected_id!r} (the id of the name {stroke.name!r})", stroke.id
        )
    _check_against_builtin(source, stroke, load_stroke(based_on))
    return Reference(stroke, based_on, created_at, demonstration)


def reference_to_dict(ref: Reference) -> dict:
    """The JSON-ready ``coach.reference/1`` object for ``ref``."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "based_on": ref.based_on,
        "created_at": ref.created_at,
    }
    if ref.demonstration:
        out["demonstration"] = ref.demonstration
    out["stroke"] = stroke_to_dict(ref.stroke)
    return out


def reference_json(ref: Reference) -> str:
    """Readable JSON text of ``ref`` (points one per line); validated and size-checked."""
    data = reference_to_dict(ref)
    reference_from_dict(json.loads(json.dumps(data)), f"reference {ref.id!r}")
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    # [u, v] pairs on one line each: a third of the size and easier to read
    text = re.sub(r"\[\s+(-?[0-9.eE+-]+),\s+(-?[0-9.eE+-]+)\s+\]", r"[\1, \2]", text) + "\n"
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise ReferenceFileError(
            f"reference {ref.id!r}: expected at most {MAX_FILE_BYTES} bytes as a file, found {size}"
        )
    return text


# =================================================================================================
# Reading and writing files
# =================================================================================================


def read_reference_json(path: str | os.PathLike) -> object:
    """Parse a reference file safely: regular file, at most :data:`MAX_FILE_BYTES`, UTF-8
    JSON without NaN/Infinity, long or out-of-range numbers, duplicate keys or deep
    nesting (the one safe reader, :func:`coach.storage.shared_files.read_json_file`)."""
    return read_json_file(path, MAX_FILE_BYTES, ReferenceFileError, "a reference file")


def read_reference_file(path: str | os.PathLike) -> Reference:
    """Read and validate one reference file (any location)."""
    p = Path(path)
    ref = reference_from_dict(read_reference_json(p), str(p))
    return Reference(ref.stroke, ref.based_on, ref.created_at, ref.demonstration, p)
