"""Tests for coach.references: names, the coach.reference/1 format, hostile files, saving,
importing and exporting, resolving --stroke, and recording references from demonstrations.

Most demonstrations are synthetic: coach.synth's hand landmarks turned into observations
directly (no rendering, no model). The tests marked ``model``/``slow`` render clips and
run the real hand landmarker on them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from coach.cli import references as cli_refs
from coach.cli.common import CliError
from coach.core.pipeline import Coach
from coach.core.strokes import (
    StrokeDefinition,
    StrokeError,
    load_stroke,
    stroke_to_dict,
)
from coach.core.types import HandObservation
from coach.references import format as fmt
from coach.references import library as lib
from coach.references import recording as rec
from coach.references.library import save_stroke
from coach.samples.synth import Sample

CREATED = "2025-05-01T10:00:00Z"


# -- helpers ------------------------------------------------------------------------------------


def synth_observations(sample: Sample) -> list[tuple[float, HandObservation | None]]:
    """The hand observations a perfect landmarker would give for a synthetic clip."""
    out: list[tuple[float, HandObservation | None]] = []
    for i in range(sample.n_frames):
        t = sample.timestamp(i)
        hands = [h for h in sample.hand_landmarks(i) if h is not None]
        if not hands:
            out.append((t, None))
            continue
        xy = np.array(hands)
        lm = np.concatenate([xy, np.zeros((len(hands), 21, 1))], axis=2)
        out.append((t, HandObservation(t, lm, np.ones(len(hands)), sample.size)))
    return out


def slowed(stroke: StrokeDefinition, factor: float) -> StrokeDefinition:
    """The same stroke with every nominal duration times ``factor`` (a slower demonstration)."""
    segs = tuple(dataclasses.replace(s, nominal_s=s.nominal_s * factor) for s in stroke.segments)
    return dataclasses.replace(stroke, segments=segs)


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file and folder under ``folder`` with its bytes (None when it does not exist)."""
    if not folder.exists():
        return None
    return {
        str(p.relative_to(folder)) + ("/" if p.is_dir() else ""): b""
        if p.is_dir()
        else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def same(a: StrokeDefinition, b: StrokeDefinition) -> bool:
    """Equal definitions (compared as files: Segment holds numpy arrays)."""
    return stroke_to_dict(a) == stroke_to_dict(b)


def score(stroke: StrokeDefinition, observations, body_frame):
    coach = Coach(stroke, body_frame)
    for t, obs in observations:
        coach.update(obs, t)
    return coach.finish()


def verdicts(session) -> list[tuple]:
    return [(r.direction, r.pace, tuple(sorted(r.flags))) for r in session.repetitions]


@dataclasses.dataclass(frozen=True)
class Demo:
    observations: list
    body_frame: object
    truth: object


def _demo(stroke, **options) -> Demo:
    sample = Sample(stroke, **options)
    return Demo(synth_observations(sample), sample.truth.body_frame(), sample.truth)


@pytest.fixture(scope="session")
def ily_demo() -> Demo:
    return _demo("i-love-you", repetitions=2, seed=11)


@pytest.fixture(scope="session")
def ily_slow_demo() -> Demo:
    return _demo(slowed(load_stroke("i-love-you"), 1.5), repetitions=2, seed=12)


@pytest.fixture(scope="session")
def ily_practice() -> Demo:
    return _demo("i-love-you", repetitions=2, seed=13)


@pytest.fixture(scope="session")
def ily_ref(ily_demo) -> fmt.Reference:
    return rec.reference_from_observations(
        ily_demo.observations,
        ily_demo.body_frame,
        "Anna's I Love You",
        "i-love-you",
        source_video="demo.mp4",
        created_at=CREATED,
    )


@pytest.fixture
def refs_dir(tmp_path, ily_ref) -> Path:
    """A references folder that already holds one saved reference."""
    folder = tmp_path / "refs"
    lib.save_reference(ily_ref, folder)
    return folder


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, slug",
    [
        ("Anna's I Love You", "anna-s-i-love-you"),  # punctuation and spaces become one dash
        ("  Sonne für Anna  ", "sonne-fur-anna"),  # accents folded, outer spaces dropped
        ("ILY -- v2!", "ily-v2"),  # runs of separators collapse, ends trimmed
        ("日本語", ""),  # nothing ASCII left
        ("x" * 100, "x" * 64),  # cut to 64 characters
    ],
)
def test_slugify(name, slug):
    assert fmt.slugify(name) == slug


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../x", "path separators"),  # climbs out of the folder
        ("/etc/passwd", "path separators"),  # absolute path
        ("a/b", "path separators"),  # sub-folder
        ("a\\b", "path separators"),  # Windows separator
        ("..", "'..'"),  # parent folder on its own
        ("x..y", "'..'"),  # '..' anywhere is refused
        ("CON", "reserved file name"),  # Windows device name
        ("lpt1", "reserved file name"),  # another device name
        ("", "non-empty"),  # empty
        ("   ", "non-empty"),  # blank
        ("x" * 300, "at most 80 characters"),  # too long
        ("red\x1b[31m", "control characters"),  # terminal escape
        ("a\u202eb", "control characters"),  # right-to-left override (format character)
        ("nul\x00l", "control characters"),  # NUL byte
        ("日本語", "at least one letter or digit"),  # nothing usable for a file name
        ("Sun", "built-in stroke"),  # would hide the built-in sun
        (42, "text"),  # not a string at all
    ],
)
def test_bad_names_are_refused(name, expected):
    with pytest.raises(fmt.ReferenceFileError, match="reference name") as exc:
        fmt.reference_id(name)
    assert expected in str(exc.value)


