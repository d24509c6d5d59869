"""``coach bench``: how much the coaching pipeline costs on top of MediaPipe.

For each clip (a synthetic I Love You practice, 640x480 at 30 fps, short and long)
one run measures, on the *same* file:

* **MediaPipe alone**: decode + the hand landmarker's ``detect`` per frame, the one
  ``coach score`` uses (:func:`coach.vision.hand_tracker.offline_landmarker`) (pass A);
* **full pipeline**: exactly what ``coach score`` does per frame, decode +
  ``Coach.process`` (detect, tracker, matcher, scoring, hints), then ``finish()``
  and ``build_report`` (pass B);
* the ratio B/A of their frame rates (target >= 0.87);
* the per-frame time of our stages after the tracker (matcher + scoring + hints:
  ``Coach.update`` minus ``ContactSmoother.update``), p50 / p99 / max (target p99 < 1 ms);
* memory: peak RSS, RSS sampled along the clip (first vs last window: flat?), and the
  Python heap of the pipeline (tracemalloc) from a replay of the recorded detections.

Fairness: the two passes have their own decoder and landmarker and run *interleaved*
in chunks of frames, the order alternating A B, B A, A B, ... so that a change in
machine load hits both equally. Each pass still sees the whole clip in order, so
MediaPipe's tracking works as in a plain run. tracemalloc slows every Python
allocation, so it is only switched on in the replay, never while timing A and B.

Clips are rendered once into ``samples/bench/`` (or ``out_dir``) and reused while
the sample generator's version and the clip parameters are unchanged.

The clips are :mod:`coach.bench.clips`, the passes :mod:`coach.bench.passes`, the
measurements :mod:`coach.bench.measure` and the table :mod:`coach.bench.report`;
this module runs them (:func:`run_bench`)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from coach.bench.clips import default_out_dir, ensure_clip, to_stderr
from coach.bench.measure import CHUNK_FRAMES
from coach.bench.passes import measure_clip
from coach.bench.report import format_table, machine_info, verdicts
from coach.core.numbers import finite_or_none
from coach.vision.models import ModelError

# =================================================================================================
# Entry points
# =================================================================================================


def run_bench(
    long_s: float = 600.0,
    short_s: float = 30.0,
    out_dir: str | os.PathLike | None = None,
    *,
    json_path: str | os.PathLike | None = None,
    chunk_frames: int = CHUNK_FRAMES,
    **_ignored: Any,
) -> int:
    """``coach bench``: render (or reuse) the clips, measure, print the table; exit status.

    A duration of 0 skips that clip. Returns 0 when measured (targets missed or not),
    2 for bad arguments, 1 when the model or a clip cannot be used.
    """
    from coach.vision.video import VideoError  # deferred: PyAV

    durations = [d for d in (short_s, long_s) if d]
    bad = [d for d in (short_s, long_s) if not (math.isfinite(d) and d >= 0)]
    if bad or not durations or chunk_frames < 1:
        to_stderr(
            f"coach: bench: expected durations >= 0 s (at least one > 0) and chunk_frames >= 1, "
            f"found short {short_s}, long {long_s}, chunk {chunk_frames}"
        )
        return 2
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    machine = machine_info()
    try:
        clips = [ensure_clip(out, d) for d in durations]
        results = [measure_clip(c, chunk_frames=chunk_frames) for c in clips]
    except (ModelError, VideoError) as exc:
        to_stderr(f"coach: {exc}")
        return 1
    print(format_table(results, machine))
    if json_path is not None:
        data = {
            "schema": "coach.bench/1",
            "machine": machine,
            "clips": results,
            "verdicts": [verdicts(r) for r in results],
        }
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_json_safe(data), indent=2, allow_nan=False) + "\n")
        print(f"\nJSON written to {path}")
    return 0


def _json_safe(x: Any) -> Any:
    """NaN and infinities become null; tuples become lists; numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return finite_or_none(x)
    if isinstance(x, np.integer):
        return int(x)
    return x
