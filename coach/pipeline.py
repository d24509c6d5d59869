"""The per-frame coaching pipeline, shared by `coach score` and the live page.

Frame -> HandLandmarker -> HandObservation -> HandTracker -> TrackPoint (body frame)
-> OnlineMatcher(s) -> Progress -> scoring -> RepetitionScore, and the hint policy
-> Hint. :class:`Coach` wires the stages; every stage keeps its own state and
works from timestamps, so dropped frames are fine.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from coach import hints as hint_policy
from coach.bodyframe import BodyFrame
from coach.matcher import MatcherConfig, OnlineMatcher
from coach.offset import OffsetEstimator
from coach.scoring import PENALTY, score_repetition, session_score
from coach.smoothing import HandTracker
from coach.strokes import StrokeDefinition
from coach.types import (
    FLAG_CODES,
    Frame,
    HandObservation,
    Hint,
    Progress,
    RepetitionScore,
    SegmentRecord,
    TrackPoint,
)

#: A stretch without a hand at least this long is reported as ``no_hand``.
NO_HAND_MIN_S = 2.0
#: A stroke that must stay in contact (a circle) is ``lifted`` when the hand is not seen
#: for at least this long in the middle of it.
LIFTED_MIN_S = 0.4
#: The hand's path is kept this long (for smoothness); memory stays flat.
PATH_MEMORY_S = 90.0


@dataclass(frozen=True)
class FrameResult:
    timestamp_s: float
    observation: HandObservation | None
    track: TrackPoint | None
    progress: Progress | None
    new_repetitions: tuple[RepetitionScore, ...]
    hint: Hint | None  # the hint currently shown (may have been issued earlier)
    new_hint: bool  # the hint was issued on this frame
    status: str  # "tracking" | "bridged" | "searching" | "no_hand"


@dataclass(frozen=True)
class SessionResult:
    stroke_id: str
    repetitions: tuple[RepetitionScore, ...]
    hints: tuple[Hint, ...]
    no_hand_stretches: tuple[tuple[float, float], ...]  # (start_s, end_s)
    frames: int
    frames_with_hand: int
    score: int
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def detection_rate(self) -> float:
        return self.frames_with_hand / self.frames if self.frames else 0.0


class _Lane:
    """One matcher following one hand slot through some of the stroke's segments."""

    def __init__(
        self, stroke: StrokeDefinition, slot: int, segments: tuple[int, ...], cfg: MatcherConfig
    ):
        self.slot = slot
        self.segments = segments
        self.matcher = OnlineMatcher(stroke, segments, cfg)
        self.offset = OffsetEstimator(stroke, segments)
        self.pending: dict[int, list[SegmentRecord]] = {}
        self.full = 0  # segments completed all the way (tells the sun hand from the moon hand)

    def update(self, uv: np.ndarray | None, t: float) -> Progress | None:
        """Follow the hand; a stroke done in the wrong place is followed shifted back, and
        its distance from the path includes the shift (so it is flagged off_path)."""
        if uv is None:
            return self.matcher.update(None, t)
        shift = self.offset.update(uv, t)
        p = self.matcher.update(uv - shift, t)
        if p is None or not self.offset.engaged:
            return p
        extra = float(np.linalg.norm(shift))
        return replace(p, distance_box=p.distance_box + extra, completed=self._shifted(p.completed))

    def finish(self, t: float) -> tuple[SegmentRecord, ...]:
        return self._shifted(self.matcher.finish(t))

    def _shifted(self, records: tuple[SegmentRecord, ...]) -> tuple[SegmentRecord, ...]:
        extra = float(np.linalg.norm(self.offset.offset))
        if extra == 0:
            return records
        return tuple(replace(r, mean_distance_box=r.mean_distance_box + extra) for r in records)