def test_good_name_gives_its_slug():
    assert fmt.reference_id("  Anna's I Love You ") == "anna-s-i-love-you"


# -- recording from synthetic demonstrations ----------------------------------------------------


def test_reference_keeps_the_instructors_pace_and_path(ily_ref):
    base = load_stroke("i-love-you")
    stroke = ily_ref.stroke
    assert (ily_ref.id, ily_ref.name, ily_ref.based_on) == (
        "anna-s-i-love-you",
        "Anna's I Love You",
        "i-love-you",
    )
    assert (stroke.contact, stroke.hands, stroke.pace, stroke.tolerances) == (
        base.contact,
        base.hands,
        base.pace,
        base.tolerances,
    )
    assert [s.id for s in stroke.segments] == [s.id for s in base.segments]
    assert ily_ref.demonstration["repetitions"] == 2
    assert ily_ref.demonstration["video"] == "demo.mp4"
    for seg, ref in zip(stroke.segments, base.segments, strict=True):
        # the synthetic instructor strokes at the nominal pace (+-5% jitter)
        assert seg.nominal_s == pytest.approx(ref.nominal_s, rel=0.1)
        # ... along the reference path: every point is close to it, start and end match
        d = np.linalg.norm(seg.points[:, None] - ref.points[None], axis=2).min(axis=1)
        assert d.max() < 0.05
        assert np.linalg.norm(seg.points[0] - ref.points[0]) < 0.05
        assert np.linalg.norm(seg.points[-1] - ref.points[-1]) < 0.05
        steps = np.linalg.norm(np.diff(seg.points, axis=0), axis=1)
        assert steps.max() <= 0.02 + 1e-6


def test_slow_demonstration_gives_slower_nominal_durations(ily_slow_demo, ily_practice):
    ref = rec.reference_from_observations(
        ily_slow_demo.observations, ily_slow_demo.body_frame, "Slow ILY", "i-love-you"
    )
    base = load_stroke("i-love-you")
    for seg, b in zip(ref.stroke.segments, base.segments, strict=True):
        assert seg.nominal_s / b.nominal_s == pytest.approx(1.5, rel=0.1)
    # a practice at the built-in nominal pace is 1.5x as fast as this instructor
    session = score(ref.stroke, ily_practice.observations, ily_practice.body_frame)
    assert len(session.repetitions) == 2
    for rep in session.repetitions:
        assert rep.speed_ratio == pytest.approx(1.5, rel=0.12)
        assert rep.direction == "ok"


@pytest.mark.parametrize(
    "stroke_id",
    [
        "sun",  # one closed segment, circles back to back
        "sun-moon",  # two hands, two roles: the sun circles and the moon arcs
        "water-wheel",  # two hands taking turns, palm contact
    ],
)
def test_other_stroke_types_can_be_recorded_and_detected(stroke_id):
    demo = _demo(stroke_id, repetitions=2, seed=5)
    base = load_stroke(stroke_id)
    ref = rec.reference_from_observations(demo.observations, demo.body_frame, f"My {stroke_id} x")
    assert ref.based_on == stroke_id and ref.demonstration["detected"] is True
    for seg, b in zip(ref.stroke.segments, base.segments, strict=True):
        assert seg.closed == b.closed
        assert seg.nominal_s == pytest.approx(b.nominal_s, rel=0.12)
        assert seg.length_box == pytest.approx(b.length_box, rel=0.1)


