"""``coach eval``: render the evaluation clips, landmark them once, coach and judge them.

Clips and their cached landmarks live in ``--cache`` (default ``samples/eval``, git-ignored);
the report goes to ``--out`` as ``eval.json`` and ``eval.md``. Rendering and landmarking
run in ``--jobs`` worker processes with a progress bar; coaching and judging replay the
cached landmarks (seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coach.core.strokes import load_stroke
from coach.evaluation import clips as clipmod
from coach.evaluation.judge import (
    ClipVerdict,
    aggregate,
    compare_markdown,
    judge,
    to_markdown,
    tracking_stats,
)
from coach.evaluation.runner import (
    body_frame_for,
    landmark_clip,
    landmark_clip_live,
    load_observations,
    run_coach_tracked,
)
from coach.samples.truth import SampleTruth, truth_path

DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "samples" / "eval"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "samples" / "eval-report"


def prepare(
    spec: clipmod.ClipSpec, cache_dir: str, num_hands: int | None, live: bool = False
) -> tuple[str, str, str | None]:
    """Render (if needed) and landmark (if needed) one clip: (video, landmarks, live
    landmarks or None)."""
    video = clipmod.render_clip(spec, Path(cache_dir))
    obs = landmark_clip(video, num_hands)
    live_obs = str(landmark_clip_live(video)) if live else None
    return str(video), str(obs), live_obs


def _bar(total: int, desc: str, enabled: bool):
    return tqdm(total=total, desc=desc, unit="clip", disable=not enabled, file=sys.stderr)


def prepare_all(
    specs, cache_dir: Path, jobs: int, num_hands: int | None, progress: bool, live: bool = False
):
    """Every clip rendered and landmarked; returns [(spec, video, obs, live obs)] in order."""
    out: dict[int, tuple[str, str, str | None]] = {}
    with _bar(len(specs), "clips", progress) as bar:
        if jobs <= 1:
            for i, s in enumerate(specs):
                out[i] = prepare(s, str(cache_dir), num_hands, live)
                bar.update()
        else:
            with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
                futs = {
                    pool.submit(prepare, s, str(cache_dir), num_hands, live): i
                    for i, s in enumerate(specs)
                }
                for fut in as_completed(futs):
                    out[futs[fut]] = fut.result()
                    bar.set_postfix_str(specs[futs[fut]].name[:40])
                    bar.update()
    return [
        (s, Path(out[i][0]), Path(out[i][1]), None if out[i][2] is None else Path(out[i][2]))
        for i, s in enumerate(specs)
    ]


def _unique_clips(specs):
    """Specs whose rendered clips differ (perturbed variants share their base clip)."""
    seen, out = set(), []
    for s in specs:
        b = s.base()
        if b.name not in seen:
            seen.add(b.name)
            out.append(b)
    return out


def evaluate_clip(video: Path, obs: Path, spec: clipmod.ClipSpec | None = None) -> ClipVerdict:
    """Coach one prepared clip from its cached landmarks (perturbed when ``spec`` says so)
    and judge the session."""

    info = json.loads(video.with_suffix(".eval.json").read_text())
    records = load_observations(obs)
    with np.load(obs) as z:
        size = (int(z["size"][0]), int(z["size"][1]))
    name, conditions = info["name"], info["conditions"]
    if spec is not None and spec.perturb is not None:
        name, conditions = spec.name, list(spec.conditions)
        frame = body_frame_for(info)(size)
        records = clipmod.perturb_observations(
            records, spec.perturb, frame, zlib.crc32(name.encode())
        )
    session, track_uv = run_coach_tracked(info, records, size)
    return judge(
        name=name,
        stroke=info["stroke"],
        fault=info["fault"],
        conditions=conditions,
        expected_flags=info["expected_flags"],
        expected_reps=len(info["repetitions"]),
        rep_flags=[r.flags for r in session.repetitions],
        hints=[(h.timestamp_s, h.code) for h in session.hints],
        duration_s=info["duration_s"],
        detection_rate=session.detection_rate,
        score=session.score,
        tracking=_tracking(video, track_uv),
    )


def _tracking(video: Path, track_uv) -> dict:
    """:func:`coach.evaluation.judge.tracking_stats` against the clip's synth truth."""

    truth = SampleTruth.load(truth_path(video))

    if load_stroke(truth.stroke).hands > 1:  # both hands stroke: "the other hand" means nothing
        return {}
    n = min(len(track_uv), truth.frames)
    stroker = np.full(n, -1)
    t = truth.timestamps_s[:n]
    for rep in truth.repetitions:
        for seg in rep.segments:
            stroker[(t >= seg.start_s) & (t <= seg.end_s)] = seg.hand
    return tracking_stats(track_uv[:n], truth.contact_uv[:n], stroker)


def evaluate_all(items, jobs: int) -> list[ClipVerdict]:
    """:func:`evaluate_clip` over ``[(video, obs, spec)]``, in order. In this process: about
    20 s of CPU for the full set; worker processes (spawned, each loading numba's compiled
    matcher) were measured slower on this 2-core machine."""
    del jobs
    return [evaluate_clip(*it) for it in items]


