"""The performance of a sample: a stroke definition and a fault turned into contact-point
tracks over time in the tummy box ``(u, v)`` (strokes.md section 1), one per hand,
with human-like variation, and the truth of every repetition."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from coach.core.strokes import Segment, StrokeDefinition
from coach.samples.truth import DURATION_FACTORS, FAULT_FLAGS, RepetitionTruth, SegmentTruth

# -- choreography constants (seconds, tummy-box units) ------------------------------------------
LEAD_IN_S = 0.6  # the hand rests on the first start point before the first repetition
PAUSE_S = 0.3  # still contact at the start and end of each segment
LAND_S = 0.4  # two-hand strokes: the next hand lands this long before it starts moving
TRANSITION_S = (0.8, 1.2)  # lifted move between segments, drawn per transition from the seed
NO_HAND_S = 6.0  # no_hand fault: how long the hand stays out of the picture
TAIL_S = 0.6  # rest after the last repetition
DURATION_JITTER = 0.05  # human-like variation of segment durations: factor in [1 - j, 1 + j]
WOBBLE_BOX = 0.008  # human-like wobble of the contact point while stroking
INCOMPLETE_FRACTION = 0.5  # incomplete fault: fraction of each path performed
OFF_PATH_SHIFT_BOX = 0.45  # off_path fault: smallest shift
OFF_PATH_MAX_SHIFT_BOX = 0.7  # off_path fault: largest shift
OFF_PATH_MARGIN_BOX = 0.05  # off_path fault: how far beyond the stroke's off_path_box to go
JERKY_HZ = 2.0  # jerky fault: stop-and-go cycles per second
LIFT_SCALE = 0.08  # a lifted hand is drawn this much larger (closer to the camera)


# =================================================================================================
# Performance: contact-point tracks over time
# =================================================================================================


@dataclass(frozen=True)
class _Move:
    """One piece of one hand's timeline: the contact point runs along ``path`` in [t0_s, t1_s]."""

    t0_s: float
    t1_s: float
    path: np.ndarray  # (n, 2) uv; n == 1 holds still
    touching: bool
    profile: str = "linear"  # "linear" | "jerky" | "ease" | "timed" (points evenly spaced in time)
    cycles: int = 0  # jerky: number of stop-and-go cycles
    visible: bool = True
    lifted: bool = False  # off the tummy: drawn slightly larger (closer to the camera)
    lift_ends: tuple[float, float] = (0.0, 0.0)  # lifted transitions: lift at start and end


class _Track:
    """One hand's timeline, built by appending moves in time order."""

    def __init__(self, start_uv: np.ndarray) -> None:
        self.moves: list[_Move] = []
        self.t_s = 0.0
        self.pos = np.asarray(start_uv, dtype=np.float64)

    def hold(
        self, until_s: float, touching: bool, visible: bool = True, lifted: bool = False
    ) -> None:
        if until_s > self.t_s + 1e-9:
            self.moves.append(
                _Move(
                    self.t_s,
                    until_s,
                    self.pos[None].copy(),
                    touching,
                    visible=visible,
                    lifted=lifted,
                )
            )
            self.t_s = until_s

    def follow(
        self, path: np.ndarray, duration_s: float, profile: str = "linear", cycles: int = 0
    ) -> None:
        """Stroke along ``path`` in contact."""
        self.moves.append(
            _Move(
                self.t_s,
                self.t_s + duration_s,
                np.asarray(path, float),
                True,
                profile=profile,
                cycles=cycles,
            )
        )
        self.t_s += duration_s
        self.pos = np.asarray(path[-1], dtype=np.float64)

    def lift_to(self, waypoints: Sequence[np.ndarray], duration_s: float) -> None:
        """Lifted transition through ``waypoints`` (not judged)."""
        path = np.vstack([self.pos[None], *[np.asarray(w, float)[None] for w in waypoints]])
        self.moves.append(
            _Move(self.t_s, self.t_s + duration_s, path, False, profile="ease", lifted=True)
        )
        self.t_s += duration_s
        self.pos = path[-1].copy()

    def freeze(self) -> tuple[np.ndarray, list[_Move]]:
        """Start times and moves, lifted transitions told how high their neighbours are."""
        moves = list(self.moves)

        def held(m: _Move | None) -> float:
            return 1.0 if m is not None and m.lifted and len(m.path) == 1 else 0.0

        for j, m in enumerate(moves):
            if m.lifted and len(m.path) > 1:
                before = moves[j - 1] if j > 0 else None
                after = moves[j + 1] if j + 1 < len(moves) else None
                moves[j] = replace(m, lift_ends=(held(before), held(after)))
        return np.array([m.t0_s for m in moves]), moves