def test_detection_picks_i_love_you(ily_demo):
    stroke_id, ranked = rec.detect_stroke_type(ily_demo.observations, ily_demo.body_frame)
    assert stroke_id == "i-love-you"
    assert {c.stroke_id for c in ranked} == {"i-love-you", "sun", "sun-moon", "water-wheel"}


@pytest.mark.parametrize(
    "fault, expected",
    [
        ("reversed", "performed backwards"),  # letters end to start
        ("incomplete", "not found complete"),  # every letter stops half way
    ],
)
def test_faulty_demonstrations_are_rejected(fault, expected):
    demo = _demo("i-love-you", repetitions=1, seed=3, fault=fault)
    with pytest.raises(rec.DemonstrationError, match=expected):
        rec.reference_from_observations(demo.observations, demo.body_frame, "Bad", "i-love-you")


def test_demonstration_without_a_hand_is_rejected(ily_demo):
    nothing = [(t, None) for t, _ in ily_demo.observations[:60]]
    with pytest.raises(rec.DemonstrationError, match="no hand was seen"):
        rec.reference_from_observations(nothing, ily_demo.body_frame, "Empty", "i-love-you")


def test_unknown_stroke_type_is_rejected(ily_demo):
    track = rec.track_observations(ily_demo.observations, ily_demo.body_frame, "fingertips")
    with pytest.raises(rec.DemonstrationError, match="built-in stroke"):
        rec.build_reference(track, dataclasses.replace(load_stroke("sun"), id="moon-walk"), "x")


# -- file format, saving, loading ----------------------------------------------------------------


def test_file_round_trip(ily_ref, tmp_path):
    path = lib.save_reference(ily_ref, tmp_path / "refs")
    assert path == tmp_path / "refs" / "anna-s-i-love-you.json"
    data = json.loads(path.read_text())
    assert data["schema"] == "coach.reference/1" and data["based_on"] == "i-love-you"
    loaded = lib.load_reference("Anna's I Love You", tmp_path / "refs")
    assert same(loaded.stroke, ily_ref.stroke)
    assert loaded.created_at == CREATED and loaded.path == path
    # the inner stroke is a plain coach.stroke/1 definition
    from coach.core.strokes import stroke_from_dict

    assert same(stroke_from_dict(data["stroke"]), ily_ref.stroke)
    assert [r.id for r in lib.list_references(tmp_path / "refs")] == ["anna-s-i-love-you"]
    assert os.path.getsize(path) < 20_000


def test_save_never_overwrites_without_asking(ily_ref, refs_dir):
    before = snapshot(refs_dir)
    other = dataclasses.replace(ily_ref, created_at="2030-01-01T00:00:00Z")
    with pytest.raises(fmt.ReferenceFileError, match="already saved"):
        lib.save_reference(other, refs_dir)
    assert snapshot(refs_dir) == before
    lib.save_reference(other, refs_dir, overwrite=True)
    assert lib.load_reference("anna-s-i-love-you", refs_dir).created_at == "2030-01-01T00:00:00Z"
    assert [p.name for p in refs_dir.iterdir()] == ["anna-s-i-love-you.json"]  # no temp files


def test_export_then_import_elsewhere(ily_ref, refs_dir, tmp_path):
    shared = lib.export_reference("anna-s-i-love-you", refs_dir, tmp_path / "share.json")
    with pytest.raises(fmt.ReferenceFileError, match="already exists"):
        lib.export_reference("anna-s-i-love-you", refs_dir, shared)
    other_dir = tmp_path / "parent-refs"
    imported = lib.import_reference(shared, other_dir)
    assert same(imported.stroke, ily_ref.stroke)
    assert imported.path == other_dir / "anna-s-i-love-you.json"
    with pytest.raises(fmt.ReferenceFileError, match="already saved"):
        lib.import_reference(shared, other_dir)
    assert lib.import_reference(shared, other_dir, overwrite=True).id == "anna-s-i-love-you"