class Coach:
    """The whole per-frame pipeline for one user and one stroke.

    ``process(frame)`` runs the hand landmarker then :meth:`update`. Repetitions are
    scored as soon as they are complete; :meth:`session` gives everything so far and
    :meth:`finish` closes the session (the repetition in progress is scored if it got
    far enough).
    """

    def __init__(
        self,
        stroke: StrokeDefinition,
        body_frame: BodyFrame,
        landmarker=None,
        *,
        matcher_config: MatcherConfig | None = None,
        policy: hint_policy.HintPolicy | None = None,
    ) -> None:
        self.stroke = stroke
        self.body_frame = body_frame
        self.landmarker = landmarker
        self._cfg = matcher_config or MatcherConfig()
        self._policy = policy or hint_policy.HintPolicy()
        self.tracker = HandTracker(body_frame, stroke.contact, max_hands=2)
        self.reset()

    # -- lanes: which matcher follows which hand ------------------------------------------

    def _make_lanes(self) -> list[_Lane]:
        stroke = self.stroke
        all_segments = tuple(range(len(stroke.segments)))
        if stroke.hands == 1:
            return [_Lane(stroke, 0, all_segments, self._cfg)]
        if stroke.per_hand:
            return [_Lane(stroke, slot, all_segments, self._cfg) for slot in (0, 1)]
        # Two hands with different roles (sun and moon): follow every role on both hands;
        # repetitions are counted on the first role, the others add their verdicts.
        lanes = []
        for role in dict.fromkeys(s.role for s in stroke.segments):
            segs = tuple(i for i, s in enumerate(stroke.segments) if s.role == role)
            lanes.extend(_Lane(stroke, slot, segs, self._cfg) for slot in (0, 1))
        return lanes

    def reset(self) -> None:
        self.tracker.reset()
        self._lanes = self._make_lanes()
        self._main_role = self.stroke.segments[0].role
        self._repetitions: list[RepetitionScore] = []
        self._side_records: list[tuple[int, SegmentRecord]] = []  # (hand slot, record)
        self._hints: list[Hint] = []
        self._hint_state = hint_policy.HintState()
        self._current_hint: Hint | None = None
        # Each hand slot's recent path (t, u, v), for smoothness.
        self._path: tuple[deque[tuple[float, float, float]], ...] = (deque(), deque())
        self._frames = 0
        self._frames_with_hand = 0
        self._lost_since: float | None = None
        self._no_hand: list[tuple[float, float]] = []
        self._gaps: deque[tuple[float, float]] = deque()  # hand unseen >= LIFTED_MIN_S, recent
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._last_progress: Progress | None = None
        if self.landmarker is not None:
            self.landmarker.reset()

    def set_body_frame(self, body_frame: BodyFrame) -> None:
        """Recalibrate: new body frame, the alignment starts over."""
        self.body_frame = body_frame
        self.tracker.set_body_frame(body_frame)
        self._lanes = self._make_lanes()

    # -- per frame ------------------------------------------------------------------------

    def process(self, frame: Frame) -> FrameResult:
        if self.landmarker is None:
            raise RuntimeError("Coach.process needs a landmarker; pass one or call update()")
        return self.update(self.landmarker.detect(frame), frame.timestamp_s)

    def update(self, observation: HandObservation | None, timestamp_s: float) -> FrameResult:
        t = float(timestamp_s)
        self._frames += 1
        if self._first_t is None:
            self._first_t = t
        self._last_t = t
        if observation is not None:
            self._frames_with_hand += 1
        track = self.tracker.update(observation, t)
        self._note_hand(track is not None and not track.bridged, t)

        completed: list[SegmentRecord] = []
        progress: Progress | None = None
        for i, lane in enumerate(self._lanes):
            uv = None
            if track is not None and lane.slot < len(track.hands_uv):
                uv = track.hands_uv[lane.slot]
            p = lane.update(uv, t)
            if p is not None:
                completed.extend(p.completed)
                self._collect(lane, p.completed)
            if i == 0:
                progress = p
        if track is not None:
            for slot, path in enumerate(self._path):
                if slot < len(track.hands_uv):
                    path.append((t, float(track.hands_uv[slot][0]), float(track.hands_uv[slot][1])))
                while path and t - path[0][0] > PATH_MEMORY_S:
                    path.popleft()
        new_reps = self._score_ready(final=False)
        self._last_progress = progress

        sig = hint_policy.HintSignals(
            t_s=t,
            hand_seen=track is not None,
            progress=progress,
            completed=tuple(completed),
            scored=new_reps,
        )
        self._hint_state, hint = hint_policy.decide(
            self._hint_state, sig, self.stroke, self._policy
        )
        if hint is not None:
            self._hints.append(hint)
            self._current_hint = hint
        if track is None:
            status = (
                "no_hand"
                if self._lost_since is not None and t - self._lost_since >= 1.0
                else "searching"
            )
        else:
            status = "bridged" if track.bridged else "tracking"
        return FrameResult(
            timestamp_s=t,
            observation=observation,
            track=track,
            progress=progress,
            new_repetitions=new_reps,
            hint=self._current_hint,
            new_hint=hint is not None,
            status=status,
        )

    def _note_hand(self, seen: bool, t: float) -> None:
        if not seen:
            if self._lost_since is None:
                self._lost_since = t
            return
        if self._lost_since is not None:
            gap = (self._lost_since, t)
            if t - self._lost_since >= NO_HAND_MIN_S:
                self._no_hand.append(gap)
            if t - self._lost_since >= LIFTED_MIN_S:
                self._gaps.append(gap)
                while self._gaps and t - self._gaps[0][1] > PATH_MEMORY_S:
                    self._gaps.popleft()
        self._lost_since = None

    def _collect(self, lane: _Lane, records: tuple[SegmentRecord, ...]) -> None:
        main = self.stroke.segments[lane.segments[0]].role == self._main_role
        rivals = [
            other.full
            for other in self._lanes
            if other is not lane and other.segments == lane.segments and not self.stroke.per_hand
        ]
        for rec in records:
            if not main:
                self._side_records.append((lane.slot, rec))
                continue
            if rec.coverage >= 0.9:
                lane.full += 1
            if rivals and lane.full < max(rivals):
                continue  # the other hand does more whole circles: this one is the moon's
            lane.pending.setdefault(rec.repetition, []).append(rec)

    def _score_ready(self, final: bool) -> tuple[RepetitionScore, ...]:
        """Score every repetition whose last segment is in, or that a later one overtook."""
        out: list[RepetitionScore] = []
        for lane in self._lanes:
            if not lane.pending:
                continue
            last_seg = lane.segments[-1]
            newest = max(lane.pending)
            for rep in sorted(lane.pending):
                recs = lane.pending[rep]
                done = any(r.segment == last_seg for r in recs) or rep < newest or final
                if not done:
                    continue
                del lane.pending[rep]
                out.append(self._score(recs, lane))
        out.sort(key=lambda s: s.start_s)
        return tuple(out)

    def _score(self, records: list[SegmentRecord], lane: _Lane) -> RepetitionScore:
        start = min(r.start_s for r in records)
        end = max(r.end_s for r in records)
        # The other roles' segments by the *other* hand during this repetition (the moon).
        side = [
            r
            for slot, r in self._side_records
            if slot != lane.slot and r.end_s >= start and r.start_s <= end
        ]
        path = np.array([p for p in self._path[lane.slot] if start <= p[0] <= end]).reshape(-1, 3)
        rep = score_repetition(
            self.stroke,
            len(self._repetitions),
            records,
            lane.segments,
            path_t_s=path[:, 0],
            path_uv=path[:, 1:],
        )
        closed = any(self.stroke.segments[s].closed for s in lane.segments)
        if closed and any(a > start and b < end for a, b in self._gaps):
            # The hand left the circle in the middle of it: contact was broken.
            rep = _with_flag(rep, "lifted")
        if any(r.reversed for r in side) and rep.direction == "ok":
            # The other hand (the moon) went the wrong way: the repetition is not right.
            rep = _with_flag(rep, "wrong_direction", direction="wrong")
        self._repetitions.append(rep)
        return rep

    # -- session --------------------------------------------------------------------------

    def finish(self) -> SessionResult:
        """End of the session: close segments in progress and score what is left."""
        t = self._last_t if self._last_t is not None else 0.0
        for lane in self._lanes:
            if self.stroke.segments[lane.segments[0]].role == self._main_role:
                self._collect(lane, lane.finish(t))
            else:  # the other hand's unfinished move at the very end says nothing
                self._collect(lane, lane._shifted(lane.matcher.pending()))
        self._score_ready(final=True)
        if self._lost_since is not None and t - self._lost_since >= NO_HAND_MIN_S:
            self._no_hand.append((self._lost_since, t))
            self._lost_since = None
        return self.session()

    def session(self) -> SessionResult:
        flags = {code: 0 for code in FLAG_CODES}
        for rep in self._repetitions:
            for f in rep.flags:
                flags[f] = flags.get(f, 0) + 1
        no_hand = list(self._no_hand)
        if self._frames and self._frames_with_hand == 0 and not no_hand:
            no_hand.append((self._first_t or 0.0, self._last_t or 0.0))
        flags["no_hand"] = len(no_hand)
        return SessionResult(
            stroke_id=self.stroke.id,
            repetitions=tuple(self._repetitions),
            hints=tuple(self._hints),
            no_hand_stretches=tuple(no_hand),
            frames=self._frames,
            frames_with_hand=self._frames_with_hand,
            score=session_score(self._repetitions),
            flags=flags,
        )


def _with_flag(rep: RepetitionScore, flag: str, **changes) -> RepetitionScore:
    if flag in rep.flags:
        return replace(rep, **changes)
    score = max(0, rep.score - PENALTY.get(flag, 0))
    return replace(rep, flags=(*rep.flags, flag), score=score, **changes)
