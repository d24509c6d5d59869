"""Named references recorded from an instructor's demonstration, saved, shared and loaded.

A *reference* is a :class:`~coach.strokes.StrokeDefinition` of a built-in stroke type
(``based_on``) whose segment paths and nominal durations come from a demonstration:
the instructor's own geometry (in the tummy box, strokes.md section 1) and pace.
Contact point, hands, roles, pace bounds and tolerances are the built-in type's.

Recording (:func:`record_reference`): every frame's hands go through the hand tracker
(:class:`~coach.smoothing.HandTracker`, contact point of the stroke type, body frame of
the calibration); the built-in stroke's :class:`~coach.matcher.OnlineMatcher` finds
each segment's time span in every repetition; the instructor's path inside a span is
trimmed to the moving part, averaged over the repetitions by arc-length fraction,
lightly smoothed and resampled every :data:`~coach.strokes.RESAMPLE_STEP_BOX` box
widths. A segment's nominal duration is the median over the repetitions of the
matcher's pace estimate (the same estimate scoring compares against the nominal,
so practising at the instructor's pace scores a speed ratio of about 1).

File format ``coach.reference/1`` (one small UTF-8 JSON file, at most
:data:`MAX_FILE_BYTES`; see ``docs/reference-format.md``)::

    {"schema": "coach.reference/1",          # format and version
     "based_on": "i-love-you",               # a built-in stroke id
     "created_at": "2025-05-01T10:00:00Z",   # ISO 8601
     "demonstration": {...},                 # optional: what it was recorded from
     "stroke": <a coach.stroke/1 definition, as coach.strokes.stroke_to_dict writes it>}

The ``stroke`` object loads with :func:`coach.strokes.stroke_from_dict` on its own.
Saved references live in a folder the caller chooses (``refs_dir``), one file
``<id>.json`` each, ``id`` being the slug of the reference's name. Core functions
take that folder as an argument; only the command-line helpers at the end pick a
default (:func:`default_references_dir`).

Everything read from a file is validated (:func:`reference_from_dict`); a bad file
raises :class:`ReferenceFileError` with a message saying what was expected and what
was found, and writing is atomic (temporary file, then rename), so a failed import
or save leaves the folder as it was.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.matcher import OnlineMatcher
from coach.core.safetext import one_line, read_json_file, skeleton, text_problem
from coach.core.smoothing import HandTracker
from coach.core.strokes import (
    COORD_MAX,
    COORD_MIN,
    ID_PATTERN,
    RESAMPLE_STEP_BOX,
    StrokeDefinition,
    StrokeError,
    builtin_ids,
    load_stroke,
    polyline_length,
    stroke_from_dict,
    stroke_to_dict,
)
from coach.core.strokes import MAX_FILE_BYTES as STROKE_MAX_FILE_BYTES
from coach.core.types import ContactKind, HandObservation, SegmentRecord
from coach.storage import paths
from coach.storage.atomic import write_text_atomic

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
#: Points per segment when averaging repetitions (arc-length fractions).
_AVERAGE_POINTS = 240
#: Half-width of the moving-average smoothing of the averaged path, box widths.
_SMOOTH_HALF_BOX = 0.02
#: A trimmed segment path shorter than this fraction of the built-in's is not used.
_MIN_LENGTH_FRACTION = 0.3
#: A two-hand stroke needs two hands seen together in at least this fraction of frames.
_TWO_HANDS_MIN_FRACTION = 0.05
#: Auto-detection: the best type's distance must be below this fraction of the runner-up's.
_DETECT_MARGIN = 0.7


class ReferenceFileError(StrokeError):
    """A reference file or name is missing, unreadable, invalid or clashes; one-line message."""


class DemonstrationError(ValueError):
    """A demonstration cannot be turned into a reference; the message says why and what to do."""


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


def _name_problem(name: object) -> str | None:
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
    problem = _name_problem(name)
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
    problem = _name_problem(stroke.name)
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
    nesting (the one safe reader, :func:`coach.safetext.read_json_file`)."""
    return read_json_file(path, MAX_FILE_BYTES, ReferenceFileError, "a reference file")


def read_reference_file(path: str | os.PathLike) -> Reference:
    """Read and validate one reference file (any location)."""
    p = Path(path)
    ref = reference_from_dict(read_reference_json(p), str(p))
    return Reference(ref.stroke, ref.based_on, ref.created_at, ref.demonstration, p)


def reference_path(ref_id: str, refs_dir: str | os.PathLike) -> Path:
    """Where the reference with id ``ref_id`` is saved in ``refs_dir``."""
    return Path(refs_dir) / f"{ref_id}.json"