def test_round_trip_scores_like_the_built_in(ily_ref, refs_dir, tmp_path, ily_practice):
    """record -> export -> import -> score: the same verdicts as against the built-in."""
    shared = lib.export_reference("Anna's I Love You", refs_dir, tmp_path / "anna.json")
    imported = lib.import_reference(shared, tmp_path / "parent-refs")
    stroke = lib.resolve_stroke("anna-s-i-love-you", tmp_path / "parent-refs")
    assert same(stroke, imported.stroke)
    ours = score(stroke, ily_practice.observations, ily_practice.body_frame)
    builtin = score(load_stroke("i-love-you"), ily_practice.observations, ily_practice.body_frame)
    assert len(ours.repetitions) == len(builtin.repetitions) == 2
    assert verdicts(ours) == verdicts(builtin)
    for a, b in zip(ours.repetitions, builtin.repetitions, strict=True):
        assert a.speed_ratio == pytest.approx(b.speed_ratio, rel=0.15)
    assert ours.stroke_id == "anna-s-i-love-you"


def test_resolve_stroke_order_and_message(ily_ref, refs_dir, tmp_path):
    assert lib.resolve_stroke("sun", refs_dir).id == "sun"  # built-in first
    definition = tmp_path / "mine.json"
    save_stroke(load_stroke("sun"), definition)
    assert lib.resolve_stroke(str(definition), refs_dir).id == "sun"  # a definition file
    ref_file = refs_dir / "anna-s-i-love-you.json"
    assert same(lib.resolve_stroke(str(ref_file), None), ily_ref.stroke)  # a reference file
    assert same(lib.resolve_stroke("Anna's I Love You", refs_dir), ily_ref.stroke)  # a saved name
    with pytest.raises(StrokeError) as exc:
        lib.resolve_stroke("tummy-tickle", refs_dir)
    message = str(exc.value)
    for part in (
        "unknown stroke 'tummy-tickle'",
        "i-love-you, sun",
        "no such file",
        str(refs_dir),
        "anna-s-i-love-you",
    ):
        assert part in message


def test_list_skips_broken_files(refs_dir):
    (refs_dir / "broken.json").write_text("{")
    refs, problems = lib.scan_references(refs_dir)
    assert [r.id for r in refs] == ["anna-s-i-love-you"]
    assert len(problems) == 1 and "broken.json" in problems[0]


# -- hostile and malformed files -----------------------------------------------------------------


def _mutated(base: dict, change) -> bytes:
    data = json.loads(json.dumps(base))
    change(data)
    return json.dumps(data).encode()


def _set(path: str, value):
    """A change that sets ``data[a][b]...`` given ``a.b.0.c``."""

    def change(data):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = data
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return change


def _drop(key: str):
    return lambda data: data.pop(key)


P0 = "stroke.segments.0"

