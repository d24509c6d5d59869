"""The class relay's messages: what a client may send, checked before anything is done.

Every message is one JSON object in one WebSocket text frame, at most
:data:`MAX_MESSAGE_BYTES` bytes, with a ``type``. :func:`parse` turns raw text into a
frozen record or raises :class:`ProtocolError` with one line saying what was expected
and what was found; it never raises anything else, whatever it is given (a property
test throws hostile messages at it).

Client to relay (``→``) and relay to client (``←``):

==========  ====  ==============================================================================
type        dir   fields
==========  ====  ==============================================================================
open        →     ``name``, ``stroke_id``: the instructor opens a class
instructor  →     ``code``, ``key``: the instructor comes back (the key is in the message,
                  never in the address)
join        →     ``code``, ``name``: a parent takes a new seat
seat        →     ``code``, ``token``: a parent comes back to their seat with its token
path        →     instructor: ``points`` [[t_s, u, v] | [t_s, null, null]], ``segment``,
                  ``label``, ``repetition`` (at most :data:`MAX_POINTS_PER_MESSAGE`)
stroke      →     instructor: ``stroke_id``
report      →     parent: ``row`` {status, stroke_id, position, last_score, flags, repetitions}
ping        →     keeps the seat or class alive
leave       →     parent leaves the class; ``close`` →: the instructor ends it
opened      ←     ``code``, ``key``, ``instructor``, ``stroke_id``
welcome     ←     ``role``, ``code``, ``instructor``, ``stroke_id``; a parent also ``token``,
                  ``seat`` (its row), ``rejoined``; the instructor ``board`` (every row)
path        ←     to parents: the instructor's points as sent
stroke      ←     the class's stroke changed
row         ←     one board row (instructor: any seat; parent: only its own)
gone        ←     instructor: seat ``number`` left
ended       ←     ``why``: the class ended
error       ←     ``error`` (a word), ``message`` (one line)
pong        ←
batch       ←     ``messages``: several of the above at once (sent when they queued up)
==========  ====  ==============================================================================
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 8192
MAX_POINTS_PER_MESSAGE = 60
UV_LIMIT = 100.0  # tummy-box units; a point further out is not a hand on the doll
NAME_MAX_CHARS = 32
LABEL_MAX_CHARS = 24
POSITION_MAX_CHARS = 60
MAX_FLAGS = 16
TOKEN_MAX_CHARS = 64
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 5

_STROKE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WORD_RE = re.compile(r"^[a-z][a-z_]{0,31}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class ProtocolError(ValueError):
    """A message that does not fit the protocol; ``str()`` is one line for the sender."""


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    name: str
    stroke_id: str


@dataclass(frozen=True)
class Instructor:
    code: str
    key: str


@dataclass(frozen=True)
class Join:
    code: str
    name: str


@dataclass(frozen=True)
class SeatResume:
    code: str
    token: str


@dataclass(frozen=True)
class Path:
    points: tuple[tuple[float, float | None, float | None], ...]
    segment: int | None
    label: str
    repetition: int


@dataclass(frozen=True)
class Stroke:
    stroke_id: str


@dataclass(frozen=True)
class Report:
    """Fields left out are None (keep their value on the board)."""

    status: str | None
    stroke_id: str | None
    position: str | None
    last_score: int | None
    flags: tuple[str, ...] | None
    repetitions: int | None

    def fields(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Simple:
    """``ping``, ``leave`` and ``close``: a type and nothing else."""

    type: str


Message = Open | Instructor | Join | SeatResume | Path | Stroke | Report | Simple
HELLO_TYPES = ("open", "instructor", "join", "seat")


# -- field checks (each raises ProtocolError with what was expected and found) --------------------


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def normalise_code(value: object) -> str:
    """``" ab-c2d "`` -> ``"ABC2D"``."""
    if not isinstance(value, str) or len(value) > 20:
        raise ProtocolError(f"code: expected {CODE_LENGTH} characters, found {_short(value)}")
    code = re.sub(r"[\s-]+", "", value).upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        raise ProtocolError(
            f"code: expected {CODE_LENGTH} characters from {CODE_ALPHABET} "
            f"(never 0, O, 1, I or L), found {_short(value)}"
        )
    return code


def normalise_name(value: object, what: str = "name") -> str:
    """Trim and collapse spaces; 1..NAME_MAX_CHARS printable characters."""
    if not isinstance(value, str) or len(value) > 4 * NAME_MAX_CHARS:
        raise ProtocolError(
            f"{what}: expected 1..{NAME_MAX_CHARS} characters, found {_short(value)}"
        )
    name = " ".join(value.split())
    if not name or len(name) > NAME_MAX_CHARS:
        raise ProtocolError(f"{what}: expected 1..{NAME_MAX_CHARS} characters, found {len(name)}")
    if not name.isprintable() or any(c in name for c in "\u2028\u2029\u202e\u202d\u2066\u2067"):
        raise ProtocolError(f"{what}: expected printable characters only, found {_short(name)}")
    return name


def stroke_id(value: object) -> str:
    if not isinstance(value, str) or not _STROKE_ID_RE.match(value):
        raise ProtocolError(f"stroke_id: expected an id like 'i-love-you', found {_short(value)}")
    return value


def word(value: object, what: str) -> str:
    if not isinstance(value, str) or not _WORD_RE.match(value):
        raise ProtocolError(
            f"{what}: expected a lower-case word like 'tracking', found {_short(value)}"
        )
    return value


def secret(value: object, what: str) -> str:
    """A key or token as handed out (never echoed back in the error)."""
    if not isinstance(value, str) or not _TOKEN_RE.match(value):
        raise ProtocolError(f"{what}: expected the {what} the relay gave you, found something else")
    return value


def count(value: object, what: str, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ProtocolError(f"{what}: expected a whole number 0..{top}, found {_short(value)}")
    return value


def text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > 4 * limit:
        raise ProtocolError(
            f"{what}: expected text of at most {limit} characters, found {_short(value)}"
        )
    clean = " ".join(value.split())[:limit]
    return "".join(c for c in clean if c.isprintable())


def number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{what}: expected a number, found {_short(value)}")
    x = float(value)
    if not math.isfinite(x) or abs(x) > 1e12:
        raise ProtocolError(f"{what}: expected a finite number, found {_short(value)}")
    return x


def point(value: object) -> tuple[float, float | None, float | None]:
    if not isinstance(value, list) or len(value) != 3:
        raise ProtocolError(f"point: expected [t_s, u, v], found {_short(value)}")
    t = number(value[0], "point time")
    if value[1] is None and value[2] is None:
        return (t, None, None)
    u, v = number(value[1], "point u"), number(value[2], "point v")
    if abs(u) > UV_LIMIT or abs(v) > UV_LIMIT:
        raise ProtocolError(
            f"point: expected u, v within ±{UV_LIMIT:g} tummy boxes, found {u:g}, {v:g}"
        )
    return (t, u, v)


# -- the parser -----------------------------------------------------------------------------------


def _fields(obj: dict, allowed: set[str], required: set[str], kind: str) -> None:
    extra = sorted(set(obj) - allowed - {"type"})
    if extra:
        raise ProtocolError(f"{kind}: unexpected field {_short(extra[0])}")
    missing = sorted(required - set(obj))
    if missing:
        raise ProtocolError(f"{kind}: expected field {missing[0]!r}, found none")


def decode(raw: object) -> dict:
    """Raw frame -> JSON object, within the size limit."""
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ProtocolError(
                f"message: expected at most {MAX_MESSAGE_BYTES} bytes, found {len(raw)}"
            )
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("message: expected UTF-8 JSON text, found other bytes") from None
    if not isinstance(raw, str):
        raise ProtocolError(f"message: expected JSON text, found {type(raw).__name__}")
    if len(raw) > MAX_MESSAGE_BYTES or len(raw.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message: expected at most {MAX_MESSAGE_BYTES} bytes, found more")
    try:
        obj = json.loads(raw, parse_constant=_no_constant, parse_int=_small_int)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):
        raise ProtocolError(
            "message: expected one JSON object, found text that is not JSON"
        ) from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"message: expected a JSON object, found {type(obj).__name__}")
    return obj


def _no_constant(name: str):
    raise ProtocolError(f"message: expected finite numbers, found {name}")


def _small_int(digits: str) -> int:
    if len(digits) > 15:
        raise ProtocolError(f"message: expected numbers of at most 15 digits, found {len(digits)}")
    return int(digits)


def parse(raw: object) -> Message:
    """One client frame -> its record; :class:`ProtocolError` (one line) if it doesn't fit."""
    obj = decode(raw)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(f"message: expected a 'type', found {_short(kind)}")
    if kind == "open":
        _fields(obj, {"name", "stroke_id"}, {"name", "stroke_id"}, kind)
        return Open(normalise_name(obj["name"], "instructor's name"), stroke_id(obj["stroke_id"]))
    if kind == "instructor":
        _fields(obj, {"code", "key"}, {"code", "key"}, kind)
        return Instructor(normalise_code(obj["code"]), secret(obj["key"], "key"))
    if kind == "join":
        _fields(obj, {"code", "name"}, {"code", "name"}, kind)
        return Join(normalise_code(obj["code"]), normalise_name(obj["name"], "your name"))
    if kind == "seat":
        _fields(obj, {"code", "token"}, {"code", "token"}, kind)
        return SeatResume(normalise_code(obj["code"]), secret(obj["token"], "token"))
    if kind == "path":
        _fields(obj, {"points", "segment", "label", "repetition"}, {"points"}, kind)
        pts = obj["points"]
        if not isinstance(pts, list) or len(pts) > MAX_POINTS_PER_MESSAGE:
            raise ProtocolError(
                f"points: expected a list of at most {MAX_POINTS_PER_MESSAGE}, found "
                f"{len(pts) if isinstance(pts, list) else _short(pts)}"
            )
        seg = obj.get("segment")
        return Path(
            tuple(point(p) for p in pts),
            None if seg is None else count(seg, "segment", 999),
            text(obj.get("label", ""), "label", LABEL_MAX_CHARS),
            count(obj.get("repetition", 0), "repetition", 100_000),
        )
    if kind == "stroke":
        _fields(obj, {"stroke_id"}, {"stroke_id"}, kind)
        return Stroke(stroke_id(obj["stroke_id"]))
    if kind == "report":
        _fields(obj, {"row"}, {"row"}, kind)
        return report(obj["row"])
    if kind in ("ping", "leave", "close"):
        _fields(obj, set(), set(), kind)
        return Simple(kind)
    raise ProtocolError(
        f"message: expected a type among {', '.join(CLIENT_TYPES)}, found {_short(kind)}"
    )


