"""Judging one clip's session against its truth, and aggregating the verdicts.

A verdict is right when
* every expected fault flag is raised on a majority of the truth's repetitions
  (scored repetitions carrying it > half the number of truth repetitions),
* a good session (fault ``none``) has no direction or pace flag on any repetition,
* the number of scored repetitions is the truth's (no split repetition, no spurious
  repetition at the end).

Per flag, a clip counts as *expected* when its truth carries the flag, *detected* when the
flag is on a majority of the truth's repetitions, *raised* when it is on any scored
repetition: true positive = expected and detected, false negative = expected and not
detected, false positive = not expected and raised. Hints: every hint with code and time;
a pace or direction hint in a good session is a false alarm.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from coach.core.types import FLAG_CODES

#: Flags judged per repetition (no_hand is a session finding).
JUDGED_FLAGS = tuple(code for code in FLAG_CODES if code != "no_hand")
PACE_DIRECTION = ("wrong_direction", "too_fast", "too_slow")


@dataclass(frozen=True)
class ClipVerdict:
    name: str
    stroke: str
    fault: str
    conditions: tuple[str, ...]
    expected_flags: tuple[str, ...]
    expected_reps: int
    got_reps: int
    flag_counts: dict[str, int]  # scored repetitions carrying each flag
    rep_flags: tuple[tuple[str, ...], ...]  # flags of each scored repetition
    hints: tuple[tuple[float, str], ...]  # (timestamp_s, code)
    duration_s: float
    detection_rate: float
    score: int
    ok: bool
    problems: tuple[str, ...] = field(default=())
    tracking: dict = field(default_factory=dict)  # see :func:`tracking_stats`
    diagnosis: tuple[str, ...] = field(default=())  # likely causes, see :func:`diagnose`

    @property
    def good(self) -> bool:
        return self.fault == "none"

    @property
    def false_alarm_hints(self) -> int:
        return sum(1 for _, c in self.hints if c in PACE_DIRECTION) if self.good else 0

    def detected(self, flag: str) -> bool:
        return self.flag_counts.get(flag, 0) * 2 > self.expected_reps

    def raised(self, flag: str) -> bool:
        return self.flag_counts.get(flag, 0) > 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conditions"] = list(self.conditions)
        d["false_alarm_hints"] = self.false_alarm_hints
        return d


def judge(
    *,
    name: str,
    stroke: str,
    fault: str,
    conditions: Sequence[str],
    expected_flags: Sequence[str],
    expected_reps: int,
    rep_flags: Sequence[Sequence[str]],
    hints: Iterable[tuple[float, str]] = (),
    duration_s: float = 0.0,
    detection_rate: float = 1.0,
    score: int = 0,
    tracking: dict | None = None,
) -> ClipVerdict:
    """The verdict on one clip from its truth and the coach's repetitions' flags."""
    counts: dict[str, int] = defaultdict(int)
    for flags in rep_flags:
        for f in set(flags):
            counts[f] += 1
    problems = []
    got = len(rep_flags)
    if got != expected_reps:
        word = "split or spurious" if got > expected_reps else "missed"
        problems.append(f"{got} repetitions, expected {expected_reps} ({word})")
    for f in expected_flags:
        if counts.get(f, 0) * 2 <= expected_reps:
            problems.append(f"{f} on {counts.get(f, 0)}/{expected_reps} repetitions")
    if fault == "none":
        for f in PACE_DIRECTION:
            if counts.get(f, 0):
                problems.append(f"{f} raised on a good session ({counts[f]}x)")
    hint_list = tuple((round(float(t), 2), str(c)) for t, c in hints)
    return ClipVerdict(
        name=name,
        stroke=stroke,
        fault=fault,
        conditions=tuple(conditions),
        expected_flags=tuple(expected_flags),
        expected_reps=int(expected_reps),
        got_reps=got,
        flag_counts=dict(counts),
        rep_flags=tuple(tuple(f) for f in rep_flags),
        hints=hint_list,
        duration_s=float(duration_s),
        detection_rate=float(detection_rate),
        score=int(score),
        ok=not problems,
        problems=tuple(problems),
        tracking=dict(tracking or {}),
        diagnosis=tuple(diagnose(fault, int(expected_reps), got, counts, tracking or {})),
    )


def tracking_stats(
    track_uv: np.ndarray, truth_uv: np.ndarray, stroker: np.ndarray, near_box: float = 0.35
) -> dict:
    """Which hand the coach followed while a hand was stroking, and how far off it was.

    ``track_uv`` (n, 2): the coach's contact point per frame (NaN when none);
    ``truth_uv`` (n, hands, 2): every rendered hand's true contact point; ``stroker`` (n,):
    the index of the stroking hand, -1 when no hand strokes. Over stroking frames: the
    fraction following the stroking hand (nearest, within ``near_box``), another hand, or
    nothing (lost); while following the stroking hand, the median offset (bias, box
    widths) and the spread of the offset (jitter and smoothing lag: root of the summed
    variances of u and v)."""
    moving = stroker >= 0
    n = int(moving.sum())
    if n == 0:
        return {}
    t = track_uv[moving]
    truth = truth_uv[moving]
    k = stroker[moving]
    seen = np.all(np.isfinite(t), axis=1)
    dist = np.linalg.norm(t[:, None, :] - truth, axis=2)  # (m, hands)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    nearest = np.argmin(dist, axis=1)
    close = dist[np.arange(len(t)), nearest] < near_box
    on_stroker = seen & close & (nearest == k)
    on_other = seen & close & (nearest != k)
    out = {
        "stroking_frames": n,
        "followed_stroker": round(float(on_stroker.mean()), 3),
        "followed_other_hand": round(float(on_other.mean()), 3),
        "lost": round(float((~seen).mean()), 3),
    }
    if on_stroker.sum() >= 5:
        res = t[on_stroker] - truth[on_stroker, k[on_stroker]]
        out["bias_box"] = round(float(np.linalg.norm(np.median(res, axis=0))), 3)
        out["jitter_box"] = round(float(np.sqrt(np.sum(np.var(res, axis=0)))), 3)
    return out


def diagnose(fault: str, expected_reps: int, got: int, counts: dict, tracking: dict) -> list[str]:
    """Plain-words likely causes of a wrong verdict (empty when nothing stands out)."""
    out = []
    other = tracking.get("followed_other_hand", 0.0)
    if other > 0.25:
        out.append(f"followed the other hand {100 * other:.0f}% of the stroking time")
    if tracking.get("lost", 0.0) > 0.25:
        out.append(f"no hand tracked {100 * tracking['lost']:.0f}% of the stroking time")
    if got > expected_reps:
        out.append("split or spurious repetition")
    elif got < expected_reps:
        out.append("repetition(s) missed")
    if fault == "none" and any(counts.get(f, 0) for f in PACE_DIRECTION):
        out.append("pace or direction flag on a good stroke")
    if tracking.get("bias_box", 0.0) > 0.15:
        out.append(f"contact point off by {tracking['bias_box']:.2f} box")
    if tracking.get("jitter_box", 0.0) > 0.08:
        out.append(f"contact point offset spread (jitter, lag) {tracking['jitter_box']:.2f} box")
    return out


def extra_flags(v: ClipVerdict) -> list[str]:
    """Flags raised that the truth does not carry (not all make the verdict wrong)."""
    return [f for f in JUDGED_FLAGS if v.raised(f) and f not in v.expected_flags]


# =================================================================================================
# Aggregation
# =================================================================================================


def precision_recall(verdicts: Sequence[ClipVerdict], flag: str) -> dict:
    """TP, FP, FN and precision/recall (None when undefined) of ``flag`` over clips."""
    tp = sum(1 for v in verdicts if flag in v.expected_flags and v.detected(flag))
    fn = sum(1 for v in verdicts if flag in v.expected_flags and not v.detected(flag))
    fp = sum(1 for v in verdicts if flag not in v.expected_flags and v.raised(flag))
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
    }


def _accuracy(vs: Sequence[ClipVerdict]) -> dict:
    right = sum(1 for v in vs if v.ok)
    return {"clips": len(vs), "right": right, "accuracy": right / len(vs) if vs else None}


def aggregate(verdicts: Sequence[ClipVerdict], worst: int = 25) -> dict:
    """The report's numbers (JSON-ready)."""
    flags = [f for f in JUDGED_FLAGS if any(f in v.expected_flags or v.raised(f) for v in verdicts)]
    by_cond: dict[str, list[ClipVerdict]] = defaultdict(list)
    for v in verdicts:
        for c in v.conditions:
            by_cond[c].append(v)
    by_stroke: dict[str, list[ClipVerdict]] = defaultdict(list)
    for v in verdicts:
        by_stroke[v.stroke].append(v)
    good = [v for v in verdicts if v.good]
    good_min = sum(v.duration_s for v in good) / 60.0
    alarms = sum(v.false_alarm_hints for v in good)

    def badness(v: ClipVerdict) -> tuple:
        return (v.ok, -len(v.problems), -abs(v.got_reps - v.expected_reps), v.name)

    return {
        "schema": "coach.eval/1",
        "clips": len(verdicts),
        "overall": _accuracy(verdicts),
        "flags": list(flags),
        "per_flag": {f: precision_recall(verdicts, f) for f in flags},
        "per_stroke": {s: _accuracy(vs) for s, vs in sorted(by_stroke.items())},
        "per_fault": {
            f: _accuracy([v for v in verdicts if v.fault == f])
            for f in sorted({v.fault for v in verdicts})
        },
        "per_condition": {
            c: {**_accuracy(vs), "per_flag": {f: precision_recall(vs, f) for f in flags}}
            for c, vs in sorted(by_cond.items())
        },
        "false_alarm_hints": {
            "count": alarms,
            "good_practice_min": round(good_min, 2),
            "per_min": alarms / good_min if good_min else None,
        },
        "repetition_count_right": sum(1 for v in verdicts if v.got_reps == v.expected_reps),
        "worst": [
            {
                "name": v.name,
                "problems": list(v.problems),
                "diagnosis": list(v.diagnosis),
                "expected": f"{v.expected_reps} reps, flags {list(v.expected_flags) or 'none'}",
                "got": f"{v.got_reps} reps, flags per rep {[list(f) for f in v.rep_flags]}",
                "hints": [f"{t:.1f}s {c}" for t, c in v.hints],
                "detection_rate": round(v.detection_rate, 3),
            }
            for v in sorted(verdicts, key=badness)[:worst]
            if not v.ok
        ],
        "verdicts": [v.to_dict() for v in verdicts],
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _pr(d: dict) -> str:
    if d["tp"] + d["fp"] + d["fn"] == 0:
        return "-"
    return f"{_pct(d['precision'])} / {_pct(d['recall'])}"


def to_markdown(rep: dict, title: str = "Evaluation") -> str:
    """The report as markdown tables a maintainer can read."""
    o = rep["overall"]
    fa = rep["false_alarm_hints"]
    lines = [
        f"# {title}",
        "",
        f"**{o['right']}/{o['clips']} verdicts right ({_pct(o['accuracy'])})**; repetition "
        f"count right on {rep['repetition_count_right']}/{rep['clips']} clips; false-alarm "
        f"hints (pace or direction in good sessions): {fa['count']} in "
        f"{fa['good_practice_min']:.1f} min = "
        + ("-" if fa["per_min"] is None else f"{fa['per_min']:.2f} per minute")
        + ".",
        "",
        "## Verdict accuracy per stroke",
        "",
        "| stroke | clips | right | accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    for s, d in rep["per_stroke"].items():
        lines.append(f"| {s} | {d['clips']} | {d['right']} | {_pct(d['accuracy'])} |")
    lines += [
        "",
        "## Verdict accuracy per fault",
        "",
        "| fault | clips | right | accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    for s, d in rep["per_fault"].items():
        lines.append(f"| {s} | {d['clips']} | {d['right']} | {_pct(d['accuracy'])} |")
    flags = rep["flags"]
    lines += [
        "",
        "## Per flag (all clips): precision / recall",
        "",
        "| flag | TP | FP | FN | precision | recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in flags:
        d = rep["per_flag"][f]
        lines.append(
            f"| {f} | {d['tp']} | {d['fp']} | {d['fn']} | {_pct(d['precision'])} | "
            f"{_pct(d['recall'])} |"
        )
    lines += [
        "",
        "## Per condition: verdicts, and precision / recall per flag",
        "",
        "| condition | clips | right | " + " | ".join(flags) + " |",
        "| --- | ---: | ---: | " + " | ".join("---" for _ in flags) + " |",
    ]
    for c, d in rep["per_condition"].items():
        cells = " | ".join(_pr(d["per_flag"][f]) for f in flags)
        lines.append(f"| {c} | {d['clips']} | {d['right']} ({_pct(d['accuracy'])}) | {cells} |")
    lines += ["", "## Worst clips", ""]
    if not rep["worst"]:
        lines.append("Every verdict right.")
    else:
        lines += [
            "| clip | what went wrong | likely cause | expected | got | hints |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for w in rep["worst"]:
            hints = ", ".join(w["hints"][:8]) + (" ..." if len(w["hints"]) > 8 else "")
            lines.append(
                f"| {w['name']} | {'; '.join(w['problems'])} | {'; '.join(w['diagnosis'])} "
                f"| {w['expected']} | {w['got']} "
                f"| {hints} |"
            )
    lines += [
        "",
        "Definitions: a verdict is right when every expected fault is flagged on a majority of "
        "the truth's repetitions, a good session has no pace or direction flag, and the "
        "repetition count is the truth's. Precision/recall per flag over clips: TP = expected "
        "and flagged on a majority, FN = expected and not, FP = not expected and flagged on any "
        "repetition.",
        "",
    ]
    return "\n".join(lines)


def compare_markdown(before: dict, after: dict, title: str = "Before and after") -> str:
    """Two ``coach.eval/1`` reports side by side: overall, per stroke, per condition, false
    alarms, and every clip whose verdict changed (by name)."""

    def acc(d: dict | None) -> str:
        if not d or not d.get("clips"):
            return "-"
        return f"{d['right']}/{d['clips']} ({_pct(d['accuracy'])})"

    def fa(rep: dict) -> str:
        f = rep["false_alarm_hints"]
        return "-" if f["per_min"] is None else f"{f['count']} ({f['per_min']:.2f}/min)"

    lines = [f"# {title}", "", "| | before | after |", "| --- | --- | --- |"]
    lines.append(f"| all clips | {acc(before['overall'])} | {acc(after['overall'])} |")
    lines.append(f"| false-alarm hints | {fa(before)} | {fa(after)} |")
    for key, label in (
        ("per_stroke", "stroke"),
        ("per_fault", "fault"),
        ("per_condition", "condition"),
    ):
        names = sorted(set(before.get(key, {})) | set(after.get(key, {})))
        lines += ["", f"| {label} | before | after |", "| --- | --- | --- |"]
        for n in names:
            lines.append(f"| {n} | {acc(before[key].get(n))} | {acc(after[key].get(n))} |")
    old = {v["name"]: v for v in before.get("verdicts", [])}
    new = {v["name"]: v for v in after.get("verdicts", [])}
    changed = [n for n in sorted(set(old) & set(new)) if old[n]["ok"] != new[n]["ok"]]
    lines += ["", "## Verdicts that changed", ""]
    if not changed:
        lines.append("None.")
    else:
        lines += ["| clip | before | after |", "| --- | --- | --- |"]
        for n in changed:
            a, b = old[n], new[n]
            lines.append(
                f"| {n} | {'right' if a['ok'] else '; '.join(a['problems'])} | "
                f"{'right' if b['ok'] else '; '.join(b['problems'])} |"
            )
    return "\n".join(lines) + "\n"