HOSTILE = [
    # (case id, raw bytes or a change to a valid file, part of the expected message)
    ("not-json", b"{not json", "expected JSON"),
    ("empty-file", b"", "expected JSON"),
    ("binary", b"\xff\xfe\x00\x01garbage", "UTF-8"),
    ("too-large", b" " * (fmt.MAX_FILE_BYTES + 1), "at most 262144 bytes"),
    ("deep-nesting", b"[" * 100_000, "nested too deeply"),
    ("top-level-list", b"[]", "top level: expected an object"),
    ("duplicate-key", b'{"schema": "coach.reference/1", "schema": "x"}', "appears twice"),
    ("nan", lambda d: _set(f"{P0}.nominal_s", math.nan)(d), "NaN"),
    ("infinity", lambda d: _set(f"{P0}.nominal_s", math.inf)(d), "Infinity"),
    ("huge-number", b'{"schema": "coach.reference/1", "x": 1e999}', "out of range"),
    ("missing-schema", _drop("schema"), "schema: expected 'coach.reference/1'"),
    ("stroke-schema", _set("schema", "coach.stroke/1"), "expected 'coach.reference/1'"),
    ("future-version", _set("schema", "coach.reference/2"), "version 1"),
    ("unknown-key", _set("extra", 1), "unknown key(s) extra"),
    ("missing-stroke", _drop("stroke"), "missing required key(s) stroke"),
    ("based-on-unknown", _set("based_on", "tummy-tickle"), "based_on: expected a built-in"),
    ("based-on-wrong-type", _set("based_on", 5), "based_on: expected a built-in"),
    ("based-on-other-type", _set("based_on", "sun"), "as in the built-in 'sun'"),
    ("created-at-garbage", _set("created_at", "yesterday"), "ISO 8601"),
    ("demonstration-negative", _set("demonstration.frames", -1), "demonstration.frames"),
    ("stroke-not-object", _set("stroke", "x"), "stroke: expected an object"),
    ("duration-as-text", _set(f"{P0}.nominal_s", "2.0"), "finite number"),
    ("points-as-text", _set(f"{P0}.geometry.points", "0.8,0.1"), "list of at least 2 points"),
    ("point-with-3-numbers", _set(f"{P0}.geometry.points.0", [0.8, 0.1, 0.0]), "a point [u, v]"),
    ("hands-as-bool", _set("stroke.hands", True), "an integer"),
    (
        "huge-array",
        _set(f"{P0}.geometry.points", [[0.5, 0.1 + i * 1e-4] for i in range(2001)]),
        "at most 2000 points",
    ),
    (
        "too-many-segments",
        lambda d: d["stroke"]["segments"].extend(d["stroke"]["segments"] * 4),
        "1 to 12 segments",
    ),
    ("negative-duration", _set(f"{P0}.nominal_s", -1.0), "nominal_s"),
    ("zero-duration", _set(f"{P0}.nominal_s", 0), "nominal_s"),
    ("absurd-duration", _set(f"{P0}.nominal_s", 500.0), "seconds in [0.3, 120]"),
    ("duration-far-from-built-in", _set(f"{P0}.nominal_s", 20.0), "0.25x to 4x"),
    ("coordinate-out-of-range", _set(f"{P0}.geometry.points.0", [5.0, 0.1]), "[-0.5, 1.5]"),
    (
        "degenerate-path",
        _set(f"{P0}.geometry.points", [[0.5, 0.5], [0.5, 0.51]]),
        "box widths long",
    ),
    ("segment-renamed", _set(f"{P0}.id", "x"), "as in the built-in"),
    ("contact-changed", _set("stroke.contact", "palm"), "as in the built-in"),
    ("name-dotdot-slash", _set("stroke.name", "../x"), "path separators"),
    ("name-absolute", _set("stroke.name", "/etc/passwd"), "path separators"),
    ("name-subfolder", _set("stroke.name", "a/b"), "path separators"),
    ("name-device", _set("stroke.name", "CON"), "reserved file name"),
    ("name-empty", _set("stroke.name", ""), "stroke: name"),
    ("name-300-chars", _set("stroke.name", "x" * 300), "stroke: name"),
    ("name-control-chars", _set("stroke.name", "evil\x1b]0;x\x07"), "control characters"),
    ("name-rtl-override", _set("stroke.name", "abc\u202etxt.exe"), "control characters"),
    ("id-dotdot-slash", _set("stroke.id", "../x"), "stroke: id"),
    ("id-absolute", _set("stroke.id", "/etc/passwd"), "stroke: id"),
    ("id-uppercase-device", _set("stroke.id", "CON"), "stroke: id"),
    ("id-device", _set("stroke.id", "nul"), "reserved file name"),
    ("id-empty", _set("stroke.id", ""), "stroke: id"),
    ("id-300-chars", _set("stroke.id", "x" * 300), "stroke: id"),
    ("id-built-in", _set("stroke.id", "sun"), "built-in stroke 'sun'"),
    # issue 12: shared files are data
    ("int-400-digits", b'{"schema": "coach.reference/1", "x": ' + b"9" * 400 + b"}", "400 char"),
    ("int-400-digits-in-stroke", _set(f"{P0}.nominal_s", 10**400), "401 char"),
    ("float-400-digits", b'{"x": 0.' + b"1" * 400 + b"}", "characters"),
    ("deep-nesting-small", b"[" * 40 + b"]" * 40, "nested too deeply"),
    ("label-escape", _set(f"{P0}.label", "ok\x1b[2J"), "printable"),
    ("finish-text-newline", _set(f"{P0}.finish_text", "Well done\n"), "printable"),
    ("description-line-separator", _set("stroke.description", "a\u2028b"), "printable"),
    ("description-bidi", _set("stroke.description", "a\u202eb"), "printable"),
    ("label-zero-width", _set(f"{P0}.label", "a\u200bb"), "printable"),
    ("description-too-long", _set("stroke.description", "x" * 2001), "description"),
    ("name-copies-built-in", _set("stroke.name", "Sun and Moon"), "built-in"),
    ("name-lookalike-cyrillic", _set("stroke.name", "\u0405un"), "built-in"),
    ("name-lookalike-greek", _set("stroke.name", "W\u03b1ter Wheel"), "built-in"),
    ("name-lookalike-digit", _set("stroke.name", "1 Love You"), "built-in"),
    ("name-fullwidth", _set("stroke.name", "\uff33\uff55\uff4e"), "built-in"),
    ("id-not-matching-name", _set("stroke.id", "someone-else"), "expected 'anna-s-i-love-you'"),
]