def _progress(profile: str, tau: np.ndarray | float, cycles: int) -> np.ndarray:
    """Fraction of the path covered at normalised time ``tau`` in [0, 1]."""
    tau = np.clip(np.asarray(tau, dtype=np.float64), 0.0, 1.0)
    if profile == "ease":
        return tau * tau * (3.0 - 2.0 * tau)
    if profile == "jerky":
        # speed ~ (1 - cos)^2: bursts separated by full stops, ``cycles`` of them.
        x = 2.0 * math.pi * max(cycles, 1) * tau
        total = 1.5 * 2.0 * math.pi * max(cycles, 1)
        return (1.5 * x - 2.0 * np.sin(x) + 0.25 * np.sin(2.0 * x)) / total
    return tau


def _along(path: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Points at fractions ``frac`` of the arc length of ``path`` (n, 2)."""
    if len(path) == 1:
        return np.repeat(path, np.size(frac), axis=0)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    s = np.asarray(frac, dtype=np.float64).reshape(-1) * cum[-1]
    return np.stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])], axis=1)


def _timed(path: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Points of ``path`` (n, 2), whose points are evenly spaced in time, at normalised times
    ``tau`` in [0, 1] (linear between points): a motion with its own speed profile."""
    if len(path) == 1:
        return np.repeat(path, np.size(tau), axis=0)
    idx = np.asarray(tau, dtype=np.float64).reshape(-1) * (len(path) - 1)
    k = np.arange(len(path))
    return np.stack([np.interp(idx, k, path[:, 0]), np.interp(idx, k, path[:, 1])], axis=1)


#: A motion model: ``motion(performed_path, duration_s, segment) -> (timed_path, duration_s)``;
#: the returned points are evenly spaced in time (see :func:`_timed`), start at the performed
#: path's first point and last ``duration_s`` (e.g. a real person's stroke mapped on the path).
MotionModel = Callable[[np.ndarray, float, Segment], tuple[np.ndarray, float]]


@dataclass(frozen=True)
class RestingHand:
    """A second hand that rests in contact while the other one strokes (one-hand strokes).

    ``uv`` is where its contact point rests (tummy-box units: on the doll, beside it, on
    its legs), ``angle_deg`` its finger direction (body frame, clockwise from the head).
    ``swap_after``: after that many repetitions the hands swap roles (the resting hand
    strokes, the first one rests at ``swap_uv``, default ``uv`` mirrored across the body).

    Hands taking turns (the water wheel) have no third hand: there, each hand rests in
    contact between its turns (when there is time), on its own side of the body (the one
    of ``uv`` and ``swap_uv`` nearer its arm), instead of waiting lifted off the tummy.
    """

    uv: tuple[float, float] = (0.25, 0.75)
    angle_deg: float = 20.0
    swap_after: int | None = None
    swap_uv: tuple[float, float] | None = None


def _evaluate_track(
    starts: np.ndarray, moves: list[_Move], times_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One hand at sorted times (n,): contact uv (n, 2), touching (n,), visible (n,), lift (n,)
    where lift (0..1) says how far the hand has risen towards the camera."""
    times = np.asarray(times_s, dtype=np.float64)
    n = len(times)
    uv = np.empty((n, 2))
    touching, visible = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    lift = np.zeros(n)
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(moves) - 1)
    bounds = np.searchsorted(which, np.arange(len(moves) + 1))
    for j, m in enumerate(moves):
        sl = slice(bounds[j], bounds[j + 1])
        if sl.start == sl.stop:
            continue
        tau = np.clip((times[sl] - m.t0_s) / max(m.t1_s - m.t0_s, 1e-9), 0.0, 1.0)
        if m.profile == "timed":
            uv[sl] = _timed(m.path, tau)
        else:
            uv[sl] = _along(m.path, _progress(m.profile, tau, m.cycles))
        touching[sl], visible[sl] = m.touching, m.visible
        if m.lifted and len(m.path) == 1:
            lift[sl] = 1.0
        elif m.lifted:
            a, b = m.lift_ends
            lift[sl] = np.maximum(np.sin(np.pi * tau), a + (b - a) * _progress("ease", tau, 0))
    return uv, touching, visible, lift


# =================================================================================================
# Choreography: stroke definition + fault -> tracks and repetition truth
# =================================================================================================


def performed_path(segment: Segment, fault: str, shift_uv: np.ndarray | None = None) -> np.ndarray:
    """The path a performer with ``fault`` traces for ``segment`` (uv, (n, 2)).

    Closed segments get their first point repeated at the end (a full turn).
    ``reversed`` runs it backwards (same start point for a circle), ``incomplete``
    stops at :data:`INCOMPLETE_FRACTION` of the arc length, ``off_path`` adds ``shift_uv``.
    """
    pts = np.asarray(segment.points, dtype=np.float64)
    if segment.closed:
        pts = np.vstack([pts, pts[:1]])
    if fault == "reversed":
        pts = pts[::-1].copy()
    if fault == "incomplete":
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        stop = INCOMPLETE_FRACTION * cum[-1]
        keep = pts[cum < stop]
        end = _along(pts, np.array([INCOMPLETE_FRACTION]))
        pts = np.vstack([keep, end])
    if shift_uv is not None:
        pts = pts + np.asarray(shift_uv, dtype=np.float64)
    return pts


def _off_path_distance(stroke: StrokeDefinition, shift: np.ndarray) -> float:
    """Smallest, over segments, mean distance from the shifted path to the nearest point of
    any reference path (box widths)."""
    ref = np.vstack([s.points for s in stroke.segments])
    return min(
        float(np.min(np.linalg.norm(s.points[:, None] + shift - ref[None], axis=2), axis=1).mean())
        for s in stroke.segments
    )


def off_path_shift(stroke: StrokeDefinition) -> np.ndarray:
    """The off_path fault's shift (uv): at least :data:`OFF_PATH_SHIFT_BOX`, grown in steps of
    0.05 up to :data:`OFF_PATH_MAX_SHIFT_BOX` until every performed segment stays on average
    more than the stroke's ``off_path_box`` + :data:`OFF_PATH_MARGIN_BOX` from the nearest
    reference path; of 16 directions (never towards the feet, so the hand stays in the
    picture) the one that keeps the segments farthest."""
    need = stroke.tolerances.off_path_box + OFF_PATH_MARGIN_BOX
    best, best_d = np.array([OFF_PATH_SHIFT_BOX, 0.0]), -1.0
    steps = int(round((OFF_PATH_MAX_SHIFT_BOX - OFF_PATH_SHIFT_BOX) / 0.05))
    for size in OFF_PATH_SHIFT_BOX + 0.05 * np.arange(steps + 1):
        for k in range(16):
            ang = 2.0 * math.pi * k / 16.0
            shift = size * np.array([math.cos(ang), math.sin(ang)])
            if shift[1] > 1e-9:  # towards the feet: the wrist would leave the frame
                continue
            d = _off_path_distance(stroke, shift)
            if d > best_d + 1e-9:
                best, best_d = shift, d
        if best_d >= need:
            break
    return best.round(6)


@dataclass
class _Plan:
    """A performance under construction."""

    tracks: list[_Track]
    sides: list[str]  # "right" | "left" per hand
    angles_deg: list[float]  # finger direction per hand, body frame, clockwise from the head
    reps: list[RepetitionTruth] = field(default_factory=list)
    no_hand: list[tuple[float, float]] = field(default_factory=list)


class _Choreographer:
    """Turns a stroke definition and a fault into a :class:`_Plan`."""

    def __init__(
        self,
        stroke: StrokeDefinition,
        fault: str,
        seed: int,
        motion: MotionModel | None = None,
        rest: RestingHand | None = None,
    ) -> None:
        self.stroke = stroke
        self.fault = fault
        self.motion = motion
        self.rest = rest
        self.rng = np.random.default_rng(seed)
        self.shift = off_path_shift(stroke) if fault == "off_path" else None
        self.factor = DURATION_FACTORS.get(fault, 1.0)

    # -- small helpers ----------------------------------------------------------------------------

    def path(self, seg: Segment) -> np.ndarray:
        return performed_path(seg, self.fault, self.shift)

    def duration(self, seg: Segment) -> float:
        jitter = 1.0 + DURATION_JITTER * float(self.rng.uniform(-1.0, 1.0))
        frac = INCOMPLETE_FRACTION if self.fault == "incomplete" else 1.0
        return seg.nominal_s * self.factor * frac * jitter

    def transition(self) -> float:
        return float(self.rng.uniform(*TRANSITION_S))

    def stroke_along(
        self, track: _Track, path: np.ndarray, duration_s: float, seg: Segment | None = None
    ) -> None:
        if self.motion is not None and seg is not None:
            timed, duration_s = self.motion(path, duration_s, seg)
            track.follow(timed, duration_s, "timed")
        elif self.fault == "jerky":
            track.follow(path, duration_s, "jerky", max(2, round(JERKY_HZ * duration_s)))
        else:
            track.follow(path, duration_s)

    def seg_truth(self, idx: int, hand: int, t0: float, t1: float) -> SegmentTruth:
        seg = self.stroke.segments[idx]
        cov = INCOMPLETE_FRACTION if self.fault == "incomplete" else 1.0
        return SegmentTruth(
            idx, hand, t0, t1, t1 - t0, seg.nominal_s, self.fault == "reversed", cov
        )

    def rep_truth(self, index: int, segs: list[SegmentTruth]) -> RepetitionTruth:
        duration = sum(s.duration_s for s in segs)
        nominal = sum(s.nominal_s for s in segs)
        covered = sum(s.coverage * s.nominal_s for s in segs)  # nominal time of what was covered
        pace = {"fast": "too_fast", "slow": "too_slow"}.get(self.fault, "ok")
        return RepetitionTruth(
            index=index,
            hand=segs[0].hand,
            start_s=min(s.start_s for s in segs),
            end_s=max(s.end_s for s in segs),
            duration_s=duration,
            nominal_s=nominal,
            speed_ratio=covered / duration,
            direction="wrong" if self.fault == "reversed" else "ok",
            pace=pace,
            flags=FAULT_FLAGS[self.fault],
            segments=tuple(segs),
        )

    def no_hand_gap(self, plan: _Plan, t_s: float) -> float:
        """Every hand leaves the picture for :data:`NO_HAND_S` from ``t_s``; returns the end."""
        end = t_s + NO_HAND_S
        for tr in plan.tracks:
            last = tr.moves[-1] if tr.moves else None
            if last is not None:
                tr.hold(t_s, last.touching, lifted=last.lifted)
            tr.hold(end, False, visible=False)
        plan.no_hand.append((t_s, end))
        return end

    def wants_gap(self, rep: int, n_reps: int) -> bool:
        return self.fault == "no_hand" and rep == min(1, n_reps - 1)

    # -- strokes ----------------------------------------------------------------------------------

    def plan(self, repetitions: int, duration_s: float | None) -> _Plan:
        """``repetitions`` repetitions, or as many as fit in ``duration_s`` when given."""
        s = self.stroke
        if s.per_hand:
            return self.alternating(repetitions, duration_s)
        roles = list(dict.fromkeys(seg.role for seg in s.segments))
        if s.hands >= 2 and len(roles) >= 2:
            return self.two_roles(roles, repetitions, duration_s)
        return self.one_hand(repetitions, duration_s)

    def one_hand(self, repetitions: int, duration_s: float | None) -> _Plan:
        """One hand: segments in order, lifted transitions between them; consecutive turns of a
        single closed segment (Sun) are continuous."""
        segs = self.stroke.segments
        continuous = len(segs) == 1 and segs[0].closed and self.fault != "incomplete"
        first = self.path(segs[0])
        track = _Track(first[0])
        plan = _Plan([track], ["right"], [-15.0])
        rest = self.rest
        if rest is not None:  # a second hand rests in contact (and may take over)
            plan.tracks.append(_Track(np.asarray(rest.uv, dtype=np.float64)))
            plan.sides.append("left")
            plan.angles_deg.append(float(rest.angle_deg))
            swap_uv = rest.swap_uv if rest.swap_uv is not None else (1.0 - rest.uv[0], rest.uv[1])
        n = repetitions if duration_s is None else 10**6
        if self.wants_gap(0, n):  # a single repetition: the gap comes first
            track.hold(0.3, True)
            self.no_hand_gap(plan, 0.3)
        track.hold(track.t_s + LEAD_IN_S, True)
        for rep in range(n):
            if duration_s is not None and track.t_s >= duration_s:
                break
            if rep > 0 and self.wants_gap(rep, n):
                self.no_hand_gap(plan, track.t_s)
            active = 0
            if rest is not None and rest.swap_after is not None and rep >= rest.swap_after:
                active = 1
            if plan.tracks[active] is not track:  # swap roles: the stroking hand goes to rest
                track.lift_to([np.asarray(swap_uv, dtype=np.float64)], 0.8)
                track.hold(track.t_s + PAUSE_S, True)
                plan.tracks[active].hold(track.t_s, True)
                track = plan.tracks[active]
            done: list[SegmentTruth] = []
            for k, seg in enumerate(segs):
                path = self.path(seg)
                if not continuous or rep == 0 or not np.allclose(track.pos, path[0]):
                    if not np.allclose(track.pos, path[0]):
                        track.lift_to([path[0]], self.transition())
                    track.hold(track.t_s + PAUSE_S, True)
                t0 = track.t_s
                self.stroke_along(track, path, self.duration(seg), seg)
                done.append(self.seg_truth(k, active, t0, track.t_s))
                if not continuous:
                    track.hold(track.t_s + PAUSE_S, True)
            plan.reps.append(self.rep_truth(rep, done))
        track.hold(track.t_s + TAIL_S, True)
        for other in plan.tracks:  # the resting hand stays until the end
            other.hold(track.t_s, True)
        return plan

    def relocate(
        self,
        track: _Track,
        target: np.ndarray,
        land_s: float,
        park: np.ndarray,
        rest: np.ndarray | None = None,
    ) -> None:
        """Lifted move of ``track`` to ``target`` arriving at ``land_s``: via ``park`` (resting
        there lifted) when there is time, else straight through ``park`` in what time is left.
        With ``rest``, the hand waits resting in contact there instead of at ``park``."""
        avail = land_s - track.t_s
        if avail >= 1.6 and rest is not None:
            if not np.allclose(track.pos, rest):
                track.lift_to([rest], 0.7)
            track.hold(land_s - 0.7, True)
            track.lift_to([target], 0.7)
        elif avail >= 1.6:
            track.lift_to([park], 0.7)
            track.hold(land_s - 0.7, False, lifted=True)
            track.lift_to([target], 0.7)
        elif np.allclose(track.pos, target):
            track.hold(land_s, True)
        else:
            track.lift_to([park, target] if avail >= 0.6 else [target], max(avail, 0.15))

    def alternating(self, repetitions: int, duration_s: float | None) -> _Plan:
        """Water wheel: two hands take turns, each lying across the tummy; the next hand lands
        :data:`LAND_S` before it starts, while the previous one is still finishing. One
        repetition is every segment once, by one hand; ``repetitions`` counts per hand."""
        segs = self.stroke.segments
        # Right hand: fingers towards the baby's right (u = 0), arm at u > 1; left hand mirrored.
        parks = [np.array([1.85, 0.5]), np.array([-0.85, 0.5])]
        rests: list[np.ndarray | None] = [None, None]
        if self.rest is not None:  # each hand rests between its turns, on its own side
            uv = np.asarray(self.rest.uv, dtype=np.float64)
            other = self.rest.swap_uv if self.rest.swap_uv is not None else (1.0 - uv[0], uv[1])
            spots = sorted([uv, np.asarray(other, dtype=np.float64)], key=lambda p: -p[0])
            rests = [spots[0], spots[1]]  # the right hand's arm is at u > 1
        first = self.path(segs[0])
        tracks = [_Track(first[0]), _Track(parks[1] if rests[1] is None else rests[1])]
        plan = _Plan(tracks, ["right", "left"], [-80.0, 80.0])
        n = 2 * repetitions if duration_s is None else 10**6
        tempo = min(1.0, self.factor)
        start = LEAD_IN_S
        tracks[0].hold(LEAD_IN_S - LAND_S, True)  # the first hand already rests on the tummy
        if rests[1] is None:
            tracks[1].hold(LEAD_IN_S - LAND_S, False, lifted=True)
        else:
            tracks[1].hold(LEAD_IN_S - LAND_S, True)
        for rep in range(n):
            if duration_s is not None and start >= duration_s:
                break
            h = rep % 2
            if rep > 0 and self.wants_gap(rep, n):
                for k, tr in enumerate(tracks):
                    if not np.allclose(tr.pos, parks[k]):
                        tr.lift_to([parks[k]], 0.6)
                t_gap = max(tr.t_s for tr in tracks)
                start = self.no_hand_gap(plan, t_gap) + 0.8 + LAND_S
            tr = tracks[h]
            done: list[SegmentTruth] = []
            for k, seg in enumerate(segs):
                path = self.path(seg)
                self.relocate(tr, path[0], start - LAND_S * tempo, parks[h], rests[h])
                tr.hold(start, True)
                t0 = tr.t_s
                self.stroke_along(tr, path, self.duration(seg), seg)
                done.append(self.seg_truth(k, h, t0, tr.t_s))
                start = tr.t_s + 0.1  # the other hand starts just after this one ends
                tr.hold(tr.t_s + PAUSE_S * tempo, True)
                if k + 1 < len(segs):
                    start = tr.t_s
            plan.reps.append(self.rep_truth(rep, done))
        for k, tr in enumerate(tracks):
            if not np.allclose(tr.pos, parks[k]):
                tr.lift_to([parks[k]], 0.7)
        end = max(tr.t_s for tr in tracks) + TAIL_S
        for tr in tracks:
            tr.hold(end, False, lifted=True)
        return plan

    def two_roles(self, roles: list[str], repetitions: int, duration_s: float | None) -> _Plan:
        """Sun and Moon: hand 0 draws the first role's closed segment continuously; hand 1
        performs the other segments once per turn, starting when hand 0 is 120 degrees
        behind its start point (the arms cross, the hands never meet)."""
        segs = self.stroke.segments
        main = [i for i, s in enumerate(segs) if s.role == roles[0]]
        other = [i for i, s in enumerate(segs) if s.role != roles[0]]
        moon_first = self.path(segs[other[0]])
        shift = self.shift if self.shift is not None else np.zeros(2)
        wait = np.array([0.0, 1.0]) + shift
        tracks = [_Track(self.path(segs[main[0]])[0]), _Track(wait)]
        plan = _Plan(tracks, ["right", "left"], [-30.0, 30.0])
        sun, moon = tracks
        tempo = min(1.0, self.factor)
        n = repetitions if duration_s is None else 10**6
        sun.hold(LEAD_IN_S, True)
        moon.hold(LEAD_IN_S, False, lifted=True)
        for rep in range(n):
            if duration_s is not None and sun.t_s >= duration_s:
                break
            if rep > 0 and self.wants_gap(rep, n):
                moon.lift_to([wait], 0.6)
                self.no_hand_gap(plan, max(sun.t_s, moon.t_s))
                sun.hold(sun.t_s + PAUSE_S, True)
            done: list[SegmentTruth] = []
            for k in main:
                path = self.path(segs[k])
                if not np.allclose(sun.pos, path[0]):
                    sun.lift_to([path[0]], self.transition())
                    sun.hold(sun.t_s + PAUSE_S, True)
                t0 = sun.t_s
                self.stroke_along(sun, path, self.duration(segs[k]), segs[k])
                done.append(self.seg_truth(k, 0, t0, sun.t_s))
            trigger_t = self._trigger_time(sun, moon_first, t0)
            for k in other:
                path = self.path(segs[k])
                land = max(trigger_t - LAND_S * tempo, moon.t_s + 0.15)
                self.relocate(moon, path[0], land, wait)
                moon.hold(land + LAND_S * tempo, True)
                m0 = moon.t_s
                self.stroke_along(moon, path, self.duration(segs[k]), segs[k])
                done.append(self.seg_truth(k, 1, m0, moon.t_s))
                moon.hold(moon.t_s + PAUSE_S * tempo, True)
            plan.reps.append(self.rep_truth(rep, done))
            if self.fault == "incomplete":
                sun.hold(sun.t_s + PAUSE_S, True)
        moon.lift_to([wait], 0.7)
        end = max(sun.t_s, moon.t_s) + TAIL_S
        sun.hold(end, True)
        moon.hold(end, False, lifted=True)
        return plan

    def _trigger_time(self, sun: _Track, moon_path: np.ndarray, t0: float) -> float:
        """When hand 0 (on its last move, started at ``t0``) is 120 degrees behind the start of
        ``moon_path`` around the circle's centre, in the direction of travel."""
        move = sun.moves[-1]
        centre = move.path[:-1].mean(axis=0) if len(move.path) > 2 else move.path[0]
        taus = np.linspace(0.0, 1.0, 721)
        if move.profile == "timed":
            pts = _timed(move.path, taus)
        else:
            pts = _along(move.path, _progress(move.profile, taus, move.cycles))
        ang = np.arctan2(pts[:, 0] - centre[0], -(pts[:, 1] - centre[1]))  # clockwise from 12
        travel = np.sign(np.sum(np.angle(np.exp(1j * np.diff(np.unwrap(ang)))))) or 1.0
        m0 = moon_path[0]
        target = math.atan2(m0[0] - centre[0], -(m0[1] - centre[1])) - travel * math.radians(120)
        diff = np.abs(np.angle(np.exp(1j * (ang - target))))
        return t0 + float(taus[int(np.argmin(diff))]) * (move.t1_s - move.t0_s)