def save_reference(ref: Reference, refs_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """Save ``ref`` as ``<refs_dir>/<id>.json`` (validated first; atomic). Raises
    :class:`ReferenceFileError` when a reference with that id is already saved and
    ``overwrite`` is false, or the folder cannot be written."""
    text = reference_json(ref)  # validates; nothing is touched if this fails
    folder = Path(refs_dir)
    dest = reference_path(ref.id, folder)
    if dest.exists() and not overwrite:
        raise _exists(ref.id, dest)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(text, dest, overwrite, mode=0o644)  # meant to be read and shared
    except FileExistsError:
        raise _exists(ref.id, dest) from None
    except OSError as exc:
        raise ReferenceFileError(
            f"{dest}: cannot save the reference ({exc.strerror or exc})"
        ) from None
    return dest


def _exists(ref_id: str, dest: Path) -> ReferenceFileError:
    return ReferenceFileError(
        f"a reference named {ref_id!r} is already saved ({dest}); "
        "pass overwrite (--overwrite) to replace it, or choose another name"
    )


def _looks_like_path(name_or_path: str | os.PathLike) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    text = str(name_or_path)
    return "/" in text or os.sep in text or text.endswith(".json")


def saved_ids(refs_dir: str | os.PathLike) -> list[str]:
    """Ids of the reference files in ``refs_dir`` (valid or not), sorted."""
    folder = Path(refs_dir)
    if not folder.is_dir():
        return []
    return sorted(
        p.stem for p in folder.glob("*.json") if not p.name.startswith(".") and p.is_file()
    )


def load_reference(name_or_path: str | os.PathLike, refs_dir: str | os.PathLike) -> Reference:
    """A saved reference by name or id (looked up in ``refs_dir``), or a reference file by
    path (anything with a path separator or ending in ``.json``)."""
    if _looks_like_path(name_or_path):
        return read_reference_file(name_or_path)
    ref_id = slugify(str(name_or_path))
    path = reference_path(ref_id, refs_dir) if ref_id else None
    if path is None or not path.is_file():
        saved = ", ".join(saved_ids(refs_dir)) or "none"
        raise ReferenceFileError(
            f"no saved reference named {str(name_or_path)!r} in {refs_dir} (saved: {saved})"
        )
    ref = read_reference_file(path)
    if ref.id != path.stem:
        raise ReferenceFileError(
            f"{path}: stroke.id: expected {path.stem!r} (the file name), found {ref.id!r}"
        )
    return ref


def scan_references(refs_dir: str | os.PathLike) -> tuple[list[Reference], list[str]]:
    """Every valid reference in ``refs_dir`` (sorted by id) and a message per broken file."""
    refs, problems = [], []
    for ref_id in saved_ids(refs_dir):
        try:
            refs.append(load_reference(ref_id, refs_dir))
        except StrokeError as exc:
            problems.append(str(exc))
        except (OSError, ValueError, TypeError, RecursionError) as exc:  # never break a page
            problems.append(f"{reference_path(ref_id, refs_dir)}: cannot read it ({exc})")
    return refs, problems


def list_references(refs_dir: str | os.PathLike) -> list[Reference]:
    """The valid references saved in ``refs_dir``, sorted by id (broken files are skipped)."""
    return scan_references(refs_dir)[0]


def export_reference(
    name: str, refs_dir: str | os.PathLike, dest: str | os.PathLike, overwrite: bool = False
) -> Path:
    """Write the saved reference ``name`` to the file ``dest`` (validated, canonical JSON,
    atomic; an existing ``dest`` is replaced only with ``overwrite``)."""
    ref = load_reference(name, refs_dir)
    text = reference_json(ref)
    out = Path(dest)
    if out.is_dir():
        out = out / f"{ref.id}.json"
    if out.exists() and not overwrite:
        raise ReferenceFileError(
            f"{out}: already exists; pass overwrite (--overwrite) to replace it"
        )
    try:
        write_text_atomic(text, out, overwrite, mode=0o644)
    except FileExistsError:
        raise ReferenceFileError(
            f"{out}: already exists; pass overwrite (--overwrite) to replace it"
        ) from None
    except OSError as exc:
        raise ReferenceFileError(f"{out}: cannot write it ({exc.strerror or exc})") from None
    return out


def import_reference(
    path: str | os.PathLike, refs_dir: str | os.PathLike, overwrite: bool = False
) -> Reference:
    """Validate the reference file ``path`` completely, then save it in ``refs_dir``.

    A bad file raises :class:`ReferenceFileError` and changes nothing; a reference with
    the same id is replaced only with ``overwrite``. Returns the saved reference.
    """
    ref = read_reference_file(path)
    dest = save_reference(ref, refs_dir, overwrite=overwrite)
    return Reference(ref.stroke, ref.based_on, ref.created_at, ref.demonstration, dest)


def resolve_stroke(
    name_or_path: str | os.PathLike, refs_dir: str | os.PathLike | None
) -> StrokeDefinition:
    """The stroke to score against: a built-in id, else a definition or reference file by
    path, else a reference saved in ``refs_dir``. Raises StrokeError naming what was tried."""
    text = os.fspath(name_or_path)
    known = builtin_ids()
    if text in known:
        return load_stroke(text)
    tried = [f"the built-in strokes ({', '.join(known)})"]
    path = Path(text)
    if path.is_file():
        # every file goes through the one safe reader, whatever its size or depth
        data = read_json_file(
            path, STROKE_MAX_FILE_BYTES, StrokeError, "a stroke or reference file"
        )
        if isinstance(data, dict) and str(data.get("schema", "")).startswith("coach.reference/"):
            if path.stat().st_size > MAX_FILE_BYTES:
                read_reference_json(path)  # refuses it with the reference size limit
            return reference_from_dict(data, str(path)).stroke
        return stroke_from_dict(data, str(path))
    tried.append(f"a file {text!r} (no such file)")
    if refs_dir is not None and not _looks_like_path(text):
        if slugify(text) in saved_ids(refs_dir):
            return load_reference(text, refs_dir).stroke
        saved = ", ".join(saved_ids(refs_dir)) or "none saved"
        tried.append(f"the references saved in {refs_dir} ({saved})")
    raise StrokeError(f"unknown stroke {text!r}: tried " + "; ".join(tried))


# =================================================================================================
# Demonstration: observations -> tracks -> matched segments
# =================================================================================================


@dataclass(frozen=True)
class DemoTrack:
    """The tracked contact points of a demonstration, in the body frame.

    ``timestamps_s`` (n,); ``hands_uv`` (n, 2, 2): per frame the tracker's hand slots
    (slot 0 primary), NaN for an empty slot; ``seen`` (n, 2) bool: the slot's hand was
    observed in that frame (not carried over a gap).
    """

    timestamps_s: np.ndarray
    hands_uv: np.ndarray
    seen: np.ndarray

    @property
    def frames(self) -> int:
        return int(len(self.timestamps_s))


def track_observations(
    observations: Iterable[tuple[float, HandObservation | None]],
    body_frame: BodyFrame,
    contact: ContactKind,
) -> DemoTrack:
    """Run the hand tracker (as the pipeline does) over ``(timestamp_s, observation)``."""
    tracker = HandTracker(body_frame, contact, max_hands=2)
    ts, uv, seen = [], [], []
    for t, obs in observations:
        point = tracker.update(obs, t)
        row = np.full((2, 2), np.nan)
        flags = np.zeros(2, bool)
        if point is not None:
            k = min(2, len(point.hands_uv))
            row[:k] = point.hands_uv[:k]
            flags[: len(tracker.seen[:2])] = tracker.seen[:2]
        ts.append(float(t))
        uv.append(row)
        seen.append(flags)
    n = len(ts)
    return DemoTrack(
        np.array(ts, dtype=np.float64),
        np.array(uv, dtype=np.float64).reshape(n, 2, 2),
        np.array(seen, dtype=bool).reshape(n, 2),
    )


def _lanes(stroke: StrokeDefinition) -> list[tuple[int, tuple[int, ...]]]:
    """(hand slot, segment indices) per matcher, as :class:`coach.pipeline.Coach` sets them."""
    everything = tuple(range(len(stroke.segments)))
    if stroke.hands == 1:
        return [(0, everything)]
    if stroke.per_hand:
        return [(0, everything), (1, everything)]
    lanes = []
    for role in dict.fromkeys(s.role for s in stroke.segments):
        segs = tuple(i for i, s in enumerate(stroke.segments) if s.role == role)
        lanes += [(0, segs), (1, segs)]
    return lanes


@dataclass(frozen=True)
class MatchedSegment:
    """A segment the matcher found in the demonstration, and which hand slot performed it."""

    slot: int
    record: SegmentRecord


def _overlap(a: SegmentRecord, b: SegmentRecord) -> float:
    """Overlap of two records' time spans over the shorter span, 0..1."""
    inter = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
    shorter = min(a.end_s - a.start_s, b.end_s - b.start_s)
    return max(0.0, inter) / shorter if shorter > 0 else 0.0


def match_demonstration(track: DemoTrack, stroke: StrokeDefinition) -> list[MatchedSegment]:
    """Every segment performance the stroke's matchers find, in time order.

    A hand does one thing at a time: of two records overlapping by more than half
    (same segment on two slots, or two segments on one slot) the one closer to the
    reference is kept, the stroke's first role winning over the others on one slot.
    """
    found: list[MatchedSegment] = []
    for slot, segs in _lanes(stroke):
        matcher = OnlineMatcher(stroke, segs)
        for i, t in enumerate(track.timestamps_s):
            uv = track.hands_uv[i, slot]
            progress = matcher.update(uv if np.all(np.isfinite(uv)) else None, float(t))
            if progress is not None:
                found += [MatchedSegment(slot, r) for r in progress.completed]
        if track.frames:
            found += [
                MatchedSegment(slot, r) for r in matcher.finish(float(track.timestamps_s[-1]))
            ]
    main_role = stroke.segments[0].role
    need = stroke.tolerances.incomplete_below

    def rank(m: MatchedSegment) -> tuple:
        role_rank = 0 if stroke.segments[m.record.segment].role == main_role else 1
        return (m.record.coverage < need, role_rank, m.record.mean_distance_box)

    kept: list[MatchedSegment] = []
    for m in sorted(found, key=rank):
        clash = any(
            _overlap(m.record, k.record) > 0.5
            and (k.record.segment == m.record.segment or k.slot == m.slot)
            for k in kept
        )
        if not clash:
            kept.append(m)
    return sorted(kept, key=lambda m: (m.record.start_s, m.slot))


# =================================================================================================
# Demonstration: geometry and pace per segment
# =================================================================================================


def _arc_fractions(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length of a polyline (n, 2) as fractions 0..1."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    return cum / cum[-1] if cum[-1] > 0 else cum


def _resample_fraction(points: np.ndarray, n: int, closed: bool = False) -> np.ndarray:
    """``n`` points at equal arc-length fractions of a polyline (closed: around the loop,
    the first point not repeated)."""
    pts = np.vstack([points, points[:1]]) if closed else points
    frac = _arc_fractions(pts)
    keep = np.concatenate([[True], np.diff(frac) > 0])
    pts, frac = pts[keep], frac[keep]
    targets = np.linspace(0.0, 1.0, n, endpoint=not closed)
    return np.column_stack([np.interp(targets, frac, pts[:, k]) for k in range(2)])


def _project_fraction(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Arc-length fraction of the reference vertex nearest to each point."""
    frac = _arc_fractions(reference)
    d = np.linalg.norm(points[:, None, :] - reference[None, :, :], axis=2)
    return frac[np.argmin(d, axis=1)]


def _trim_open(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The part of a segment's span where the hand runs from start to end along the
    reference: from the last moment it is at its furthest-back point before it reaches
    its furthest-along point (drops the pause and approach at the start, the pause and
    lift at the end)."""
    s = _project_fraction(points, reference)
    end = int(np.flatnonzero(s >= s.max() - 0.01)[0])
    head = s[: end + 1]
    start = int(np.flatnonzero(head <= head.min() + 0.01)[-1])
    return points[start : end + 1]


def _trim_still(points: np.ndarray, eps_box: float = 0.01) -> np.ndarray:
    """Drop the samples at either end that stay within ``eps_box`` of the end point."""
    d0 = np.linalg.norm(points - points[0], axis=1)
    d1 = np.linalg.norm(points - points[-1], axis=1)
    moved0 = np.flatnonzero(d0 > eps_box)
    moved1 = np.flatnonzero(d1 > eps_box)
    if moved0.size == 0 or moved1.size == 0:
        return points[:1]
    return points[max(0, moved0[0] - 1) : moved1[-1] + 2]


def _smooth(points: np.ndarray, half: int, closed: bool) -> np.ndarray:
    """Moving average over ``2 * half + 1`` points; an open path keeps its end points."""
    if half < 1 or len(points) < 3:
        return points.copy()
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    mode = "wrap" if closed else "edge"
    padded = np.pad(points, ((half, half), (0, 0)), mode=mode)
    out = np.column_stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)])
    if not closed:
        out[0], out[-1] = points[0], points[-1]
    return out


