"""Synthetic practice clips: a doll on its back and a rendered hand performing a stroke.

Used by integration tests (clip -> ``coach score`` -> the verdict must match the
fault), by ``make run`` when there is no webcam, as a fake webcam for the browser
test, and by the benchmark. Every clip comes with exact ground truth
(:class:`~coach.samples.truth.SampleTruth`).

A :class:`Sample` puts together a performance (:mod:`coach.samples.choreography`) and
a scene (:mod:`coach.samples.scene`); the functions at the end render, name, cache
and make clips.

Conventions
-----------
* The doll and the hands are drawn in true geometry; a mirrored clip is the true
  picture flipped left-right. The truth's ``tummy_box`` and ``head`` describe the
  frame *as stored*, exactly what a user passes as ``--tummy``/``--head``/``--mirrored``.
* Pixel coordinates are continuous (pixel ``i`` covers ``[i, i + 1)``), so a
  normalised point ``x`` sits at ``x * width`` and mirroring is ``x -> 1 - x``.
* Time ``t`` of frame ``i`` is ``i / fps`` (the container timestamps of
  :class:`coach.vision.video.VideoWriter`; 29.97 is taken as exactly 30000/1001).
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from coach.core.bodyframe import HEAD_DIRECTIONS, HeadDirection
from coach.core.strokes import StrokeDefinition, load_stroke
from coach.samples.choreography import (
    LIFT_SCALE,
    WOBBLE_BOX,
    MotionModel,
    RestingHand,
    _Choreographer,
    _evaluate_track,
    off_path_shift,
)
from coach.samples.scene import (
    _HEAD_ANGLE_DEG,
    _SLEEVES,
    HAND_LENGTH_BOX,
    SKIN_TONES,
    _Scene,
    draw_hand,
    hand_landmarks_px,
)
from coach.samples.truth import FAULT_FLAGS, FAULTS, GENERATOR_VERSION, SampleTruth, truth_path
from coach.storage import paths
from coach.storage.atomic import atomic_path
from coach.vision.video import VideoWriter, frame_rate

# =================================================================================================
# Samples: performance + scene -> frames and truth
# =================================================================================================


def _skin_rgb(skin: str | Sequence[int]) -> tuple[str, tuple[int, int, int]]:
    if isinstance(skin, str):
        if skin not in SKIN_TONES:
            raise ValueError(
                f"skin: expected one of {', '.join(SKIN_TONES)} or an RGB triple, found {skin!r}"
            )
        return skin, SKIN_TONES[skin]
    rgb = tuple(int(c) for c in skin)
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise ValueError(f"skin: expected an RGB triple of 0..255, found {skin!r}")
    return "rgb({},{},{})".format(*rgb), rgb  # type: ignore[return-value]


def _stored_head(head: HeadDirection, mirrored: bool) -> HeadDirection:
    """Where the head appears in the stored frame (left and right swap when mirrored)."""
    if not mirrored:
        return head
    return {"left": "right", "right": "left"}.get(head, head)  # type: ignore[return-value]


def _check_options(
    fault: str,
    head: str,
    size: tuple[int, int],
    fps: float,
    repetitions: int,
    duration_s: float | None,
) -> tuple[int, int]:
    """Validate :class:`Sample` options; returns the frame size (width, height)."""
    if fault not in FAULTS:
        raise ValueError(f"fault: expected one of {', '.join(FAULTS)}, found {fault!r}")
    if head not in HEAD_DIRECTIONS:
        raise ValueError(f"head: expected one of {', '.join(HEAD_DIRECTIONS)}, found {head!r}")
    w, h = (int(v) for v in size)
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise ValueError(f"size: expected an even (width, height) of at least 64, found {size}")
    if not (math.isfinite(fps) and 1.0 <= fps <= 240.0):
        raise ValueError(f"fps: expected a frame rate between 1 and 240, found {fps}")
    if duration_s is None and int(repetitions) < 1:
        raise ValueError(f"repetitions: expected at least 1, found {repetitions}")
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s: expected a positive number of seconds, found {duration_s}")
    return w, h


class Sample:
    """A planned clip: call :meth:`frames` to render it, :attr:`truth` for the ground truth.

    ``head`` is where the baby's head is in the true picture (and, unless ``mirrored``
    swaps left and right, in the stored frame). All arguments are validated here.
    """

    def __init__(
        self,
        stroke_id: str | StrokeDefinition,
        *,
        fault: str = "none",
        head: HeadDirection = "up",
        mirrored: bool = False,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        repetitions: int = 2,
        skin: str | Sequence[int] = "light",
        seed: int = 0,
        duration_s: float | None = None,
        motion: MotionModel | None = None,
        rest: RestingHand | None = None,
        palette: dict | None = None,
        hand_painter: Callable[..., None] | None = None,
        hand_turn_deg: float = 4.0,
    ) -> None:
        # motion, rest, palette and hand_painter (evaluation clips: coach/evaluation) leave
        # the default clip unchanged when not given. ``hand_painter(img, hand, landmarks_px,
        # skin_rgb, sleeve_rgb)`` draws hand ``hand`` instead of :func:`draw_hand`.
        # ``hand_turn_deg``: how far the hand turns to and fro about its contact point.
        self.hand_painter = hand_painter
        self.hand_turn_deg = float(hand_turn_deg)
        self.stroke = (
            stroke_id if isinstance(stroke_id, StrokeDefinition) else load_stroke(stroke_id)
        )
        w, h = _check_options(fault, head, size, fps, repetitions, duration_s)
        self.fault, self.head, self.mirrored = fault, head, bool(mirrored)
        self.size, self.fps, self.seed = (w, h), float(fps), int(seed)
        self._rate = float(frame_rate(self.fps))  # exact: 29.97 is 30000/1001, as the writer has it
        self.skin_name, self.skin_rgb = _skin_rgb(skin)
        self.scene = _Scene(self.size, head, palette)
        plan = _Choreographer(self.stroke, fault, self.seed, motion, rest).plan(
            int(repetitions), duration_s
        )
        self._plan = plan
        self._tracks = [tr.freeze() for tr in plan.tracks]
        end_s = max(tr.t_s for tr in plan.tracks)
        self.duration_s = float(duration_s) if duration_s is not None else end_s
        self.n_frames = max(1, int(math.floor(self.duration_s * self._rate + 1e-6)))
        wob = np.random.default_rng(self.seed + 7919)
        self._wobble = wob.uniform(0.0, 2.0 * math.pi, size=(len(plan.tracks), 2))
        self._wobble_angle = wob.uniform(0.0, 2.0 * math.pi, size=len(plan.tracks))
        self.times_s = np.arange(self.n_frames, dtype=np.float64) / self._rate
        self._uv, self._touching, self._visible, self._lift = self._states(self.times_s)
        self.truth = self._make_truth()

    # -- per-frame state --------------------------------------------------------------------------

    def timestamp(self, index: int) -> float:
        """Timestamp of frame ``index`` in seconds: ``index / fps`` with NTSC rates exact, as
        :class:`coach.vision.video.VideoWriter` stamps them."""
        return index / self._rate

    def _states(self, times_s: np.ndarray) -> tuple[np.ndarray, ...]:
        """All hands at ``times_s`` (n,): uv (n, hands, 2) with the human-like wobble,
        touching, visible (n, hands) bool and lift (n, hands) 0..1."""
        t = np.asarray(times_s, dtype=np.float64)
        per_hand = [_evaluate_track(starts, moves, t) for starts, moves in self._tracks]
        uv = np.stack([p[0] for p in per_hand], axis=1)
        ph = self._wobble[None, :, :]
        uv += WOBBLE_BOX * np.stack(
            [
                np.sin(2 * np.pi * 0.37 * t[:, None] + ph[..., 0]),
                np.sin(2 * np.pi * 0.53 * t[:, None] + ph[..., 1]),
            ],
            axis=2,
        )
        return (
            uv,
            np.stack([p[1] for p in per_hand], axis=1),
            np.stack([p[2] for p in per_hand], axis=1),
            np.stack([p[3] for p in per_hand], axis=1),
        )

    def hand_states(self, t_s: float) -> list[tuple[np.ndarray, bool, bool, float]]:
        """Per hand: (contact uv, touching, visible, lift 0..1) at any time ``t_s``."""
        uv, touching, visible, lift = self._states(np.array([float(t_s)]))
        return [
            (uv[0, k], bool(touching[0, k]), bool(visible[0, k]), float(lift[0, k]))
            for k in range(uv.shape[1])
        ]

    def hand_landmarks(self, index: int) -> list[np.ndarray | None]:
        """Per hand, the 21 landmarks of the rendered hand in frame ``index``, normalised
        coordinates of the frame as stored ((21, 2)), or None when the hand is out of view."""
        t = self.timestamp(index)
        w, h = self.size
        out: list[np.ndarray | None] = []
        for k in range(self._uv.shape[1]):
            if not self._visible[index, k]:
                out.append(None)
                continue
            px = self._landmarks_px(k, self._uv[index, k], self._lift[index, k], t)
            xy = px / np.array([w, h], dtype=np.float64)
            if self.mirrored:
                xy[:, 0] = 1.0 - xy[:, 0]
            out.append(xy)
        return out

    def _landmarks_px(self, hand: int, uv: np.ndarray, lift: float, t_s: float) -> np.ndarray:
        """Landmarks in pixels of the true (unmirrored) picture."""
        angle = (
            self._plan.angles_deg[hand]
            + _HEAD_ANGLE_DEG[self.head]
            + self.hand_turn_deg * math.sin(2 * math.pi * 0.23 * t_s + self._wobble_angle[hand])
        )
        length = HAND_LENGTH_BOX * self.scene.box_px * (1.0 + LIFT_SCALE * lift)
        return hand_landmarks_px(
            self.scene.to_px(uv), angle, length, self._plan.sides[hand], self.stroke.contact
        )

    # -- rendering --------------------------------------------------------------------------------

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[np.ndarray, float]]:
        """Rendered RGB uint8 frames (height, width, 3) with their timestamps in seconds."""
        background = self.scene.background()
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        for i in range(start, stop):
            yield self.render(i, background), self.timestamp(i)

    def render(self, index: int, background: np.ndarray | None = None) -> np.ndarray:
        """Frame ``index`` (0 <= index < n_frames) as stored (mirrored when asked)."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame index: expected 0..{self.n_frames - 1}, found {index}")
        img = (self.scene.background() if background is None else background).copy()
        t = self.timestamp(index)
        lift = self._lift[index]
        # lifted hands (closer to the camera) on top; among the others the main hand on top
        for k in sorted(range(len(lift)), key=lambda k: (lift[k], -k)):
            if self._visible[index, k]:
                px = self._landmarks_px(k, self._uv[index, k], lift[k], t)
                if self.hand_painter is not None:
                    self.hand_painter(img, k, px, self.skin_rgb, _SLEEVES[k % len(_SLEEVES)])
                else:
                    draw_hand(img, px, self.skin_rgb, _SLEEVES[k % len(_SLEEVES)])
        return np.ascontiguousarray(img[:, ::-1]) if self.mirrored else img

    # -- truth ------------------------------------------------------------------------------------

    def _make_truth(self) -> SampleTruth:
        n, n_hands = self.n_frames, len(self._tracks)
        visible = self._visible.copy()
        touching = self._touching & visible
        uv = np.where(visible[..., None], self._uv, np.nan)
        end = self.duration_s
        reps = tuple(r for r in self._plan.reps if r.end_s <= end + 1e-9)
        spans = tuple((a, min(b, end)) for a, b in self._plan.no_hand if a < end)
        x0, y0, x1, y1 = self.scene.box_true
        box = (
            (round(1.0 - x1, 4), y0, round(1.0 - x0, 4), y1) if self.mirrored else (x0, y0, x1, y1)
        )
        shift = off_path_shift(self.stroke) if self.fault == "off_path" else np.zeros(2)
        return SampleTruth(
            stroke=self.stroke.id,
            fault=self.fault,
            head=_stored_head(self.head, self.mirrored),
            mirrored=self.mirrored,
            tummy_box=box,
            fps=self.fps,
            size=self.size,
            frames=n,
            duration_s=n / self._rate,
            contact=self.stroke.contact,
            hands=n_hands,
            skin=self.skin_name,
            seed=self.seed,
            repetitions=reps,
            session_flags=("no_hand",) if spans else (),
            expected_flags=FAULT_FLAGS[self.fault],
            no_hand_spans=spans,
            off_path_shift_uv=(float(shift[0]), float(shift[1])),
            timestamps_s=self.times_s.copy(),
            contact_uv=uv,
            visible=visible,
            touching=touching,
        )