@pytest.fixture(scope="session")
def valid_dict(ily_ref) -> dict:
    return fmt.reference_to_dict(ily_ref)


@pytest.mark.parametrize("case, content, expected", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_files_are_refused_and_change_nothing(
    case, content, expected, valid_dict, refs_dir, tmp_path
):
    # a second saved reference with the id the hostile file would take, to prove no overwrite
    victim = dict(valid_dict)
    victim["stroke"] = dict(valid_dict["stroke"], id="victim", name="Victim")
    (refs_dir / "victim.json").write_text(json.dumps(victim))
    raw = content if isinstance(content, bytes) else _mutated(valid_dict, content)
    bad = tmp_path / f"{case}.json"
    bad.write_bytes(raw)
    before = snapshot(refs_dir)
    with pytest.raises(fmt.ReferenceFileError) as exc:
        lib.import_reference(bad, refs_dir, overwrite=True)
    message = str(exc.value)
    assert expected in message, message
    assert "\n" not in message and len(message) < 400
    assert snapshot(refs_dir) == before


def test_nan_in_file_is_refused_as_such(valid_dict, tmp_path):
    text = re.sub(r'"nominal_s": [0-9.]+', '"nominal_s": NaN', json.dumps(valid_dict), count=1)
    assert "NaN" in text
    bad = tmp_path / "nan.json"
    bad.write_text(text)
    with pytest.raises(fmt.ReferenceFileError, match="NaN is not a number JSON allows"):
        lib.import_reference(bad, tmp_path / "refs")
    assert not (tmp_path / "refs").exists()  # not even the folder was created


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p, "no such file"),  # missing
        (lambda p: (p.mkdir(), p)[1], "found a folder"),  # a folder
        (lambda p: (os.mkfifo(p), p)[1], "not a regular file"),  # a FIFO would block a reader
    ],
)
def test_import_refuses_non_files(make, expected, tmp_path):
    target = make(tmp_path / "thing.json")
    with pytest.raises(fmt.ReferenceFileError, match=expected):
        lib.import_reference(target, tmp_path / "refs")
    assert not (tmp_path / "refs").exists()


# -- command line -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_refs.add_reference_arguments(sub.add_parser("reference"))
    cli_refs.add_references_arguments(sub.add_parser("references"))
    return parser


def test_cli_references_list_export_import(refs_dir, tmp_path, capsys):
    p = _parser()
    d = ["--references-dir", str(refs_dir)]
    assert cli_refs.cmd_references(p.parse_args(["references", "list", *d])) == 0
    assert "anna-s-i-love-you\tAnna's I Love You\ti-love-you" in capsys.readouterr().out
    out_file = tmp_path / "x.json"
    assert (
        cli_refs.cmd_references(
            p.parse_args(["references", "export", "anna-s-i-love-you", str(out_file), *d])
        )
        == 0
    )
    other = ["--references-dir", str(tmp_path / "other")]
    imported = p.parse_args(["references", "import", str(out_file), *other])
    assert cli_refs.cmd_references(imported) == 0
    assert "Imported 'anna-s-i-love-you'" in capsys.readouterr().out
    with pytest.raises(CliError) as exc:
        cli_refs.cmd_references(p.parse_args(["references", "import", str(out_file), *other]))
    assert exc.value.status == 1 and "already saved" in str(exc.value)
    assert (
        cli_refs.cmd_references(
            p.parse_args(["references", "import", str(out_file), "--overwrite", *other])
        )
        == 0
    )
    with pytest.raises(CliError) as exc:
        cli_refs.cmd_references(p.parse_args(["references", "export", "nobody", str(out_file), *d]))
    assert exc.value.status == 1 and "no saved reference named 'nobody'" in str(exc.value)