def _resample_step(points: np.ndarray, step_box: float, closed: bool) -> np.ndarray:
    """Equal arc-length steps of at most ``step_box`` (closed: the first point not repeated)."""
    length = polyline_length(points, closed)
    n = max(2 if not closed else 3, math.ceil(length / step_box - 1e-9) + (0 if closed else 1))
    return _resample_fraction(points, n, closed)


def _tidy(points: np.ndarray, closed: bool) -> list[list[float]]:
    """Rounded to 4 decimals, without repeated consecutive points (as the file stores them)."""
    out: list[list[float]] = []
    for u, v in np.round(points, 4).tolist():
        if not out or [u, v] != out[-1]:
            out.append([u, v])
    if closed and len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return out


def _segment_path(track: DemoTrack, m: MatchedSegment, reference: np.ndarray, closed: bool):
    """The hand's trimmed path (k, 2) for one matched segment, or None when unusable."""
    r = m.record
    t = track.timestamps_s
    uv = track.hands_uv[:, m.slot]
    inside = (t >= r.start_s) & (t <= r.end_s) & track.seen[:, m.slot] & np.isfinite(uv).all(1)
    pts = uv[inside]
    if len(pts) < 5:
        return None
    pts = _trim_still(pts) if closed else _trim_open(pts, reference)
    if len(pts) < 5:
        return None
    if polyline_length(pts) < _MIN_LENGTH_FRACTION * polyline_length(reference, closed):
        return None
    return pts