def run_eval(
    subset: str = "full",
    out_dir: Path = DEFAULT_OUT,
    cache_dir: Path = DEFAULT_CACHE,
    jobs: int = 1,
    num_hands: int | None = None,
    progress: bool = True,
    title: str | None = None,
    live: bool = False,
    only: str | None = None,
    variant: int = 0,
) -> dict:
    """The whole evaluation; writes ``eval.json`` and ``eval.md`` into ``out_dir`` (and
    ``eval-live.json``, ``eval-live.md`` for the live-style run when ``live``)."""
    specs = clipmod.fast_subset() if subset == "fast" else clipmod.clip_set()
    specs = clipmod.variant(specs, variant)
    if only:  # e.g. "rest_doll" or "i-love-you-none": clips whose name holds it
        specs = [s for s in specs if only in s.name]
        if not specs:
            raise ValueError(f"--only: expected part of a clip name, found {only!r}")
    t0 = time.perf_counter()
    rendered = prepare_all(_unique_clips(specs), Path(cache_dir), jobs, num_hands, progress, live)
    paths = {s.name: (v, o, lo) for s, v, o, lo in rendered}
    prepared = [(s, *paths[s.base().name]) for s in specs]
    t1 = time.perf_counter()
    verdicts = evaluate_all([(v, o, s) for s, v, o, _lo in prepared], jobs)
    t2 = time.perf_counter()
    rep = aggregate(verdicts)
    rep["subset"] = subset
    rep["variant"] = variant
    rep["num_hands"] = num_hands or "as coach score"
    rep["timing_s"] = {"prepare": round(t1 - t0, 1), "coach_and_judge": round(t2 - t1, 1)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(rep, indent=1) + "\n")
    drawn = f", variant {variant}" if variant else ""
    md = to_markdown(rep, title or f"Evaluation ({subset} set{drawn}, {len(specs)} clips)")
    (out / "eval.md").write_text(md)
    if live:
        live_rep = aggregate(evaluate_all([(v, lo, s) for s, v, _o, lo in prepared], jobs))
        live_rep["subset"] = subset
        live_rep["variant"] = variant
        (out / "eval-live.json").write_text(json.dumps(live_rep, indent=1) + "\n")
        live_title = (
            f"Evaluation, live-style ({subset} set{drawn}: LiveCoach's landmarker, lite model)"
        )
        (out / "eval-live.md").write_text(to_markdown(live_rep, live_title))
        rep["live_overall"] = live_rep["overall"]
    return rep


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--subset",
        choices=("fast", "full"),
        default="full",
        help="fast: ~20 clips (make test); full: the whole set (make eval)",
    )
    p.add_argument("--out", default=str(DEFAULT_OUT), help="report folder (eval.json, eval.md)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="clips and landmarks cache folder")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for render+landmarks")
    p.add_argument(
        "--num-hands",
        type=int,
        choices=(1, 2),
        default=None,
        help="hands MediaPipe looks for (default: as `coach score` does)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--only", metavar="TEXT", help="only the clips whose name contains TEXT")
    p.add_argument(
        "--variant",
        type=int,
        default=0,
        metavar="K",
        help="draw every clip again with other seeds (K >= 1): clips the coach was never "
        "tuned on, same conditions; 0 (default) is the set itself",
    )
    p.add_argument(
        "--compare",
        metavar="JSON",
        help="an earlier eval.json (e.g. docs/eval-baseline.json): writes compare.md beside",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="also run each clip live-style (the live page's landmarker): eval-live.md",
    )


def run_from_args(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        print(f"coach: --jobs: expected at least 1, found {args.jobs}", file=sys.stderr)
        return 2
    if args.variant < 0:
        print(f"coach: --variant: expected 0 or more, found {args.variant}", file=sys.stderr)
        return 2
    try:
        rep = run_eval(
            args.subset,
            Path(args.out),
            Path(args.cache),
            args.jobs,
            args.num_hands,
            progress=not args.no_progress,
            live=args.live,
            only=args.only,
            variant=args.variant,
        )
    except ValueError as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return 2
    o = rep["overall"]
    fa = rep["false_alarm_hints"]
    print(f"{o['right']}/{o['clips']} verdicts right")
    for s, d in rep["per_stroke"].items():
        print(f"  {s}: {d['right']}/{d['clips']}")
    per_min = "-" if fa["per_min"] is None else f"{fa['per_min']:.2f}"
    print(f"false-alarm hints per minute of good practice: {per_min}")
    if args.compare:
        try:
            before = json.loads(Path(args.compare).read_text())
        except (OSError, ValueError) as exc:
            print(
                f"coach: --compare: expected an eval.json, found {args.compare} ({exc})",
                file=sys.stderr,
            )
            return 1
        cmp_path = Path(args.out) / "compare.md"
        cmp_path.write_text(compare_markdown(before, rep, f"{args.compare} -> this run"))
        b = before["overall"]
        print(f"before: {b['right']}/{b['clips']} verdicts right ({cmp_path})")
    if "live_overall" in rep:
        lo = rep["live_overall"]
        print(f"live-style: {lo['right']}/{lo['clips']} verdicts right (eval-live.md)")
    print(f"report: {Path(args.out) / 'eval.md'} and eval.json")
    return 0
