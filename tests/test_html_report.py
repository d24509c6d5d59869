"""The self-contained HTML session report (coach/render/html_report.py)."""

from __future__ import annotations

import base64
import dataclasses
import struct
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from coach.core.pipeline import SessionResult
from coach.core.strokes import StrokeError, load_stroke
from coach.core.types import FLAG_CODES, Hint, RepetitionScore, SegmentRecord
from coach.render.html_report import PNG_MAGIC, report_file_name, session_html
from coach.render.report import repetition_dict
from coach.render.text import FLAG_LABEL, FLAG_TEXT
from coach.services.session_report import export_session_html, stroke_for_report
from coach.storage import atomic
from coach.storage.atomic import write_text_atomic
from coach.storage.store import Store, StoreError

ILY = load_stroke("i-love-you")


# -- building reports by hand -------------------------------------------------------------------


def rep(index, start_s, speed_ratio, score, flags=(), direction="ok", pace="ok", coverage=0.95):
    """One I-love-you repetition: its three letters back to back at ``speed_ratio``."""
    segments, t = [], start_s
    for i, seg in enumerate(ILY.segments):
        duration = seg.nominal_s / speed_ratio
        reversed_ = direction == "wrong" and i == 1
        segments.append(SegmentRecord(index, i, reversed_, t, t + duration, duration, coverage,
                                      0.05))  # fmt: skip
        t += duration + 0.5
    end_s = t - 0.5  # each letter ends 0.5 s before the next starts
    return RepetitionScore(index, start_s, end_s, end_s - start_s, ILY.nominal_s, score,
                           direction, pace, speed_ratio, coverage, tuple(flags), -6.0, 0.05,
                           tuple(segments))  # fmt: skip


REPS = (
    rep(0, 1.0, 1.0, 92),  # calm, no flags
    rep(1, 15.0, 1.8, 55, ("wrong_direction", "too_fast"), "wrong", "too_fast"),  # two flags
    rep(2, 24.0, 0.93, 70, ("incomplete",), coverage=0.6),  # one flag
)
HINTS = (Hint(3.0, "too_fast", "Slow down: follow the guide dot."),)


def session_result(reps=REPS, hints=HINTS) -> SessionResult:
    flags = {code: 0 for code in FLAG_CODES}
    for r in reps:
        for f in r.flags:
            flags[f] += 1
    flags["no_hand"] = 1
    return SessionResult("i-love-you", tuple(reps), tuple(hints), ((30.0, 33.0),), 900, 880,
                         72 if reps else 0, flags)  # fmt: skip


def make_report(reps=REPS, hints=HINTS, profile="Anna", reference="i-love-you") -> dict:
    s = session_result(reps, hints)
    return {
        "schema": "coach.report/1",
        "stroke": "i-love-you",
        "session": {
            "id": 1,
            "profile": profile,
            "reference": reference,
            "source": "upload",
            "status": "closed",
            "started_at": "2025-05-01T10:00:00+00:00",
            "ended_at": "2025-05-01T10:01:00+00:00",
        },  # fmt: skip
        "video": {"path": None},
        "tracking": {
            "frames_with_hand": 880,
            "detection_rate": 0.978,
            "no_hand_stretches": [[30.0, 33.0]],
        },  # fmt: skip
        "repetitions": [repetition_dict(r) for r in s.repetitions],
        "summary": {"score": s.score, "repetitions": len(s.repetitions), "flags": s.flags},
        "hints": [{"t_s": h.timestamp_s, "code": h.code, "text": h.text} for h in s.hints],
    }


# -- reading the HTML back ----------------------------------------------------------------------