# =================================================================================================
# Public API
# =================================================================================================


def iter_sample_frames(
    stroke_id: str | StrokeDefinition = "i-love-you", **options: object
) -> Iterator[tuple[np.ndarray, float]]:
    """Render a sample in memory: RGB uint8 frames (height, width, 3) with timestamps in
    seconds. ``options`` are those of :class:`Sample` (fault, head, mirrored, size, fps,
    repetitions, skin, seed, duration_s)."""
    yield from Sample(stroke_id, **options).frames()  # type: ignore[arg-type]


def render_sample(
    stroke_id: str | StrokeDefinition,
    path: str | os.PathLike,
    *,
    fault: str = "none",
    head: HeadDirection = "up",
    mirrored: bool = False,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
    repetitions: int = 2,
    skin: str | Sequence[int] = "light",
    seed: int = 0,
    duration_s: float | None = None,
) -> SampleTruth:
    """Render a sample clip to ``path`` (container from the suffix: .mp4 .webm .avi .mov .mkv
    .y4m) and its ground truth to :func:`truth_path` ``(path)``; returns the truth.

    The files are written under temporary names and renamed when complete, so a reader never
    sees half a clip. ``duration_s`` (e.g. 600 for the benchmark) loops repetitions to fill it.
    """

    sample = Sample(
        stroke_id,
        fault=fault,
        head=head,
        mirrored=mirrored,
        size=size,
        fps=fps,
        repetitions=repetitions,
        skin=skin,
        seed=seed,
        duration_s=duration_s,
    )
    out = Path(path)
    # the truth is renamed in place first, then the clip: a clip is never without its truth
    with (
        atomic_path(out, suffix=f".part{out.suffix}") as tmp,
        atomic_path(truth_path(out), suffix=".part.json") as tmp_truth,
    ):
        with VideoWriter(tmp, sample.fps, sample.size) as writer:
            for image, _t in sample.frames():
                writer.write(image)
        sample.truth.save(tmp_truth)
    return sample.truth