@pytest.mark.parametrize(
    "argv, status, expected",
    [
        (["--name", "../x"], 2, "path separators"),  # hostile name: usage error
        (["--name", "ok", "--stroke", "tummy-tickle"], 2, "built-in stroke type"),  # bad type
        (["--name", "ok"], 1, "file not found"),  # the video is missing: input error
    ],
)
def test_cli_reference_errors(argv, status, expected, tmp_path):
    args = _parser().parse_args(
        ["reference", str(tmp_path / "missing.mp4"), *argv, "--references-dir", str(tmp_path)]
    )
    with pytest.raises(CliError) as exc:
        cli_refs.cmd_reference(args)
    assert exc.value.status == status and expected in str(exc.value)


def test_default_references_dir():
    assert lib.default_references_dir({"COACH_DATA_DIR": "/d"}) == Path("/d/references")
    assert lib.default_references_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/stroke-coach/references")
    assert lib.default_references_dir({}).parts[-4:] == (
        ".local",
        "share",
        "stroke-coach",
        "references",
    )


# -- with the hand model: rendered clips ---------------------------------------------------------


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, model_path) -> dict[str, Path]:
    """Rendered demonstration (nominal pace and 1.5x slower) and practice clips, made once."""
    from coach.samples.synth import render_sample

    folder = tmp_path_factory.mktemp("reference-clips")
    clips = {
        "demo": ("i-love-you", 21),
        "slow_demo": (slowed(load_stroke("i-love-you"), 1.5), 22),
        "practice": ("i-love-you", 23),
    }
    out = {}
    for key, (stroke, seed) in clips.items():
        out[key] = folder / f"{key}.mp4"
        truth = render_sample(stroke, out[key], repetitions=2, seed=seed)
        out[key + "_args"] = truth.cli_args
        out[key + "_bf"] = truth.body_frame()
    return out


@pytest.fixture(scope="session")
def practice_observations(rendered):
    observations, _ = rec.observe_video(rendered["practice"], num_hands=1)
    return observations


@pytest.mark.model
@pytest.mark.slow
def test_model_record_export_import_score(rendered, practice_observations, tmp_path):
    bf = rendered["demo_bf"]
    ref = rec.record_reference(rendered["demo"], "Clip ILY", lambda size: bf)  # type detected
    assert ref.based_on == "i-love-you" and ref.demonstration["detected"] is True
    lib.save_reference(ref, tmp_path / "mine")
    shared = lib.export_reference("Clip ILY", tmp_path / "mine", tmp_path / "clip-ily.json")
    imported = lib.import_reference(shared, tmp_path / "theirs")
    base = load_stroke("i-love-you")
    for seg, b in zip(imported.stroke.segments, base.segments, strict=True):
        assert seg.nominal_s == pytest.approx(b.nominal_s, rel=0.12)
    pbf = rendered["practice_bf"]
    ours = score(imported.stroke, practice_observations, pbf)
    builtin = score(base, practice_observations, pbf)
    assert len(ours.repetitions) == len(builtin.repetitions) == 2
    assert verdicts(ours) == verdicts(builtin)


@pytest.mark.model
@pytest.mark.slow
def test_model_cli_reference_from_slow_demo(rendered, practice_observations, tmp_path, capsys):
    args = _parser().parse_args(
        [
            "reference",
            str(rendered["slow_demo"]),
            "--name",
            "Slow ILY",
            "--stroke",
            "i-love-you",
            *rendered["slow_demo_args"][2:],
            "--references-dir",
            str(tmp_path),
        ]
    )
    assert cli_refs.cmd_reference(args) == 0
    assert "Reference 'slow-ily'" in capsys.readouterr().out
    ref = lib.load_reference("slow-ily", tmp_path)
    base = load_stroke("i-love-you")
    for seg, b in zip(ref.stroke.segments, base.segments, strict=True):
        assert seg.nominal_s / b.nominal_s == pytest.approx(1.5, rel=0.12)
    session = score(ref.stroke, practice_observations, rendered["practice_bf"])
    assert len(session.repetitions) == 2
    for rep in session.repetitions:
        assert rep.speed_ratio == pytest.approx(1.5, rel=0.15)