def _average_paths(paths: list[np.ndarray], reference: np.ndarray, closed: bool) -> np.ndarray:
    """Mean path over repetitions, aligned by arc-length fraction (closed paths rotated to
    start at the point nearest the reference's start)."""
    aligned = []
    for p in paths:
        q = _resample_fraction(p, _AVERAGE_POINTS, closed)
        if closed:
            q = np.roll(q, -int(np.argmin(np.linalg.norm(q - reference[0], axis=1))), axis=0)
        aligned.append(q)
    mean = np.mean(aligned, axis=0)
    step = polyline_length(mean, closed) / _AVERAGE_POINTS
    half = int(round(_SMOOTH_HALF_BOX / step)) if step > 0 else 0
    return _resample_step(_smooth(mean, half, closed), RESAMPLE_STEP_BOX, closed)


@dataclass(frozen=True)
class SegmentSummary:
    """What the demonstration gave for one segment."""

    id: str
    points: list[list[float]]
    nominal_s: float
    durations_s: tuple[float, ...]  # per usable repetition


def _seg_name(stroke: StrokeDefinition, index: int) -> str:
    seg = stroke.segments[index]
    return f"'{seg.label}'" if seg.label else f"#{index + 1}"


def summarize_segments(
    track: DemoTrack, stroke: StrokeDefinition, matched: Sequence[MatchedSegment] | None = None
) -> list[SegmentSummary]:
    """Per segment of ``stroke``: the instructor's averaged path and median duration.

    Raises :class:`DemonstrationError` when no hand was seen, a two-hand stroke showed one
    hand only, a segment was performed backwards, was not found complete, or took a
    duration far from the built-in nominal.
    """
    if track.frames == 0 or not track.seen.any():
        raise DemonstrationError("no hand was seen in the demonstration video")
    if stroke.hands == 2 and track.seen.all(axis=1).mean() < _TWO_HANDS_MIN_FRACTION:
        raise DemonstrationError(
            f"{stroke.name} is a two-hand stroke, but two hands were seen together in only "
            f"{100 * track.seen.all(axis=1).mean():.0f}% of the frames"
        )
    matched = match_demonstration(track, stroke) if matched is None else matched
    need = stroke.tolerances.incomplete_below
    out = []
    for i, seg in enumerate(stroke.segments):
        mine = [m for m in matched if m.record.segment == i and m.record.coverage >= need]
        backwards = [m.record for m in mine if m.record.reversed]
        if backwards:
            r = backwards[0]
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} of {stroke.name} was performed backwards "
                f"({r.start_s:.1f}-{r.end_s:.1f} s); demonstrate it in the stroke's direction"
            )
        reference = np.asarray(seg.points, dtype=np.float64)
        paths, durations = [], []
        for m in mine:
            path = _segment_path(track, m, reference, seg.closed)
            if path is None:
                continue
            paths.append(path)
            d = m.record.duration_s
            durations.append(float(d) if math.isfinite(d) and d > 0 else math.nan)
        if not paths:
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} of {stroke.name} was not found complete in the "
                "demonstration; check the calibration (--tummy/--head/--mirrored) and that the "
                "whole stroke is in the picture"
            )
        good = [d for d in durations if math.isfinite(d)]
        if not good:
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)}: its pace could not be measured"
            )
        nominal = float(np.median(good))
        ratio = nominal / seg.nominal_s
        lo, hi = NOMINAL_RATIO_RANGE
        if not (lo <= ratio <= hi and NOMINAL_S_RANGE[0] <= nominal <= NOMINAL_S_RANGE[1]):
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} took {nominal:.1f} s in the demonstration, "
                f"expected {lo:g}x to {hi:g}x the built-in {seg.nominal_s:g} s"
            )
        points = _average_paths(paths, reference, seg.closed)
        if points.min() < COORD_MIN or points.max() > COORD_MAX:
            raise DemonstrationError(
                f"segment {_seg_name(stroke, i)} runs outside the tummy area "
                f"(coordinates {points.min():.2f}..{points.max():.2f}); check the calibration"
            )
        out.append(
            SegmentSummary(seg.id, _tidy(points, seg.closed), round(nominal, 3), tuple(good))
        )
    return out


