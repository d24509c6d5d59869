"""The ``coach.report/1`` JSON report (contract.md) and its readable summary table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coach.core.numbers import finite_or_none
from coach.core.types import RepetitionScore, VideoInfo

if TYPE_CHECKING:  # the record only; importing the pipeline would load numba
    from coach.core.pipeline import SessionResult

SCHEMA = "coach.report/1"


def _num(x: float, digits: int = 3) -> float | None:
    """JSON has no NaN: unknown numbers are null."""
    f = None if x is None else finite_or_none(float(x))
    return None if f is None else round(f, digits)


def repetition_dict(rep: RepetitionScore) -> dict[str, Any]:
    return {
        "index": rep.index,
        "start_s": _num(rep.start_s, 2),
        "end_s": _num(rep.end_s, 2),
        "duration_s": _num(rep.duration_s, 2),
        "nominal_s": _num(rep.nominal_s, 2),
        "score": int(rep.score),
        "direction": rep.direction,
        "pace": rep.pace,
        "speed_ratio": _num(rep.speed_ratio, 2),
        "coverage": _num(rep.coverage, 2),
        "flags": list(rep.flags),
        "smoothness_ldlj": _num(rep.smoothness, 2),
        "mean_distance_box": _num(rep.mean_distance_box, 3),
        "segments": [
            {
                "segment": s.segment,
                "reversed": s.reversed,
                "start_s": _num(s.start_s, 2),
                "end_s": _num(s.end_s, 2),
                "duration_s": _num(s.duration_s, 2),
                "coverage": _num(s.coverage, 2),
            }
            for s in rep.segments
        ],
    }


def build_report(session: SessionResult, video: VideoInfo, video_path: str) -> dict[str, Any]:
    """The report for one scored video, exactly as contract.md describes (plus extra fields)."""
    return {
        "schema": SCHEMA,
        "stroke": session.stroke_id,
        "video": {
            "path": video_path,
            "fps": _num(video.fps, 3),
            "frames": int(session.frames),
            "duration_s": _num(video.duration_s, 2),
            "width": video.width,
            "height": video.height,
        },
        "tracking": {
            "frames_with_hand": int(session.frames_with_hand),
            "detection_rate": _num(session.detection_rate, 3) or 0.0,
            "no_hand_stretches": [[_num(a, 2), _num(b, 2)] for a, b in session.no_hand_stretches],
        },
        "repetitions": [repetition_dict(r) for r in session.repetitions],
        "summary": session_summary(session),
        "hints": [
            {"t_s": _num(h.timestamp_s, 2), "code": h.code, "text": h.text} for h in session.hints
        ],
    }


def session_summary(session: SessionResult) -> dict[str, Any]:
    """A session's score, repetition count and flag counts: the ``summary`` of a report
    and of a stored session, written once."""
    return {
        "score": int(session.score),
        "repetitions": len(session.repetitions),
        "flags": {str(k): int(v) for k, v in session.flags.items()},
    }


def summary_table(report: dict[str, Any]) -> str:
    """A readable table of a report, for the terminal."""
    v = report["video"]
    lines = [
        f"Stroke: {report['stroke']}   video: {v['path']} ({v['frames']} frames, "
        f"{v['duration_s']} s at {v['fps']} fps)",
        f"Hand seen in {report['tracking']['frames_with_hand']} frames "
        f"({100 * report['tracking']['detection_rate']:.0f}%)",
        "",
    ]
    header = f"{'rep':>3}  {'start':>6}  {'time':>6}  {'nominal':>7}  {'speed':>5}  {'cover':>5}  "
    header += f"{'dir':<5}  {'pace':<8}  {'score':>5}  flags"
    lines.append(header)
    lines.append("-" * len(header))
    for r in report["repetitions"]:

        def fmt(x, spec):
            return format(x, spec) if x is not None else "-"

        lines.append(
            f"{r['index'] + 1:>3}  {fmt(r['start_s'], '6.1f')}  {fmt(r['duration_s'], '6.1f')}  "
            f"{fmt(r['nominal_s'], '7.1f')}  {fmt(r['speed_ratio'], '5.2f')}  "
            f"{fmt(r['coverage'], '5.2f')}  {r['direction']:<5}  {r['pace']:<8}  {r['score']:>5}  "
            f"{', '.join(r['flags']) or 'none'}"
        )
    if not report["repetitions"]:
        lines.append("  (no repetition recognised)")
    s = report["summary"]
    counted = ", ".join(f"{k} {n}" for k, n in s["flags"].items() if n) or "none"
    lines += [
        "",
        f"Session score {s['score']} over {s['repetitions']} repetitions; flags: {counted}",
    ]
    if report["hints"]:
        lines.append("Hints the live coach would have given:")
        lines += [f"  {h['t_s']:>6.1f} s  {h['text']}" for h in report["hints"]]
    return "\n".join(lines)
