"""The benchmark's clips: a synthetic I Love You practice rendered once into
``samples/bench/`` (or ``out_dir``) and reused while the sample generator's version
and the clip parameters are unchanged."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from coach.core.bodyframe import BodyFrame
from coach.storage import paths

#: Bump when the clip choice or naming changes (cached clips are then rebuilt).
BENCH_CLIP_VERSION = 1
STROKE_ID = "i-love-you"
CLIP_SIZE = (640, 480)
CLIP_FPS = 30.0


Log = Callable[[str], None]


def to_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_out_dir() -> Path:
    """``<samples>/bench`` (:func:`coach.storage.paths.samples_dir`; in a checkout
    ``samples/bench``, git-ignored)."""
    return paths.samples_dir() / "bench"


# =================================================================================================
# Clips
# =================================================================================================


@dataclass(frozen=True)
class BenchClip:
    """A rendered benchmark clip and what ``coach score`` needs to score it."""

    path: Path
    stroke: str
    duration_s: float
    frames: int
    fps: float
    size: tuple[int, int]  # (width, height) pixels
    tummy_box: tuple[float, float, float, float]  # normalised x0, y0, x1, y1 of the stored frame
    head: str
    mirrored: bool
    truth_repetitions: int  # complete repetitions in the ground truth
    generator_version: int
    bench_clip_version: int = BENCH_CLIP_VERSION

    def body_frame(self):
        return BodyFrame.from_box(self.tummy_box, self.head, self.mirrored, self.size)

    def meta(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = self.path.name
        return d


def _clip_name(stroke: str, duration_s: float) -> str:
    return f"bench-{stroke}-{duration_s:g}s"


def _cached_clip(video: Path, meta_path: Path, expected: dict[str, Any]) -> BenchClip | None:
    """The clip described by ``meta_path`` if it is complete and matches ``expected``."""
    from coach.vision.video import VideoError, read_info  # deferred: PyAV

    try:
        meta = json.loads(meta_path.read_text())
        if any(meta.get(k) != v for k, v in expected.items()):
            return None
        clip = BenchClip(
            path=video,
            stroke=meta["stroke"],
            duration_s=float(meta["duration_s"]),
            frames=int(meta["frames"]),
            fps=float(meta["fps"]),
            size=(int(meta["size"][0]), int(meta["size"][1])),
            tummy_box=tuple(float(c) for c in meta["tummy_box"]),  # type: ignore[arg-type]
            head=meta["head"],
            mirrored=bool(meta["mirrored"]),
            truth_repetitions=int(meta["truth_repetitions"]),
            generator_version=int(meta["generator_version"]),
            bench_clip_version=int(meta["bench_clip_version"]),
        )
        info = read_info(video)
    except (OSError, ValueError, KeyError, TypeError, VideoError):
        return None
    if abs(info.frames - clip.frames) > 1:
        return None
    return clip


def ensure_clip(
    out_dir: Path,
    duration_s: float,
    *,
    stroke: str = STROKE_ID,
    size: tuple[int, int] = CLIP_SIZE,
    fps: float = CLIP_FPS,
    log: Log = to_stderr,
) -> BenchClip:
    """Render (or reuse) a correct practice clip of ``duration_s`` seconds in ``out_dir``.

    The video is ``bench-<stroke>-<duration>s.mp4`` (ground truth in ``.truth.json``, by
    :func:`coach.samples.synth.render_sample`) next to a ``.json`` with the clip's parameters,
    written last: a clip is reused only when complete and made by the current generator.
    """
    from coach.samples import synth  # deferred: PyAV, OpenCV

    out_dir.mkdir(parents=True, exist_ok=True)
    name = _clip_name(stroke, duration_s)
    video, meta_path = out_dir / f"{name}.mp4", out_dir / f"{name}.json"
    expected = {
        "stroke": stroke,
        "duration_s": float(duration_s),
        "fps": float(fps),
        "size": list(size),
        "generator_version": synth.GENERATOR_VERSION,
        "bench_clip_version": BENCH_CLIP_VERSION,
    }
    cached = _cached_clip(video, meta_path, expected)
    if cached is not None:
        log(f"bench: reusing {video}")
        return cached

    frames = int(math.floor(duration_s * fps + 1e-6))
    log(
        f"bench: rendering {video} ({frames} frames, {duration_s:g} s of video; "
        f"about {frames / 100:.0f} s at ~100 frames/s)"
    )
    meta_path.unlink(missing_ok=True)
    started = time.monotonic()
    truth = synth.render_sample(
        stroke, video, fault="none", size=size, fps=fps, duration_s=duration_s, seed=0
    )
    clip = BenchClip(
        path=video,
        stroke=stroke,
        duration_s=float(duration_s),
        frames=int(truth.frames),
        fps=float(fps),
        size=(int(size[0]), int(size[1])),
        tummy_box=tuple(float(c) for c in truth.tummy_box),  # type: ignore[arg-type]
        head=truth.head,
        mirrored=truth.mirrored,
        truth_repetitions=len(truth.repetitions),
        generator_version=synth.GENERATOR_VERSION,
    )
    meta_path.write_text(json.dumps(clip.meta(), indent=2) + "\n")
    log(f"bench: rendered in {time.monotonic() - started:.0f} s")
    return clip