# =================================================================================================
# Demonstration -> Reference
# =================================================================================================


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_reference(
    track: DemoTrack,
    based_on: StrokeDefinition | str,
    name: str,
    *,
    created_at: str | None = None,
    source_video: str | None = None,
    detected: bool = False,
) -> Reference:
    """A reference of type ``based_on`` (a built-in) called ``name`` from a tracked
    demonstration (see :func:`summarize_segments` for what is rejected)."""
    base = load_stroke(based_on) if isinstance(based_on, str) else based_on
    if base.id not in builtin_ids():
        raise DemonstrationError(
            f"stroke type: expected a built-in stroke ({', '.join(builtin_ids())}), "
            f"found {base.id!r}"
        )
    ref_id = reference_id(name)
    summaries = summarize_segments(track, base)
    data = stroke_to_dict(base)
    total_length, total_s = 0.0, 0.0
    for seg_dict, seg, summary in zip(data["segments"], base.segments, summaries, strict=True):
        geometry: dict[str, Any] = {"shape": "polyline", "points": summary.points}
        if seg.closed:
            geometry["closed"] = True
        seg_dict["geometry"] = geometry
        seg_dict["nominal_s"] = summary.nominal_s
        total_length += polyline_length(np.array(summary.points), seg.closed)
        total_s += summary.nominal_s
    data.update(
        id=ref_id,
        name=name.strip(),
        version=1,
        description=(
            f"{name.strip()}: recorded from a demonstration of {base.name}. {base.description}"
        )[:2000],
        nominal_speed_box_per_s=round(total_length / total_s, 4),
    )
    stroke = stroke_from_dict(data, f"reference {ref_id!r}")
    demonstration: dict[str, Any] = {
        "frames": track.frames,
        "repetitions": min(len(s.durations_s) for s in summaries),
        "detected": detected,
        "segments": [
            {
                "id": s.id,
                "repetitions": len(s.durations_s),
                "durations_s": [round(d, 3) for d in s.durations_s],
            }
            for s in summaries
        ],
    }
    if source_video:
        demonstration["video"] = Path(source_video).name[:255]
    ref = Reference(stroke, base.id, created_at or _now_iso(), demonstration)
    reference_from_dict(reference_to_dict(ref), f"reference {ref_id!r}")  # what we save, we read
    return ref