def sample_name(
    stroke_id: str,
    *,
    fault: str = "none",
    head: str = "up",
    mirrored: bool = False,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
    repetitions: int = 2,
    skin: str | Sequence[int] = "light",
    seed: int = 0,
    duration_s: float | None = None,
) -> str:
    """A file stem naming a sample's options: ``sun-reversed-left-m-640x480-30fps-light-s0``
    (``m`` when mirrored; ``r3`` / ``600s`` for repetitions / duration when not the default)."""
    skin_txt = skin if isinstance(skin, str) else "rgb" + "-".join(str(int(c)) for c in skin)
    parts = [stroke_id, fault, head] + (["m"] if mirrored else [])
    parts += [f"{int(size[0])}x{int(size[1])}", f"{float(fps):g}fps", skin_txt, f"s{int(seed)}"]
    if duration_s is not None:
        parts.append(f"{float(duration_s):g}s")
    elif int(repetitions) != 2:
        parts.append(f"r{int(repetitions)}")
    return "-".join(parts)


def default_cache_dir() -> Path:
    """Where generated samples are kept (:func:`coach.storage.paths.samples_dir`): the checkout's
    ``samples/`` (git-ignored), else the user's cache folder."""
    return paths.samples_dir()


def ensure_sample(
    stroke_id: str = "i-love-you",
    cache_dir: str | os.PathLike | None = None,
    *,
    suffix: str = ".mp4",
    **options: object,
) -> Path:
    """Path of a cached sample clip, rendering it first if it is missing or was made by an
    older generator. ``options`` as :func:`render_sample`; its truth is at :func:`truth_path`."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / (sample_name(stroke_id, **options) + suffix)
    truth = truth_path(path)
    if path.is_file() and truth.is_file():
        try:
            if json.loads(truth.read_text()).get("generator_version") == GENERATOR_VERSION:
                return path
        except (OSError, ValueError):
            pass
    render_sample(stroke_id, path, **options)  # type: ignore[arg-type]
    return path


def make_samples(
    out_dir: str | os.PathLike,
    strokes: Sequence[str] = ("i-love-you",),
    faults: Sequence[str] = ("none",),
    *,
    heads: Sequence[str] = ("up",),
    mirrored: Sequence[bool] = (False,),
    sizes: Sequence[tuple[int, int]] = ((640, 480),),
    fps: Sequence[float] = (30.0,),
    skins: Sequence[str] = ("light",),
    repetitions: int = 2,
    seed: int = 0,
    duration_s: float | None = None,
    suffix: str = ".mp4",
    force: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> list[Path]:
    """Render every combination of the given options into ``out_dir`` (cached unless
    ``force``); returns the video paths. Each has a ``.truth.json`` next to it.
    ``on_progress(fraction)`` after each clip (for a progress bar)."""
    paths = []
    combinations = list(itertools.product(strokes, faults, heads, mirrored, sizes, fps, skins))
    for stroke, fault, head, mir, size, rate, skin in combinations:
        options = dict(
            fault=fault,
            head=head,
            mirrored=mir,
            size=tuple(size),
            fps=rate,
            skin=skin,
            seed=seed,
            repetitions=repetitions,
            duration_s=duration_s,
        )
        if force:
            path = Path(out_dir) / (sample_name(stroke, **options) + suffix)
            render_sample(stroke, path, **options)  # type: ignore[arg-type]
        else:
            path = ensure_sample(stroke, out_dir, suffix=suffix, **options)
        paths.append(path)
        if on_progress is not None:
            on_progress(len(paths) / len(combinations))
    return paths
