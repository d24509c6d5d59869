"""Tests for coach.services.batch: several videos scored in parallel, one report each, a summary
table, and bad files reported and skipped.

Most clips are tiny grey videos without a hand, scored with a stand-in landmarker that
never sees one (no model needed); the tests marked ``model`` use the real one.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import pytest

from coach.cli import score as S
from coach.cli.common import CliError, add_calibration_options
from coach.core.strokes import load_stroke
from coach.services import batch as B
from coach.vision.video import VideoWriter

CAL = B.Calibration((0.3, 0.3, 0.7, 0.7))


class NoHandLandmarker:
    """Stands in for the hand landmarker: never sees a hand (module level: picklable)."""

    def detect(self, frame):
        return None

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def grey_clip(path: Path, frames: int = 12, size=(96, 64), fps: float = 10.0) -> Path:
    with VideoWriter(path, fps, size) as writer:
        for i in range(frames):
            writer.write(np.full((size[1], size[0], 3), 100 + i, np.uint8))
    return path


@pytest.fixture
def clips(tmp_path) -> dict[str, Path]:
    """Two good grey clips and bad inputs of every kind, in one folder."""
    folder = tmp_path / "clips"
    folder.mkdir()
    good_a = grey_clip(folder / "a.mp4")
    good_b = grey_clip(folder / "b.webm")
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # header, no video
    empty = folder / "empty.mov"
    empty.write_bytes(b"")
    text = folder / "notes.mp4"
    text.write_text("this is not a video\n")
    return {
        "a": good_a,
        "b": good_b,
        "corrupt": corrupt,
        "empty": empty,
        "text": text,
        "missing": folder / "missing.mp4",
        "folder": folder,
    }


def _check_batch(result: B.BatchResult, clips, out_dir: Path) -> None:
    by_name = {Path(i.video).name: i for i in result.items}
    assert [Path(i.video).name for i in result.items] == [
        "a.mp4",
        "corrupt.mp4",
        "b.webm",
        "empty.mov",
        "missing.mp4",
        "notes.mp4",
    ]
    for good in ("a.mp4", "b.webm"):
        item = by_name[good]
        assert item.ok and item.repetitions == 0 and item.score == 0
        assert item.flags == {"no_hand": 1}
        report = json.loads(Path(item.report_path).read_text())
        assert report["schema"] == "coach.report/1"
        assert report["video"]["frames"] == 12
        assert report["summary"]["flags"]["no_hand"] == 1
    expected_errors = {
        "corrupt.mp4": "corrupt.mp4",
        "empty.mov": "file is empty",
        "missing.mp4": "file not found",
        "notes.mp4": "notes.mp4",
    }
    for name, part in expected_errors.items():
        item = by_name[name]
        assert not item.ok and part in item.error and "\n" not in item.error
        assert not Path(item.report_path).exists()
    assert (result.scored, result.failed, result.exit_status) == (2, 4, 1)
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.report.json", "b.report.json"]


@pytest.mark.parametrize(
    "jobs",
    [
        1,  # in this process
        2,  # two worker processes, each with its own landmarker
    ],
)
def test_one_bad_file_among_good_ones(jobs, clips, tmp_path):
    videos = [clips[k] for k in ("a", "corrupt", "b", "empty", "missing", "text")]
    stderr = io.StringIO()
    out_dir = tmp_path / "reports"
    result = B.run_batch(
        videos,
        load_stroke("i-love-you"),
        CAL,
        out_dir,
        jobs,
        progress=stderr,
        landmarker_factory=NoHandLandmarker,
    )
    _check_batch(result, clips, out_dir)
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 6  # not a terminal: one line per finished video
    assert any("FAILED" in line and "empty.mov" in line for line in lines)
    assert any(line.endswith("a.mp4: 0 repetitions, score 0") for line in lines)


def test_all_good_is_exit_status_0(clips, tmp_path):
    result = B.run_batch(
        [clips["a"], clips["b"]],
        load_stroke("sun"),
        CAL,
        tmp_path / "r",
        2,
        progress=None,
        landmarker_factory=NoHandLandmarker,
    )
    assert (result.scored, result.failed, result.exit_status) == (2, 0, 0)


def test_collect_videos_expands_folders(clips, tmp_path):
    (clips["folder"] / ".hidden.mp4").write_bytes(b"x")
    (clips["folder"] / "readme.txt").write_text("x")
    (clips["folder"] / "sub").mkdir()
    found = B.collect_videos([clips["folder"], clips["missing"]])
    assert [p.name for p in found] == [
        "a.mp4",
        "b.webm",
        "corrupt.mp4",
        "empty.mov",
        "notes.mp4",
        "missing.mp4",
    ]
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(ValueError, match="no video files"):
        B.collect_videos([empty])


def test_report_paths_are_unique(tmp_path):
    videos = [Path("x/clip.mp4"), Path("y/clip.mp4"), Path("z/CLIP.webm"), Path("noext")]
    names = [p.name for p in B.report_paths(videos, tmp_path)]
    assert names == [
        "clip.report.json",
        "clip-2.report.json",
        "CLIP-3.report.json",
        "noext.report.json",
    ]


def test_summary_table_and_json():
    result = B.BatchResult(
        (
            B.BatchItem("a.mp4", "r/a.report.json", repetitions=3, score=85, flags={"too_fast": 2}),
            B.BatchItem("bad.mp4", "r/bad.report.json", error="cannot read video 'bad.mp4'"),
        ),
        "r",
    )
    table = B.summary_table(result)
    assert "a.mp4" in table and "too_fast 2" in table and "85" in table
    assert "FAILED: cannot read video 'bad.mp4'" in table
    assert table.splitlines()[-1] == "1 scored, 1 failed; reports in r"
    data = B.batch_summary(result, load_stroke("sun"))
    assert data["schema"] == "coach.batch/1" and data["failed"] == 1
    assert data["videos"][1] == {
        "video": "bad.mp4",
        "ok": False,
        "report": None,
        "repetitions": None,
        "score": None,
        "flags": {},
        "error": "cannot read video 'bad.mp4'",
    }


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal():
    stream = _Tty()
    bar = B.ProgressBar(2, stream, width=10)  # a tqdm bar on a terminal
    bar.progress(0, 0.5)
    assert bar.bar() == "[##........]  25%  0/2 videos"
    bar.finished(0, B.BatchItem("v/a.mp4", "a.json", repetitions=1, score=90))
    bar.close()
    out = stream.getvalue()
    assert "0.5/2 videos" in out  # the tqdm bar, half of the first video done
    assert "[1/2] a.mp4: 1 repetitions, score 90\n" in out
    assert "1.0/2 videos" in out


def test_bad_jobs_is_refused(clips, tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        B.run_batch([clips["a"]], load_stroke("sun"), CAL, tmp_path, 0)


# -- command line -------------------------------------------------------------------------------


def _score_parser() -> argparse.ArgumentParser:
    """``coach score`` as the lead wires it: several videos plus the batch options."""
    p = argparse.ArgumentParser(prog="coach score")
    p.add_argument("video", nargs="+")
    p.add_argument("--stroke", required=True)
    add_calibration_options(p)
    p.add_argument("--json")
    S.add_batch_arguments(p)
    return p


@pytest.mark.parametrize(
    "argv, batch",
    [
        (["a.mp4"], False),  # one video: the single-video path
        (["a.mp4", "b.mp4"], True),  # several videos
        (["a.mp4", "--out-dir", "r"], True),  # asking for an output folder
        (["a.mp4", "--jobs", "2"], True),  # asking for workers
    ],
)
def test_is_batch(argv, batch):
    assert S.is_batch(_score_parser().parse_args([*argv, "--stroke", "sun"])) is batch


def test_is_batch_for_a_folder(tmp_path):
    args = _score_parser().parse_args([str(tmp_path), "--stroke", "sun"])
    assert S.is_batch(args)


def test_cli_bad_usage(tmp_path):
    args = _score_parser().parse_args(
        [str(tmp_path / "a.mp4"), "--stroke", "sun", "--tummy", "1,2", "--out-dir", str(tmp_path)]
    )
    with pytest.raises(CliError) as exc:
        S.run_batch(args, load_stroke("sun"))
    assert exc.value.status == 2 and "--tummy" in str(exc.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = _score_parser().parse_args([str(empty), "--stroke", "sun"])
    with pytest.raises(CliError) as exc:
        S.run_batch(args, load_stroke("sun"))
    assert exc.value.status == 1 and "no video files" in str(exc.value)


@pytest.mark.model
def test_cli_batch_with_the_model(clips, tmp_path, capsys, model_path):
    out_dir = tmp_path / "out"
    summary = tmp_path / "summary.json"
    args = _score_parser().parse_args(
        [
            str(clips["a"]),
            str(clips["corrupt"]),
            str(clips["b"]),
            "--stroke",
            "sun",
            "--out-dir",
            str(out_dir),
            "--jobs",
            "2",
            "--json",
            str(summary),
        ]
    )
    assert S.run_batch(args, load_stroke("sun")) == 1
    captured = capsys.readouterr()
    assert "2 scored, 1 failed" in captured.out
    assert "no --tummy given" in captured.err
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.report.json", "b.report.json"]
    data = json.loads(summary.read_text())
    assert [v["ok"] for v in data["videos"]] == [True, False, True]


@pytest.mark.model
@pytest.mark.slow
def test_batch_scores_a_real_clip_like_score_video(tmp_path, model_path, clips):
    """A generated practice clip among bad files: its report is what `coach score` gives."""
    from coach.samples.synth import render_sample
    from coach.services.offline import score_video

    clip = tmp_path / "practice.mp4"
    truth = render_sample("i-love-you", clip, repetitions=2, seed=31, fault="fast")
    cal = B.Calibration(truth.tummy_box, truth.head, truth.mirrored)
    stroke = load_stroke("i-love-you")
    result = B.run_batch(
        [clip, clips["corrupt"]], stroke, cal, tmp_path / "reports", 2, progress=None
    )
    assert [i.ok for i in result.items] == [True, False]
    report = json.loads(Path(result.items[0].report_path).read_text())
    direct, _ = score_video(str(clip), stroke, cal.body_frame)
    assert report["repetitions"] == direct["repetitions"]
    assert report["summary"] == direct["summary"]
    assert result.items[0].repetitions == 2
    assert result.items[0].flags.get("too_fast") == 2
