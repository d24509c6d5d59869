"""The landmark-level grid: every stroke under every field condition, with several draws.

`make eval` renders clips and runs the real hand model (189 of them); this grid runs the
coaching pipeline on the landmark streams of tests/landmark_sim.py instead, so it can
afford many more cases: 4 strokes x 4 faults x 12 conditions x planned timing, plus
good sessions with human timing, each with ``--seeds`` draws of the performance and of
the noise. It is a maintainer's tool (the verdicts it measures are tested case by case
in tests/test_field_conditions.py):

    python -m tests.landmark_grid --seeds 2 --out docs/landmark-grid.md
    python -m tests.landmark_grid --seeds 2 --json now.json --compare before.json
    python -m tests.landmark_grid --seeds 2 --first-seed 2   # draws never tuned on

A case is right when the repetition count is the truth's, every repetition carries the
fault's flag and no other judged flag, and a good session hears no pace or direction
hint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import defaultdict
from pathlib import Path

from coach.samples.synth import Sample
from tests.landmark_sim import Field, human_sample, resting, run

CONDITIONS = {
    "clean": Field(),
    "jitter 0.10": Field(jitter_box=0.10),
    "jitter 0.15": Field(jitter_box=0.15),
    "jitter 0.15 at 15 Hz": Field(jitter_box=0.15, jitter_hz=15),
    "bias 0.20 down": Field(bias_box=(0, 0.2), jitter_box=0.1),
    "bias 0.25 up": Field(bias_box=(0, -0.25), jitter_box=0.15),
    "bias 0.25 right": Field(bias_box=(0.25, 0), jitter_box=0.15),
    "bias 0.25 left": Field(bias_box=(-0.25, 0), jitter_box=0.15),
    "camera tilted 35 deg": Field(tilt_deg=35, jitter_box=0.05),
    "box 20% big, 0.15 off": Field(box_scale=1.2, box_shift_box=(0.15, -0.15), jitter_box=0.05),
    "hand turning 30 deg": Field(hand_turn_deg=30, jitter_box=0.05),
    "other hand resting": Field(rest_uv=(0.1, 0.75), jitter_box=0.1),
}
STROKES = ("i-love-you", "sun", "sun-moon", "water-wheel")
WANT = {"none": set(), "reversed": {"wrong_direction"}, "fast": {"too_fast"}, "slow": {"too_slow"}}
JUDGED = {"wrong_direction", "too_fast", "too_slow", "incomplete", "off_path"}
PACE_OR_DIRECTION = {"wrong_direction", "too_fast", "too_slow"}


def cases(seeds: int, first_seed: int = 0):
    """(stroke, fault, seed, human timing, condition) of every case, with ``seeds`` draws
    from ``first_seed`` on."""
    for stroke in STROKES:
        for fault in WANT:
            for seed in range(first_seed, first_seed + seeds):
                for human in (False, True):
                    if human and fault != "none":
                        continue  # human timing: good sessions (its faults are in make eval)
                    for cond in CONDITIONS:
                        if stroke == "sun-moon" and cond == "other hand resting":
                            continue  # both hands stroke
                        yield stroke, fault, seed, human, cond


def run_case(stroke: str, fault: str, seed: int, human: bool, cond: str) -> dict:
    options, field = resting(stroke, dataclasses.replace(CONDITIONS[cond], seed=seed + 11))
    if human:
        sample = human_sample(stroke, fault=fault, repetitions=3, seed=5 + seed, **options)
    else:
        sample = Sample(stroke, fault=fault, repetitions=2, seed=seed, **options)
    session = run(sample, field)
    want = len(sample.truth.repetitions)
    flags = [sorted(set(rep.flags) & JUDGED) for rep in session.repetitions]
    hints = (
        [h.code for h in session.hints if h.code in PACE_OR_DIRECTION] if fault == "none" else []
    )
    right = len(flags) == want and all(set(f) == WANT[fault] for f in flags) and not hints
    return {
        "stroke": stroke, "fault": fault, "seed": seed, "human": human, "condition": cond,
        "right": right, "repetitions": len(flags), "expected": want, "flags": flags,
        "pace_direction_hints": len(hints),
    }  # fmt: skip


def _key(r: dict) -> tuple:
    return (r["stroke"], r["fault"], r["seed"], r["human"], r["condition"])


def table(results: list[dict], before: list[dict] | None = None) -> str:
    """Markdown: right per stroke, fault and condition (before and now when given)."""
    prior = {_key(r): r for r in before or []}
    lines = []

    def count(rs: list[dict], src: dict | None = None) -> str:
        if src is None:
            return f"{sum(r['right'] for r in rs)}/{len(rs)}"
        got = [src[_key(r)] for r in rs if _key(r) in src]
        return f"{sum(r['right'] for r in got)}/{len(got)}"

    head = "| | before | now |" if before else "| | right |"
    rule = "| --- | ---: | ---: |" if before else "| --- | ---: |"
    groups = (
        ("stroke", lambda r: r["stroke"]),
        ("fault", lambda r: r["fault"] + (" (human timing)" if r["human"] else "")),
        ("condition", lambda r: r["condition"]),
    )
    lines += [head, rule]
    row = [f"**all {len(results)} cases**"]
    lines.append(
        "| "
        + " | ".join(row + ([count(results, prior)] if before else []) + [count(results)])
        + " |"
    )
    for name, fn in groups:
        by: dict[str, list[dict]] = defaultdict(list)
        for r in results:
            by[fn(r)].append(r)
        for label, rs in sorted(by.items()):
            cells = [f"{name}: {label}"] + ([count(rs, prior)] if before else []) + [count(rs)]
            lines.append("| " + " | ".join(cells) + " |")
    good = [r for r in results if r["fault"] == "none"]
    lines += [
        "",
        f"Good sessions: {sum(r['repetitions'] != r['expected'] for r in good)} of {len(good)} "
        f"with a wrong repetition count, {sum(r['pace_direction_hints'] for r in good)} pace or "
        "direction hints in all.",
    ]
    if before:
        worse = [r for r in results if prior.get(_key(r), {}).get("right") and not r["right"]]
        better = [
            r for r in results if _key(r) in prior and not prior[_key(r)]["right"] and r["right"]
        ]
        lines.append(
            f"Right before and wrong now: {len(worse)}; wrong before and right now: {len(better)}."
        )
    wrong = [r for r in results if not r["right"]]
    if wrong:
        lines += [
            "",
            "| still wrong | repetitions | flags | pace or direction hints |",
            "| --- | ---: | --- | ---: |",
        ]
        for r in wrong:
            timing = "human" if r["human"] else "planned"
            name = f"{r['stroke']} {r['fault']} seed {r['seed']} {timing}, {r['condition']}"
            flags = "; ".join(",".join(f) or "-" for f in r["flags"]) or "none"
            counts = f"{r['repetitions']}/{r['expected']}"
            lines.append(f"| {name} | {counts} | {flags} | {r['pace_direction_hints']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=2, help="draws per case (default 2)")
    p.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the first draw (default 0; the coach was tuned on draws 0 and 1)",
    )
    p.add_argument("--json", help="write the results here")
    p.add_argument("--compare", help="results of an earlier run (--json) to set beside")
    p.add_argument("--out", help="write the markdown table here (default: print it)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.first_seed < 0:
        p.error(
            f"expected --seeds >= 1 and --first-seed >= 0, found {args.seeds}, {args.first_seed}"
        )
    results = [run_case(*c) for c in cases(args.seeds, args.first_seed)]
    if args.json:
        Path(args.json).write_text(json.dumps(results) + "\n")
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    md = table(results, before)
    if args.out:
        Path(args.out).write_text(md)
    else:
        print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