@dataclass(frozen=True)
class Candidate:
    """How well one built-in stroke type explains a demonstration."""

    stroke_id: str
    hands: int  # hands the type needs
    distance_box: float  # mean distance of the hand from the type's paths (nan if not valid)
    problem: str  # "" when every segment was found, else why not


def rank_stroke_types(
    observations: Sequence[tuple[float, HandObservation | None]],
    body_frame: BodyFrame,
    candidates: Sequence[str] | None = None,
) -> list[Candidate]:
    """Try each built-in type on the demonstration. Valid ones first: two-hand types before
    one-hand ones (a valid two-hand type saw both hands do their part, which explains more
    than one hand's part alone), then closest first."""
    tracks: dict[str, DemoTrack] = {}
    out = []
    for stroke_id in candidates or builtin_ids():
        stroke = load_stroke(stroke_id)
        if stroke.contact not in tracks:
            tracks[stroke.contact] = track_observations(observations, body_frame, stroke.contact)
        track = tracks[stroke.contact]
        matched = match_demonstration(track, stroke)
        try:
            summarize_segments(track, stroke, matched)
        except DemonstrationError as exc:
            out.append(Candidate(stroke_id, stroke.hands, math.nan, str(exc)))
            continue
        need = stroke.tolerances.incomplete_below
        used = [m.record for m in matched if m.record.coverage >= need and not m.record.reversed]
        weights = [stroke.segments[r.segment].nominal_s for r in used]
        dist = float(np.average([r.mean_distance_box for r in used], weights=weights))
        out.append(Candidate(stroke_id, stroke.hands, dist, ""))
    return sorted(
        out, key=lambda c: (bool(c.problem), -c.hands, 0.0 if c.problem else c.distance_box)
    )


def detect_stroke_type(
    observations: Sequence[tuple[float, HandObservation | None]], body_frame: BodyFrame
) -> tuple[str, list[Candidate]]:
    """The built-in type a demonstration shows (see :func:`rank_stroke_types`), when it fits
    clearly better than the next type needing as many hands; else DemonstrationError."""
    ranked = rank_stroke_types(observations, body_frame)
    valid = [c for c in ranked if not c.problem]
    if not valid:
        reasons = "; ".join(f"{c.stroke_id}: {c.problem}" for c in ranked)
        raise DemonstrationError(f"the demonstration fits none of the built-in strokes ({reasons})")
    rivals = [c for c in valid[1:] if c.hands == valid[0].hands]
    if rivals and valid[0].distance_box > _DETECT_MARGIN * rivals[0].distance_box:
        both = ", ".join(f"{c.stroke_id} ({c.distance_box:.2f} box)" for c in (valid[0], rivals[0]))
        raise DemonstrationError(
            f"cannot tell which stroke the demonstration shows ({both} fit about as well); "
            "say which with --stroke"
        )
    return valid[0].stroke_id, ranked


