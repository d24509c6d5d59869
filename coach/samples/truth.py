"""What a sample clip acts out and what must be found in it: the faults, the flags each
must raise, and the exact ground truth (:class:`SampleTruth`, written next to the video
as ``<name>.truth.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.core.bodyframe import BodyFrame

#: Bump when the rendering or the choreography changes, so cached samples are rebuilt.
GENERATOR_VERSION = 3

#: Performance faults the generator can act out.
FAULTS: tuple[str, ...] = (
    "none",  # correct: nominal pace with a small human-like variation
    "reversed",  # every segment backwards (circles anticlockwise, letters end to start)
    "fast",  # 3x faster than nominal
    "slow",  # 3x slower than nominal
    "incomplete",  # every segment stops at half its path
    "off_path",  # the whole performance shifted clearly away from the reference
    "jerky",  # stop-and-go along the path, same overall duration
    "no_hand",  # the hand leaves the picture for a long stretch
)

#: Duration factor (actual / nominal) of each segment, per fault.
DURATION_FACTORS = {"fast": 1.0 / 3.0, "slow": 3.0}


#: Flags the scorer must raise for each fault (strokes.md section 5).
FAULT_FLAGS: dict[str, tuple[str, ...]] = {
    "none": (),
    "reversed": ("wrong_direction",),
    "fast": ("too_fast",),
    "slow": ("too_slow",),
    "incomplete": ("incomplete",),
    "off_path": ("off_path",),
    "jerky": ("jerky",),
    "no_hand": (),  # a session-level finding, see SampleTruth.session_flags
}


# =================================================================================================
# Ground truth
# =================================================================================================


@dataclass(frozen=True)
class SegmentTruth:
    """One performed segment (letter, circle, arc, paddle) of a repetition."""

    segment: int  # index into the stroke's segments
    hand: int  # which rendered hand performed it (index into the truth's hand arrays)
    start_s: float  # the hand starts moving along the path
    end_s: float  # the hand stops at the end of the performed path
    duration_s: float  # end_s - start_s
    nominal_s: float  # the segment's nominal duration (for its full path)
    reversed: bool
    coverage: float  # fraction of the reference path performed, 0..1


@dataclass(frozen=True)
class RepetitionTruth:
    """One repetition and the verdict the scorer should give it (contract.md names)."""

    index: int
    hand: int  # the hand that performed it (the first segment's hand for two-hand strokes)
    start_s: float
    end_s: float
    duration_s: float  # sum of the segments' moving time (pauses and transitions excluded)
    nominal_s: float  # sum of the segments' nominal durations
    speed_ratio: float  # mean contact speed over the nominal speed
    direction: str  # "ok" | "wrong"
    pace: str  # "ok" | "too_fast" | "too_slow"
    flags: tuple[str, ...]
    segments: tuple[SegmentTruth, ...] = ()


@dataclass(frozen=True)
class SampleTruth:
    """Everything known about a generated clip.

    Per-frame arrays: ``timestamps_s`` (n,), ``contact_uv`` (n, hands, 2) with NaN
    where a hand is out of the picture, ``visible`` and ``touching`` (n, hands) bool.
    Hand 0 is the main hand (the sun hand for sun-moon, the first paddling hand for
    water-wheel).
    """

    stroke: str
    fault: str
    head: str  # as seen in the stored frame (what --head says)
    mirrored: bool
    tummy_box: tuple[float, float, float, float]  # stored-frame normalised x0, y0, x1, y1
    fps: float
    size: tuple[int, int]  # (width, height) pixels
    frames: int
    duration_s: float
    contact: str  # "fingertips" | "palm"
    hands: int  # number of rendered hands
    skin: str
    seed: int
    repetitions: tuple[RepetitionTruth, ...]
    session_flags: tuple[str, ...]  # session-level findings the report must hold (no_hand)
    expected_flags: tuple[str, ...]  # flags every repetition must carry
    no_hand_spans: tuple[tuple[float, float], ...]  # (start_s, end_s) with no hand in the picture
    off_path_shift_uv: tuple[float, float]
    timestamps_s: np.ndarray = field(repr=False)
    contact_uv: np.ndarray = field(repr=False)
    visible: np.ndarray = field(repr=False)
    touching: np.ndarray = field(repr=False)
    generator_version: int = GENERATOR_VERSION

    @property
    def cli_args(self) -> tuple[str, ...]:
        """Calibration options a user would pass to ``coach score`` for this clip."""
        box = ",".join(f"{c:.4f}" for c in self.tummy_box)
        args = ("--stroke", self.stroke, "--tummy", box, "--head", self.head)
        return (*args, "--mirrored") if self.mirrored else args

    def body_frame(self) -> BodyFrame:
        """The body frame of the stored frames, built exactly as ``coach score`` would."""
        return BodyFrame.from_box(self.tummy_box, self.head, self.mirrored, self.size)  # type: ignore[arg-type]

    @property
    def box_width_px(self) -> float:
        return float(self.body_frame().box_width_px)

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN becomes null)."""
        uv = self.contact_uv.round(5).astype(object)
        uv[~np.isfinite(self.contact_uv)] = None
        return {
            "schema": "coach.sample-truth/1",
            "generator_version": self.generator_version,
            "stroke": self.stroke,
            "fault": self.fault,
            "head": self.head,
            "mirrored": self.mirrored,
            "tummy_box": list(self.tummy_box),
            "cli_args": list(self.cli_args),
            "fps": self.fps,
            "size": list(self.size),
            "frames": self.frames,
            "duration_s": self.duration_s,
            "contact": self.contact,
            "hands": self.hands,
            "skin": self.skin,
            "seed": self.seed,
            "expected_flags": list(self.expected_flags),
            "session_flags": list(self.session_flags),
            "no_hand_spans": [list(s) for s in self.no_hand_spans],
            "off_path_shift_uv": list(self.off_path_shift_uv),
            "repetitions": [_repetition_to_dict(r) for r in self.repetitions],
            "timestamps_s": [round(float(t), 6) for t in self.timestamps_s],
            "contact_uv": uv.tolist(),
            "visible": self.visible.tolist(),
            "touching": self.touching.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SampleTruth:
        try:
            uv = np.array(
                [[[np.nan, np.nan] if p is None else p for p in row] for row in data["contact_uv"]],
                dtype=np.float64,
            ).reshape(-1, int(data["hands"]), 2)
            return cls(
                stroke=data["stroke"],
                fault=data["fault"],
                head=data["head"],
                mirrored=bool(data["mirrored"]),
                tummy_box=tuple(float(c) for c in data["tummy_box"]),  # type: ignore[arg-type]
                fps=float(data["fps"]),
                size=(int(data["size"][0]), int(data["size"][1])),
                frames=int(data["frames"]),
                duration_s=float(data["duration_s"]),
                contact=data["contact"],
                hands=int(data["hands"]),
                skin=data["skin"],
                seed=int(data["seed"]),
                repetitions=tuple(_repetition_from_dict(r) for r in data["repetitions"]),
                session_flags=tuple(data["session_flags"]),
                expected_flags=tuple(data["expected_flags"]),
                no_hand_spans=tuple((float(a), float(b)) for a, b in data["no_hand_spans"]),
                off_path_shift_uv=tuple(float(c) for c in data["off_path_shift_uv"]),  # type: ignore[arg-type]
                timestamps_s=np.array(data["timestamps_s"], dtype=np.float64),
                contact_uv=uv,
                visible=np.array(data["visible"], dtype=bool).reshape(-1, int(data["hands"])),
                touching=np.array(data["touching"], dtype=bool).reshape(-1, int(data["hands"])),
                generator_version=int(data.get("generator_version", 0)),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(
                f"sample truth: expected a coach.sample-truth/1 object ({exc})"
            ) from exc

    def save(self, path: str | os.PathLike) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_dict(), separators=(",", ":")))
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> SampleTruth:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _repetition_to_dict(rep: RepetitionTruth) -> dict:
    d = {k: getattr(rep, k) for k in RepetitionTruth.__dataclass_fields__ if k != "segments"}
    d["flags"] = list(rep.flags)
    d["segments"] = [
        {k: getattr(s, k) for k in SegmentTruth.__dataclass_fields__} for s in rep.segments
    ]
    return d


def _repetition_from_dict(d: dict) -> RepetitionTruth:
    segs = tuple(SegmentTruth(**s) for s in d.get("segments", ()))
    fields_ = {
        k: d[k] for k in RepetitionTruth.__dataclass_fields__ if k not in ("segments", "flags")
    }
    return RepetitionTruth(**fields_, flags=tuple(d["flags"]), segments=segs)


def truth_path(video_path: str | os.PathLike) -> Path:
    """Where the ground truth of ``clip.mp4`` lives: ``clip.truth.json``."""
    return Path(video_path).with_suffix(".truth.json")
