"""The benchmark's table: the machine, the numbers per clip and the verdicts against
the targets."""

from __future__ import annotations

import contextlib
import math
import os
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from coach.bench.measure import (
    FLAT_HEAP_MB,
    FLAT_RSS_MB,
    SAMPLE_EVERY_FRAMES,
    TARGET_RATIO,
    TARGET_STAGE_P99_MS,
)

# =================================================================================================
# Report
# =================================================================================================


def machine_info() -> dict[str, Any]:
    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "?"

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "mediapipe": version("mediapipe"),
        "av": version("av"),
        "numpy": version("numpy"),
        "platform": platform.platform(),
    }


def _f(x: float | None, fmt: str) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def verdicts(r: dict[str, Any]) -> dict[str, bool]:
    """Each target met or not, for one clip's results."""
    mem = r["memory"]
    return {
        "ratio": bool(r["ratio"] >= TARGET_RATIO),
        "stages_p99": bool(r["stages_ms"]["p99"] < TARGET_STAGE_P99_MS),
        "memory_flat": bool(
            mem["rss"]["growth"] <= FLAT_RSS_MB and mem["heap"]["growth"] <= FLAT_HEAP_MB
        ),
    }


def format_table(results: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    """The human-readable benchmark table, one column per clip."""
    heads = [f"{r['clip']['duration_s']:g} s clip" for r in results]

    def row(label: str, cells: list[str]) -> str:
        return f"{label:<44}" + "".join(f"{c:>24}" for c in cells)

    def col(get: Callable[[dict[str, Any]], float | None], fmt: str) -> list[str]:
        return [_f(get(r), fmt) for r in results]

    def pct(key: str, sub: str | None = None) -> list[str]:
        out = []
        for r in results:
            d = r[key][sub] if sub else r[key]
            out.append(f"{_f(d['p50'], '.3f')} / {_f(d['p99'], '.3f')}")
        return out

    def mem(key: str) -> list[str]:
        out = []
        for r in results:
            g = r["memory"][key]
            out.append(f"{_f(g['first'], '.1f')} -> {_f(g['last'], '.1f')} ({g['growth']:+.2f})")
        return out

    loads = [r["load_avg"][k][0] for r in results for k in ("before", "after")]
    c0 = results[0]["clip"]
    lines = [
        f"Stroke Coach benchmark: {c0['stroke']} (correct), {c0['size'][0]}x{c0['size'][1]} "
        f"at {c0['fps']:g} fps; hand landmarker for {results[0].get('num_hands', '?')} hand(s), "
        "as `coach score` runs it",
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"python {machine['python']}, mediapipe {machine['mediapipe']}",
        f"load average (1 min) during the runs: {min(loads):.2f} .. {max(loads):.2f}; "
        f"passes interleaved in chunks of {results[0]['chunk_frames']} frames (ABBA order)",
        "",
        row("", heads),
        row("frames", [str(r["frames"]["full"]) for r in results]),
        row(
            "MediaPipe alone (decode + detect), frames/s",
            col(lambda r: r["fps"]["mediapipe"], ".1f"),
        ),
        row("full coach score pipeline, frames/s", col(lambda r: r["fps"]["full"], ".1f")),
        row(
            f"ratio full / MediaPipe (target >= {TARGET_RATIO})",
            [f"{_f(r['ratio'], '.3f')} {_yes(verdicts(r)['ratio'])}" for r in results],
        ),
        row("  median of the chunk pairs' ratios", col(lambda r: r["ratio_chunk_median"], ".3f")),
        row("  by process CPU time (less load-sensitive)", col(lambda r: r["ratio_cpu"], ".3f")),
        row(
            "CPU per frame, MediaPipe / full (ms)",
            [
                f"{_f(r['cpu_ms_per_frame']['mediapipe'], '.2f')} / "
                f"{_f(r['cpu_ms_per_frame']['full'], '.2f')}"
                for r in results
            ],
        ),
        row("per frame, MediaPipe alone p50 / p99 (ms)", pct("frame_ms", "mediapipe")),
        row("per frame, full pipeline p50 / p99 (ms)", pct("frame_ms", "full")),
        row(f"matcher+scoring+hints p50 / p99 (ms, <{TARGET_STAGE_P99_MS:g})", pct("stages_ms")),
        row("  target p99 met", [_yes(verdicts(r)["stages_p99"]) for r in results]),
        row("  max (ms)", col(lambda r: r["stages_ms"]["max"], ".3f")),
        row("  same, thread CPU time p50 / p99 (ms)", pct("stages_cpu_ms")),
        row("  replayed without MediaPipe, wall", pct("stages_replay_ms")),
        row("  replayed without MediaPipe, thread CPU", pct("stages_cpu_replay_ms")),
        row("tracker (contact + One Euro) p50 / p99 (ms)", pct("tracker_ms")),
        row("finish + report, once (ms)", col(lambda r: r["finish_report_ms"], ".2f")),
        row("hand detected in frames", [f"{r['detection_rate']['full']:.1%}" for r in results]),
        row(
            "repetitions scored / in truth",
            [f"{r['repetitions']['scored']} / {r['repetitions']['truth']}" for r in results],
        ),
        row("peak RSS during the run (MB)", col(lambda r: r["memory"]["peak_rss_mb"], ".1f")),
        row("RSS first -> last window (MB)", mem("rss")),
        row("Python heap of pipeline, peak MB", col(lambda r: r["memory"]["heap_peak_mb"], ".3f")),
        row("Python heap first -> last window (MB)", mem("heap")),
        row(
            "trend over 2nd half: RSS MB/min, heap KB/min",
            [
                f"{_f(r['memory']['rss']['slope_per_min'], '+.3f')}, "
                f"{_f(r['memory']['heap']['slope_per_min'] * 1024, '+.1f')}"
                for r in results
            ],
        ),
        row(
            f"memory flat (RSS +{FLAT_RSS_MB:g} MB, heap +{FLAT_HEAP_MB:g} MB)",
            [_yes(verdicts(r)["memory_flat"]) for r in results],
        ),
        row("wall time of the interleaved passes (s)", [f"{r['wall_s']:.0f}" for r in results]),
        "",
        "windows: first and last "
        + ", ".join(f"{r['memory']['rss']['window_s']:g} s" for r in results)
        + f" of each clip (medians of samples every {SAMPLE_EVERY_FRAMES} frames);",
        "Python heap from a tracemalloc replay of the recorded detections "
        "(tracemalloc is off while timing).",
        f"process max RSS (getrusage): {max(r['memory']['max_rss_mb'] for r in results):.1f} MB; "
        "replay reproduces the session: " + ", ".join(_yes(r["replay_matches"]) for r in results),
    ]
    return "\n".join(lines)