def observe_video(
    video_path: str | os.PathLike,
    landmarker=None,
    on_progress: Callable[[float], None] | None = None,
    num_hands: int = 2,
):
    """Run the hand landmarker over a video: ``([(timestamp_s, observation | None)], VideoInfo)``.

    Without ``landmarker`` one is made for ``num_hands`` hands (as scoring does: the
    stroke's number of hands; 2 while the stroke type is still unknown).

    Raises :class:`coach.video.VideoError` (unreadable video) and
    :class:`coach.models.ModelError` (no usable hand model).
    """
    from coach.vision.landmarks import HandLandmarker
    from coach.vision.video import open_video

    observations: list[tuple[float, HandObservation | None]] = []
    with open_video(video_path) as reader:
        info = reader.info
        lm = landmarker or HandLandmarker(num_hands=num_hands)
        try:
            lm.reset()
            total = max(info.frames, 1)
            for frame in reader:
                observations.append((frame.timestamp_s, lm.detect(frame)))
                if on_progress is not None and frame.index % 15 == 0:
                    on_progress(min(1.0, (frame.index + 1) / total))
        finally:
            if landmarker is None:
                lm.close()
    if on_progress is not None:
        on_progress(1.0)
    return observations, info


def reference_from_observations(
    observations: Sequence[tuple[float, HandObservation | None]],
    body_frame: BodyFrame,
    name: str,
    based_on: str | None = None,
    *,
    source_video: str | None = None,
    created_at: str | None = None,
) -> Reference:
    """A reference from hand observations (a video or a live recording). ``based_on``
    None detects the stroke type (:func:`detect_stroke_type`)."""
    reference_id(name)  # a bad name fails before any work
    detected = based_on is None
    if based_on is None:
        based_on, _ = detect_stroke_type(observations, body_frame)
    base = load_stroke(based_on)
    track = track_observations(observations, body_frame, base.contact)
    return build_reference(
        track, base, name, created_at=created_at, source_video=source_video, detected=detected
    )


def record_reference(
    video_path: str | os.PathLike,
    name: str,
    body_frame_for: Callable[[tuple[int, int]], BodyFrame],
    based_on: str | None = None,
    *,
    landmarker=None,
    on_progress: Callable[[float], None] | None = None,
    created_at: str | None = None,
) -> Reference:
    """Record a reference from a demonstration video (not saved: see :func:`save_reference`).

    ``body_frame_for(size)`` builds the body frame from the frame size (width, height).
    """
    reference_id(name)
    if based_on is not None and based_on not in builtin_ids():
        raise DemonstrationError(
            f"stroke type: expected a built-in stroke ({', '.join(builtin_ids())}), "
            f"found {based_on!r}"
        )
    hands = load_stroke(based_on).hands if based_on is not None else 2
    observations, info = observe_video(video_path, landmarker, on_progress, num_hands=hands)
    body_frame = body_frame_for((info.width, info.height))
    return reference_from_observations(
        observations,
        body_frame,
        name,
        based_on,
        source_video=os.fspath(video_path),
        created_at=created_at,
    )


# =================================================================================================
# Command line (wired into coach.cli by the lead)
# =================================================================================================


def default_references_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where saved references live by default (:func:`coach.paths.references_dir`)."""
    return paths.references_dir(environ)


def add_references_dir_option(parser: argparse.ArgumentParser) -> None:
    """``--references-dir DIR`` (for ``score``, ``reference`` and ``references``)."""
    parser.add_argument(
        "--references-dir",
        metavar="DIR",
        default=None,
        help="folder of saved references (default: references/ in the data folder, "
        "COACH_DATA_DIR or the platform's user data folder)",
    )


def references_dir(args: argparse.Namespace) -> Path:
    chosen = getattr(args, "references_dir", None)
    return Path(chosen).expanduser() if chosen else default_references_dir()


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``coach reference VIDEO --name NAME [--stroke TYPE] [calibration]``."""
    from coach.cli import add_calibration_options

    parser.add_argument("video", help="demonstration video (mp4, mov, webm, avi, mkv)")
    parser.add_argument("--name", required=True, help="name of the new reference")
    parser.add_argument(
        "--stroke",
        metavar="TYPE",
        default=None,
        help="built-in stroke type it demonstrates (default: detected from the video)",
    )
    add_calibration_options(parser)
    add_references_dir_option(parser)
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a saved reference of the same name"
    )


def _cli_error(message: str, status: int):
    from coach.cli import CliError

    return CliError(message, status)