CLIENT_TYPES = (
    "open",
    "instructor",
    "join",
    "seat",
    "path",
    "stroke",
    "report",
    "ping",
    "leave",
    "close",
)


def report(row: object) -> Report:
    if not isinstance(row, dict):
        raise ProtocolError(f"row: expected an object, found {_short(row)}")
    allowed = {"status", "stroke_id", "position", "last_score", "flags", "repetitions"}
    _fields(row, allowed, set(), "row")
    flags = row.get("flags")
    if flags is not None:
        if not isinstance(flags, list) or len(flags) > MAX_FLAGS:
            raise ProtocolError(
                f"flags: expected a list of at most {MAX_FLAGS} words, found {_short(flags)}"
            )
        flags = tuple(word(f, "flag") for f in flags)

    def opt(name, check):
        v = row.get(name)
        return None if v is None else check(v)

    return Report(
        status=opt("status", lambda v: word(v, "status")),
        stroke_id=opt("stroke_id", stroke_id),
        position=opt("position", lambda v: text(v, "position", POSITION_MAX_CHARS)),
        last_score=opt("last_score", lambda v: count(v, "last_score", 100)),
        flags=flags,
        repetitions=opt("repetitions", lambda v: count(v, "repetitions", 1_000_000)),
    )


def dumps(message: dict) -> str:
    """A relay message as compact JSON text."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def valid_stroke_id(value: object) -> bool:
    return isinstance(value, str) and bool(_STROKE_ID_RE.match(value))