class Parsed(HTMLParser):
    """Every tag with its attributes, the text of each ``tr[data-rep]`` row's cells."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.rows: dict[int, list[str]] = {}
        self._row: int | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr" and "data-rep" in a:
            self._row = int(a["data-rep"])
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "li" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def png_images(text: str) -> list[bytes]:
    return [
        base64.b64decode(a["src"].split(",", 1)[1], validate=True)
        for tag, a in Parsed(text).tags
        if tag == "img"
    ]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def page() -> str:
    return session_html(make_report(), ILY)


# -- self-contained, valid, pictures ------------------------------------------------------------


def test_the_page_parses_and_has_the_expected_structure(page) -> None:
    parsed = Parsed(page)
    names = [t for t, _ in parsed.tags]
    assert page.startswith("<!DOCTYPE html>")
    for tag in ("html", "head", "title", "style", "body", "table", "img"):
        assert tag in names
    assert "script" not in names and "link" not in names and "iframe" not in names


def test_nothing_is_fetched_from_anywhere(page) -> None:
    assert "http://" not in page and "https://" not in page
    assert 'src="/' not in page and "url(" not in page
    for tag, attrs in Parsed(page).tags:
        for name in ("src", "href"):
            if name in attrs:
                assert attrs[name].startswith("data:image/png;base64,"), (tag, attrs[name][:40])
    assert "default-src 'none'" in page  # the CSP forbids loading anything else too


def test_at_least_three_pictures_are_embedded_pngs(page) -> None:
    assert page.count('<img src="data:image/png;base64,') >= 3
    images = png_images(page)
    assert len(images) == 4  # path, speed, flags, scores
    for png in images:
        assert png.startswith(PNG_MAGIC)
        width, height = png_size(png)
        assert 200 <= width <= 2000 and 100 <= height <= 2000


def test_every_picture_has_alt_text_and_a_caption(page) -> None:
    parsed = Parsed(page)
    assert all(a.get("alt") for t, a in parsed.tags if t == "img")
    assert [t for t, _ in parsed.tags].count("figcaption") == 4


# -- text: escaped, right words -----------------------------------------------------------------

HOSTILE = "<script>alert('x')</script>"


def test_a_hostile_profile_reference_and_hint_are_escaped() -> None:
    hints = (Hint(2.0, "too_fast", '<img src=x onerror="alert(1)">'),)
    report = make_report(hints=hints, profile="Anna", reference='"><b>ref</b>')
    page = session_html(report, ILY, profile=HOSTILE, title="<i>T</i>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "&quot;&gt;&lt;b&gt;ref&lt;/b&gt;" in page and "<b>ref</b>" not in page
    assert "<title>&lt;i&gt;T&lt;/i&gt;</title>" in page
    assert [t for t, _ in Parsed(page).tags].count("img") == 4  # the hint made no image


def test_header_names_trainee_stroke_date_and_score(page) -> None:
    assert "<dt>Trainee</dt><dd>Anna</dd>" in page
    assert "I Love You (i-love-you)" in page
    assert "2025-05-01 10:00 UTC" in page
    assert '<p class="score">72 <small>/ 100</small></p>' in page
    assert "Reference" not in page.split("</header>")[0]  # the built-in one is not repeated


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        # a calm repetition: no flags, the friendly verdict instead
        (1, ["1", "1.0–13.2 s", "92", "right way", "calm", "1.00×", "95%",
             "Lovely: calm and on the path."]),
        # wrong way and too fast: both flags in plain words
        (2, ["2", None, "55", "wrong way", "too fast", "1.80×", "95%",
             f"Wrong direction: this repetition {FLAG_TEXT['wrong_direction']} "
             f"Too fast: this repetition {FLAG_TEXT['too_fast']}"]),
        # incomplete: coverage 60%
        (3, ["3", None, "70", "right way", "calm", "0.93×", "60%",
             f"Incomplete: this repetition {FLAG_TEXT['incomplete']}"]),
    ],
)  # fmt: skip
def test_one_table_row_per_repetition(page, number, expected) -> None:
    rows = Parsed(page).rows
    assert sorted(rows) == [1, 2, 3]
    cells = rows[number]
    assert len(cells) == len(expected)
    for got, want in zip(cells, expected, strict=True):
        if want is not None:
            assert got == " ".join(want.split())


def test_flags_are_explained_in_a_legend(page) -> None:
    legend = page.split("What the flags mean")[1]
    for code in ("wrong_direction", "too_fast", "incomplete", "no_hand"):
        assert FLAG_LABEL[code].capitalize() in legend
    assert FLAG_LABEL["off_path"].capitalize() not in legend  # never came up


def test_a_session_without_repetitions_still_makes_a_complete_page() -> None:
    page = session_html(make_report(reps=(), hints=()), ILY)
    assert "No repetition was recognised in this session." in page
    assert len(png_images(page)) == 4
    assert "no hints were given" in page
    assert Parsed(page).rows == {}


def test_a_stroke_with_one_segment_and_a_report_without_session_info() -> None:
    sun = load_stroke("sun")
    seg = SegmentRecord(0, 0, False, 0.5, 6.5, 6.0, 1.0, 0.04)
    r = RepetitionScore(0, 0.5, 6.5, 6.0, 5.9, 97, "ok", "ok", 0.98, 1.0, segments=(seg,))
    report = make_report(reps=(r,), hints=())
    del report["session"]
    report["stroke"] = "sun"
    page = session_html(report, sun)
    assert "Trainee" not in page and "Date</dt>" not in page
    assert len(png_images(page)) == 4


# -- the optional per-frame path ----------------------------------------------------------------


def test_a_per_frame_path_is_drawn_when_given() -> None:
    t = np.linspace(0.0, 40.0, 400)
    uv = np.column_stack([0.2 + 0.6 * (t % 10) / 10, 0.1 + 0.8 * (t % 10) / 10])
    uv[50:60] = np.nan  # hand lost
    speed = np.full(len(t), 1.1)
    inside = np.arange(len(t)) % 100 < 80
    report = make_report()
    with_path = session_html(report, ILY, path_uv=uv, path_t_s=t, speed_ratio=speed,
                             in_segment=inside)  # fmt: skip
    without = png_images(session_html(report, ILY))
    drawn = png_images(with_path)
    assert len(drawn) == 4
    assert drawn[0] != without[0] and drawn[1] != without[1]  # path and speed pictures
    assert "the trainee&#x27;s hand" in with_path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path_uv": np.zeros((5, 3))}, "path_uv: expected an array of shape (n, 2)"),  # 3 columns
        ({"path_uv": np.zeros((5, 2)), "path_t_s": np.zeros(4)}, "path_t_s: expected 5"),  # short
        ({"speed_ratio": np.zeros(5)}, "speed_ratio: expected path_t_s too"),  # no times
    ],
)
def test_bad_path_arrays_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        session_html(make_report(), ILY, **kwargs)


@pytest.mark.parametrize(
    "report",
    [
        [],  # not a dict
        {"repetitions": [], "stroke": "sun"},  # no summary
        {"repetitions": "x", "summary": {}, "stroke": "sun"},  # repetitions not a list
    ],
)
def test_a_report_that_is_not_a_report_is_refused(report) -> None:
    with pytest.raises(ValueError, match="report: expected"):
        session_html(report, ILY)


# -- file names, stroke lookup, atomic export -----------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("Anna", "stroke-coach-anna-i-love-you-20250501-1000.html"),  # plain
        ("Zoë Ünal", "stroke-coach-zo-nal-i-love-you-20250501-1000.html"),  # accents dropped
        ("../../etc", "stroke-coach-etc-i-love-you-20250501-1000.html"),  # no path tricks
    ],
)
def test_report_file_names_are_safe(profile, expected) -> None:
    assert report_file_name(make_report(profile=profile)) == expected


def test_the_stroke_of_a_stored_session_is_found(tmp_path) -> None:
    assert stroke_for_report(make_report()) is ILY
    report = make_report()
    report["stroke"] = "nonexistent"
    with pytest.raises(StrokeError, match="expected a built-in stroke"):
        stroke_for_report(report, tmp_path)


def test_a_session_against_a_saved_reference_uses_that_reference(tmp_path) -> None:
    from coach.references import format as fmt
    from coach.references import library

    sun = load_stroke("sun")
    ref_id = fmt.reference_id("Anna's sun")
    custom = dataclasses.replace(sun, id=ref_id, name="Anna's sun", source="")
    ref = fmt.Reference(custom, "sun", "2025-05-01T10:00:00Z")
    library.save_reference(ref, tmp_path)
    report = make_report(reference="Anna's sun")
    report["stroke"] = "sun"
    assert stroke_for_report(report, tmp_path).id == ref_id == "anna-s-sun"
    assert stroke_for_report(report).id == "sun"  # without the folder: the built-in one


@pytest.fixture()
def store(tmp_path):
    with Store.open(tmp_path / "db" / "coach.db") as s:
        yield s


def test_export_writes_the_stored_session_atomically(store, tmp_path) -> None:
    sid = store.save_session("Anna", session_result(), "upload", "i-love-you",
                             started_at=datetime(2025, 5, 1, 10, 0, tzinfo=UTC))  # fmt: skip
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    path = export_session_html(store, sid, out_dir)
    assert path == out_dir / "stroke-coach-anna-i-love-you-20250501-1000.html"
    page = path.read_text(encoding="utf-8")
    assert sorted(Parsed(page).rows) == [1, 2, 3]
    assert "<dt>Trainee</dt><dd>Anna</dd>" in page and "from a video" in page
    assert len(png_images(page)) == 4
    assert [p.name for p in out_dir.iterdir()] == [path.name]  # no temporary file left

    with pytest.raises(FileExistsError):  # an existing file is never replaced silently
        export_session_html(store, sid, path)
    assert path.read_text(encoding="utf-8") == page
    assert [p.name for p in out_dir.iterdir()] == [path.name]
    again = export_session_html(store, sid, path, overwrite=True)  # only when asked
    assert again == path and path.read_text(encoding="utf-8") == page


def test_a_failed_export_leaves_the_destination_as_it_was(store, tmp_path) -> None:
    dest = tmp_path / "report.html"
    dest.write_text("old", encoding="utf-8")
    with pytest.raises(StoreError, match="no session with id 999"):
        export_session_html(store, 999, dest)
    assert dest.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_atomic_write_cleans_up_when_writing_fails(tmp_path, monkeypatch) -> None:
    dest = tmp_path / "r.html"
    dest.write_text("old", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic("new", dest)
    assert dest.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_the_session_store_report_of_an_open_session_exports_too(store, tmp_path) -> None:
    sid = store.start_session("Anna", "i-love-you", "i-love-you", "live")
    store.add_repetition(sid, REPS[0])  # then the process died: the session stays open
    page = export_session_html(store, sid, tmp_path / "open.html").read_text(encoding="utf-8")
    assert sorted(Parsed(page).rows) == [1]
    assert "live, with the webcam" in page
    assert Path(tmp_path / "open.html").stat().st_size < 400_000


def test_repetitions_without_segment_details_leave_out_the_parts_table() -> None:
    report = make_report()
    for r in report["repetitions"]:
        r["segments"] = []
    page = session_html(report, ILY)
    assert "Each part of the stroke" not in page
    assert sorted(Parsed(page).rows) == [1, 2, 3]
    assert len(png_images(page)) == 4
    assert "Each part of the stroke" in session_html(make_report(), ILY)


@pytest.mark.parametrize("label", ["$x^$", "$\\frac{1}{0}$", "a $ b $ c", "$$"])
def test_dollar_signs_in_labels_are_text_not_maths(label) -> None:
    # issue 12: a label with $...$ broke the export (matplotlib parsed it as maths text)
    segments = tuple(dataclasses.replace(s, label=label) for s in ILY.segments)
    stroke = dataclasses.replace(ILY, segments=segments)
    page = session_html(make_report(profile="$\\alpha$"), stroke)
    assert len(png_images(page)) == 4