def _terminal_progress(label: str) -> Callable[[float], None] | None:
    """A percentage on stderr when it is a terminal (cleared at 100%), else None."""
    if not sys.stderr.isatty():
        return None

    def show(fraction: float) -> None:
        if fraction >= 1.0:
            sys.stderr.write("\r\x1b[2K")
        else:
            sys.stderr.write(f"\r{label}: {100 * fraction:3.0f}%")
        sys.stderr.flush()

    return show


def cmd_reference(args: argparse.Namespace) -> int:
    """``coach reference``: record, save, print a summary. Exit 0 saved, 1 input, 2 usage."""
    from coach.cli import EXIT_INPUT, EXIT_OK, EXIT_USAGE, _body_frame
    from coach.vision.models import ModelError
    from coach.vision.video import VideoError, read_info

    refs_dir = references_dir(args)
    problem = _name_problem(args.name)
    if problem is not None:
        raise _cli_error(f"--name: {problem}", EXIT_USAGE)
    if args.stroke is not None and args.stroke not in builtin_ids():
        raise _cli_error(
            f"--stroke: expected a built-in stroke type ({', '.join(builtin_ids())}), "
            f"found {args.stroke!r}",
            EXIT_USAGE,
        )
    ref_id = slugify(args.name.strip())
    if reference_path(ref_id, refs_dir).exists() and not args.overwrite:
        raise _cli_error(str(_exists(ref_id, reference_path(ref_id, refs_dir))), EXIT_USAGE)
    try:
        read_info(args.video)
        ref = record_reference(
            args.video,
            args.name,
            lambda size: _body_frame(args, size),
            args.stroke,
            on_progress=_terminal_progress("tracking the demonstration"),
        )
        path = save_reference(ref, refs_dir, overwrite=args.overwrite)
    except (VideoError, ModelError, DemonstrationError, StrokeError) as exc:
        raise _cli_error(str(exc), EXIT_INPUT) from None
    base = load_stroke(ref.based_on)
    how = "detected" if ref.demonstration.get("detected") else "given"
    print(f"Reference {ref.id!r} ({ref.name}), based on {base.id} ({how}), saved to {path}")
    print(f"{'segment':<10} {'reps':>4} {'nominal':>8} {'built-in':>8}")
    for seg, bseg, info in zip(
        ref.stroke.segments, base.segments, ref.demonstration["segments"], strict=True
    ):
        print(
            f"{seg.label:<10} {info['repetitions']:>4} {seg.nominal_s:>7.2f}s "
            f"{bseg.nominal_s:>7.2f}s"
        )
    print(f"Practise against it with: coach score VIDEO --stroke {ref.id}")
    return EXIT_OK


def add_references_arguments(parser: argparse.ArgumentParser) -> None:
    """``coach references list | export NAME FILE | import FILE [--overwrite]``."""
    from coach.cli import _Parser

    sub = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    lst = sub.add_parser("list", help="saved references, one a line")
    add_references_dir_option(lst)
    exp = sub.add_parser("export", help="write a saved reference to a file to share")
    exp.add_argument("name", help="reference name or id")
    exp.add_argument("file", help="destination file ('-' = stdout)")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing file")
    add_references_dir_option(exp)
    imp = sub.add_parser("import", help="check a shared reference file and save it")
    imp.add_argument("file", help="a coach.reference/1 JSON file")
    imp.add_argument("--overwrite", action="store_true", help="replace a saved one of that name")
    add_references_dir_option(imp)


def cmd_references(args: argparse.Namespace) -> int:
    from coach.cli import EXIT_INPUT, EXIT_OK

    refs_dir = references_dir(args)
    try:
        if args.action == "list":
            refs, problems = scan_references(refs_dir)
            for ref in refs:
                print(
                    f"{ref.id}\t{ref.name}\t{ref.based_on}\t{ref.stroke.nominal_s:.1f} s\t"
                    f"{ref.created_at}"
                )
            for p in problems:
                print(f"coach: skipped a broken reference file: {one_line(p)}", file=sys.stderr)
            if not refs:
                print(f"coach: no references saved in {refs_dir}", file=sys.stderr)
        elif args.action == "export":
            if args.file == "-":
                sys.stdout.write(reference_json(load_reference(args.name, refs_dir)))
            else:
                out = export_reference(args.name, refs_dir, args.file, overwrite=args.overwrite)
                print(f"Exported to {out}")
        else:
            ref = import_reference(args.file, refs_dir, overwrite=args.overwrite)
            print(f"Imported {ref.id!r} ({ref.name}, based on {ref.based_on}) to {ref.path}")
    except StrokeError as exc:
        raise _cli_error(str(exc), EXIT_INPUT) from None
    return EXIT_OK
