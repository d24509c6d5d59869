"""Text and JSON from files other people made: one safe reader, one text check.

Everything a shared file carries (a reference, a stroke definition) is *data*:

- :func:`parse_json` is the one parser for such texts, whatever their size or
  depth: plain JSON (no NaN or Infinity, no duplicate keys), nesting at most
  :data:`MAX_DEPTH` deep and numbers of at most :data:`MAX_NUMBER_CHARS` characters
  (a 400-digit integer is refused with one line instead of overflowing later). Every
  problem raises the caller's error class with one line saying what was expected and
  what was found. The file around it (a regular file, at most ``max_bytes``, UTF-8) is
  read by :func:`coach.storage.shared_files.read_json_file`; the core reads no file.
- :func:`text_problem` says why a text is not plain printable text of a bounded
  length (control characters, bidi overrides, line and paragraph separators).
- :func:`skeleton` folds a name for comparison: compatibility forms, accents, case
  and the usual look-alike letters of other scripts (Cyrillic "Ѕ", Greek "ο", "1"
  for "l") all fold to the Latin letter they imitate, so "Ѕun" and "Sun" compare
  equal.

Standard library only; used by :mod:`coach.core.strokes`, :mod:`coach.references` and
:mod:`coach.storage.shared_files`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

#: Deepest nesting of arrays and objects a shared file may use (references use 5).
MAX_DEPTH = 32
#: Longest number literal accepted (a float64 needs at most 24 characters).
MAX_NUMBER_CHARS = 32

# Look-alikes of Latin letters and digits in other scripts (after NFKD and casefold).
# A small subset of Unicode's confusables (UTS #39) covering Cyrillic, Greek, Armenian
# and the Latin letters and digits that are commonly mistaken for each other.
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "ԁ": "d", "е": "e", "ё": "e", "ғ": "f", "һ": "h", "н": "h",
    "і": "l", "ї": "l", "ӏ": "l", "ј": "j", "к": "k", "қ": "k", "м": "m", "п": "n",
    "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t", "џ": "u", "ц": "u",
    "ѵ": "v", "ԝ": "w", "ш": "w", "х": "x", "у": "y", "ү": "y", "з": "3", "ь": "b",
    "ѡ": "w", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "δ": "d", "ε": "e", "η": "n", "ι": "l", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "σ": "o", "τ": "t", "υ": "u", "χ": "x", "γ": "y",
    "ω": "w", "μ": "u", "ϳ": "j", "ζ": "z",
    # Armenian
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "ք": "p",
    # Latin and digits that pass for each other
    "ı": "l", "i": "l", "|": "l", "1": "l", "0": "o", "5": "s", "ſ": "s", "ß": "ss",
}  # fmt: skip
_FOLD = str.maketrans(_CONFUSABLES)
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def skeleton(text: str) -> str:
    """``text`` folded for look-alike comparison: ``skeleton("Ѕun") == skeleton("SUN")``.

    NFKD (compatibility forms and accents split off), combining marks dropped,
    casefolded, look-alike letters mapped to the Latin one they imitate, everything but
    letters and digits dropped ("Sun-1" and "Sun l" fold alike)."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = unicodedata.normalize("NFKD", folded).translate(_FOLD)
    folded = "".join(c for c in folded if c.isalnum())
    for pair, single in _PAIRS:
        folded = folded.replace(pair, single)
    return folded


def text_problem(value: object, max_len: int, nonempty: bool = False) -> str | None:
    """Why ``value`` is not plain printable text of at most ``max_len`` characters, or None.

    Refused: anything but a string, control characters (ESC, newline, tab...), format
    characters (bidi overrides and isolates, zero-width joiners), line and paragraph
    separators (U+2028, U+2029), other separators than the plain space, surrogates and
    unassigned code points."""
    if not isinstance(value, str):
        return f"expected text, found {type(value).__name__}"
    if len(value) > max_len:
        return f"expected at most {max_len} characters, found {len(value)}"
    if nonempty and not value.strip():
        return "expected a non-empty text"
    for ch in value:
        if not ch.isprintable():
            name = unicodedata.name(ch, "")
            return (
                "expected printable text (no control characters, bidi marks or line "
                f"separators), found U+{ord(ch):04X}{' ' + name if name else ''}"
            )
    return None


def one_line(text: object) -> str:
    """``text`` safe to print on a terminal as one line: every character that is not
    printable (newline, ESC, bidi overrides, U+2028...) shown as its ``\\x``/``\\u``
    escape, so a file name or a value from a file cannot move the cursor, recolour the
    terminal or forge a second line."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text)
    )


# -- JSON ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _depth(text: str) -> int:
    depth = deepest = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif tok in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _number_text(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(
            f"a number of {len(text)} characters ({_number_text(text)}); "
            f"expected at most {MAX_NUMBER_CHARS}"
        )
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(
            f"a number of {len(text)} characters ({_number_text(text)}); "
            f"expected at most {MAX_NUMBER_CHARS}"
        )
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {_number_text(text)} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key[:40]!r} appears twice in one object")
        out[key] = value
    return out


def parse_json(text: str, source: str, error: type[Exception]) -> object:
    """Plain JSON from ``text``; anything else raises ``error`` with one line."""
    if _depth(text) > MAX_DEPTH:
        raise error(
            f"{source}: expected JSON nested at most {MAX_DEPTH} deep, found data nested too deeply"
        )
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise error(
            f"{source}: expected JSON, found a syntax error at line {exc.lineno} "
            f"column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise error(f"{source}: expected JSON, found data nested too deeply") from None
    except ValueError as exc:
        raise error(f"{source}: expected plain JSON, found {exc}") from None
