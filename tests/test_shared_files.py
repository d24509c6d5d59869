"""Shared files are data, never code (issue 12, point 2).

Hostile reference and stroke files are refused with one line and change nothing; a bad
file in the references folder is skipped with a warning; text from a shared file is
escaped wherever it is shown (spoken-hint script, Markdown, matplotlib pictures).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach.cli import main
from coach.core import safetext
from coach.core.strokes import StrokeError, load_stroke, stroke_to_dict
from coach.references import format as fmt
from coach.references import library

CREATED = "2025-05-01T10:00:00Z"


def valid_reference_dict(name: str = "Anna's sun", based_on: str = "sun") -> dict:
    base = load_stroke(based_on)
    custom = dataclasses.replace(base, id=fmt.slugify(name), name=name, source="")
    return fmt.reference_to_dict(fmt.Reference(custom, based_on, CREATED))


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))}


# -- the one safe reader ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"a": ' + "9" * 400 + "}", "400 characters"),  # an int Python would overflow later
        ('{"a": -' + "9" * 40 + "}", "41 characters"),  # negative, just over the limit
        ('{"a": 1e999}', "out of range"),  # float overflow
        ("[" * 33 + "]" * 33, "nested too deeply"),  # just over MAX_DEPTH
        ("[" * 1_000_000, "nested too deeply"),  # a million: no RecursionError
        ('{"a": NaN}', "NaN"),  # not JSON
        ('{"a": 1, "a": 2}', "appears twice"),  # duplicate key
        ('["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', None),  # brackets in a string are text
        ("[" * 32 + "]" * 32, None),  # exactly MAX_DEPTH is fine
    ],
)
def test_parse_json_refuses_with_one_line(text, expected):
    if expected is None:
        safetext.parse_json(text, "x", ValueError)
        return
    with pytest.raises(ValueError) as exc:
        safetext.parse_json(text, "x", ValueError)
    assert expected in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "name, lookalike_of",
    [
        ("Sun", "sun"),  # the display name itself
        ("SUN", "sun"),  # case
        ("\u0405un", "sun"),  # Cyrillic DZE for S
        ("S\u0443n", None),  # Cyrillic u-like letter is a 'y': not the same
        ("W\u03b1ter Wheel", "water-wheel"),  # Greek alpha
        ("1 Love You", "i-love-you"),  # digit one for I
        ("I L\u043eve Y\u043eu", "i-love-you"),  # Cyrillic o
        ("\uff33\uff55\uff4e", "sun"),  # full-width letters
        ("Su\u0301n", "sun"),  # combining accent
        ("Sun and Moon", "sun-moon"),  # a display name whose slug is not the id
        ("Anna's sun", None),  # an ordinary name
    ],
)
def test_skeleton_catches_lookalikes(name, lookalike_of):
    builtins = {s: (safetext.skeleton(load_stroke(s).name), safetext.skeleton(s)) for s in
                ("sun", "sun-moon", "i-love-you", "water-wheel")}  # fmt: skip
    hits = [s for s, sk in builtins.items() if safetext.skeleton(name) in sk]
    assert hits == ([] if lookalike_of is None else [lookalike_of])


# -- the references folder ----------------------------------------------------------------------


def test_a_bad_file_in_the_folder_never_breaks_references_list(tmp_path, capsys):
    refs = tmp_path / "refs"
    library.save_reference(fmt.reference_from_dict(valid_reference_dict()), refs)
    bad = valid_reference_dict("Big number")
    bad["stroke"]["segments"][0]["nominal_s"] = 10**400
    (refs / "big-number.json").write_text(json.dumps(bad))
    (refs / "deep.json").write_text("[" * 300_000)  # over the size limit and deep
    (refs / "newline.json").write_text(
        json.dumps(valid_reference_dict("Anna's sun")).replace("Anna's sun", "Line\\nbreak")
    )
    status = main(["references", "list", "--references-dir", str(refs)])
    out, err = capsys.readouterr()
    assert status == 0
    assert [line.split("\t")[:3] for line in out.splitlines()] == [
        ["anna-s-sun", "Anna's sun", "sun"]
    ]
    assert "big-number.json" in err and "skipped" in err
    assert "Traceback" not in err


def test_resolve_stroke_reads_any_file_through_the_safe_reader(tmp_path):
    big = tmp_path / "nested.json"
    big.write_text("[" * 300_000 + "]" * 300_000)  # over 256 KiB and deep
    with pytest.raises(StrokeError) as exc:
        library.resolve_stroke(str(big), None)
    assert "\n" not in str(exc.value)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(StrokeError, match="nested too deeply"):
        library.resolve_stroke(str(deep), None)
    stroke_file = tmp_path / "stroke.json"
    data = stroke_to_dict(load_stroke("sun"))
    data["segments"][0]["finish_text"] = "</script><script>alert(1)</script>\u2028"
    stroke_file.write_text(json.dumps(data))
    with pytest.raises(StrokeError, match="printable"):
        library.resolve_stroke(str(stroke_file), None)


# -- hostile reference files: a property test --------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["Sun", "\u0405un", "</script>", "$x^2$", "\u2028", "\u202e", "\x1b[2J",
                     "![x](http://example.invalid/x.png)", "a\nb", "CON", "../x", ""]),
)  # fmt: skip
HOSTILE_VALUE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.recursive(st.integers(0, 3), lambda c: st.lists(c, max_size=3), max_leaves=8),
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, (*prefix, i))


BASE = valid_reference_dict()
PATHS = [p for p in _paths(BASE) if p]


def _hostile_bytes(edits, raw_tail, new_keys=()) -> bytes:
    data = copy.deepcopy(BASE)
    for where, key in new_keys:  # an extra key with a hostile name
        target = data
        for k in where:
            target = target[k]
        target[key] = 1
    for path, value in edits:
        target = data
        try:
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier edit replaced the parent
            continue
    text = json.dumps(data, ensure_ascii=False)
    return (text + raw_tail).encode("utf-8", "surrogatepass")


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE_VALUE), min_size=1, max_size=3),
    raw_tail=st.sampled_from(["", " ", "}", "[" * 40, "\x00"]),
    new_keys=st.lists(
        st.tuples(st.sampled_from([(), ("stroke",), ("stroke", "segments", 0)]), HOSTILE_TEXT),
        max_size=1,
    ),
)
def test_hostile_reference_files_never_give_a_traceback_or_a_write(
    tmp_path_factory, edits, raw_tail, new_keys
):
    work = tmp_path_factory.mktemp("hostile")
    refs = work / "refs"
    refs.mkdir()
    (refs / "victim.json").write_text(json.dumps(valid_reference_dict("Victim")))
    bad = work / "bad.json"
    bad.write_bytes(_hostile_bytes(edits, raw_tail, new_keys))
    before = snapshot(refs)
    try:
        ref = library.import_reference(bad, refs)
    except fmt.ReferenceFileError as exc:
        message = str(exc)
        assert "\n" not in message and "\u2028" not in message and len(message) < 500
        assert snapshot(refs) == before  # never a write
    else:  # an edit that left a valid file: it is saved, and reads back the same
        assert fmt.read_reference_file(refs / f"{ref.id}.json").stroke.name == ref.stroke.name
        for text in [ref.stroke.name, ref.stroke.description]:
            assert text.isprintable()
    # and the folder with the file in it still lists (bad files skipped with a message)
    (refs / "z-dropped.json").write_bytes(bad.read_bytes())
    refs_found, problems = library.scan_references(refs)
    assert "victim" in [r.id for r in refs_found]
    assert all("\n" not in p for p in problems)


# -- text from files shown in the page ----------------------------------------------------------


def test_spoken_hint_script_cannot_be_closed_by_the_text():
    import re

    from coach.ui.live import speech_script

    text = "</script><script>alert(1)</script>\u2028<!-- & Done \u2029"
    script = speech_script(text, 3)
    assert script.startswith("<script>") and script.endswith("</script>")
    inner = script[len("<script>") : -len("</script>")]
    assert "<" not in inner and "\u2028" not in inner and "\u2029" not in inner
    payload = re.search(r"SpeechSynthesisUtterance\((.*?)\);", inner).group(1)
    assert ">" not in payload and "&" not in payload
    assert json.loads(payload) == text  # the browser says exactly the text


@pytest.mark.parametrize(
    "text, shown",
    [
        ("![x](http://e/x.png)", r"\!\[x\]\(http\:\/\/e\/x\.png\)"),  # no image fetched
        ("**bold** _it_", r"\*\*bold\*\* \_it\_"),  # no emphasis
        (":red[x] $x^2$", r"\:red\[x\] \$x^2\$".replace("^", r"\^")),  # no colour, no maths
        ("<b>x</b>", r"\<b\>x\<\/b\>"),  # no HTML
        ("Anna's sun", r"Anna\'s sun"),  # ordinary text stays readable
    ],
)
def test_markdown_text_is_shown_as_text(text, shown):
    from coach.render.text import md_text

    assert md_text(text) == shown
