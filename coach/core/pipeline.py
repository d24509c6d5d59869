"""The per-frame coaching pipeline, shared by `coach score` and the live page.

Frame -> HandLandmarker -> HandObservation -> ContactSmoother -> TrackPoint (body frame)
-> OnlineMatcher(s) -> Progress -> scoring -> RepetitionScore, and the hint policy
-> Hint. :class:`Coach` wires the stages; every stage keeps its own state and
works from timestamps, so dropped frames are fine.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from coach.core import hints as hint_policy
from coach.core.bodyframe import BodyFrame
from coach.core.matcher import MatcherConfig, OnlineMatcher
from coach.core.offset import OffsetEstimator, corrected
from coach.core.scoring import PENALTY, score_repetition, session_score
from coach.core.smoothing import ContactSmoother
from coach.core.strokes import StrokeDefinition, lane_layout
from coach.core.types import (
    FLAG_CODES,
    Frame,
    FrameStatus,
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
#: An unfinished repetition at the very end of a session is scored only if it covers at
#: least this much of a repetition (nominal time weighted); less is a hand that went back
#: to a start or rested as the recording ended.
FINAL_MIN_COVERAGE = 0.4
#: The hand moved about (its path over the last CANT_FOLLOW_WINDOW_S spans at least
#: CANT_FOLLOW_EXTENT_BOX) while its recent travel along the reference stayed under
#: CANT_FOLLOW_ACTIVITY_BOX, for CANT_FOLLOW_S: the coach says it cannot follow.
CANT_FOLLOW_WINDOW_S = 4.0
CANT_FOLLOW_EXTENT_BOX = 0.4
CANT_FOLLOW_ACTIVITY_BOX = 0.1
CANT_FOLLOW_S = 3.0
#: A hand's recent stroking is its travel along the reference, forgotten with this time
#: constant (one-hand strokes: the hand that strokes is told from a hand that rests).
ACTIVITY_TAU_S = 3.0
#: The coach turns to the other hand once that hand's recent travel along the reference is
#: this much more (box widths) and this many times the followed hand's.
SWITCH_MARGIN_BOX = 0.3
SWITCH_FACTOR = 1.5
#: A hand rests when, over REST_WINDOW_S, the means of the two halves of its path are
#: less than REST_DRIFT_BOX apart and its points spread (rms) less than REST_SPREAD_BOX.
REST_WINDOW_S = 1.0
REST_DRIFT_BOX = 0.05
REST_SPREAD_BOX = 0.08
#: A hand that rested and moves this far from its rest spot while the followed hand is
#: out of view is the stroking hand (the two crossed; the trackers swapped them, or the
#: resting hand was lost under the stroking one and the stroking one found again as new).
DEPART_BOX = 0.2
#: The followed hand is out of view for good once its track has ended, or at once when it
#: went unseen within PASS_OVER_BOX of the other hand's rest spot (about half a hand's
#: width: it passed over the resting hand, and the detector saw one hand there).
PASS_OVER_BOX = 0.4
#: Both hands in view, the trackers swapped them where the stroking hand came within a
#: jitter of the resting one: the followed track now sits within DEPART_BOX of the other
#: hand's rest spot, and the other track, at that spot at most SWAPPED_S ago, has left it
#: by DEPART_BOX.
SWAPPED_S = 0.5
#: A lane not followed keeps its finished segments this long: when the coach turns to it,
#: the ones after the last counted segment count (the stroke it followed before the turn).
HELD_S = 2 * ACTIVITY_TAU_S
#: One-hand strokes: when the coach turns to the other hand in the middle of a repetition
#: and that hand's first segment after the turn is a later one of the same repetition,
#: begun within HANDOVER_S of the last one, the repetition goes on with it. Where the
#: stroking hand passes over the resting one the trackers may swap the two, or lose the
#: stroking hand for seconds and find it again as the other lane's: its repetition was
#: split in two, each flagged incomplete.
HANDOVER_S = 3.0
#: When a stroke is found to be done in the wrong place, the lane reads its recent path
#: again with the shift (back to its last finished segment, at most REPLAY_S): the
#: repetitions done before the shift was known count.
REPLAY_S = 10.0
REPLAY_SHIFT_BOX = 0.15
#: An open segment followed the other way round within this time of finishing it is the
#: hand going back over it (to the next start), not a stroke.
RETRACE_GAP_S = 0.3
#: Two hands with different roles (sun and moon): one hand is the sun at a time. Whole
#: circles two lanes finish that overlap in time by more than this part of the shorter
#: are one circle (the hands crossed and the trackers swapped them, or the moon hand's
#: arc and return were read as a circle): the first one finished counts.
SAME_CIRCLE_OVERLAP = 0.5
#: A circle covered this far is a whole one (tells the sun hand from the moon hand).
FULL_COVERAGE = 0.9
#: A hand just found is followed from this long after it was first seen (the smoothing
#: settles onto it meanwhile: see ContactSmoother).
SETTLE_S = 0.2
#: ... and while it is not known which hand is the sun, a finished circle waits at most
#: this part of a circle's nominal time before it counts.
SUN_WAIT = 1.0


@dataclass(frozen=True)
class FrameResult:
    timestamp_s: float
    observation: HandObservation | None
    track: TrackPoint | None
    progress: Progress | None
    new_repetitions: tuple[RepetitionScore, ...]
    hint: Hint | None  # the hint currently shown (may have been issued earlier)
    new_hint: bool  # the hint was issued on this frame
    status: FrameStatus


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


class _Activity:
    """How much a hand has stroked lately: its net travel along the reference (box
    widths, from the matcher's progress), forgotten with the time constant ``tau_s``.

    A resting hand makes no progress along any path, whatever the jitter of its
    landmarks (net travel, so noise cancels); the hand that strokes gains about
    ``speed * tau_s``. Lifted moves between segments add nothing. With ``give_back``,
    progress the matcher gives up (it moves on to another segment before half of this
    one was done: a jittery hand it cannot follow) is taken back, so that noise does not
    add up (whether the coach follows the hand at all).
    """

    def __init__(self, tau_s: float = ACTIVITY_TAU_S, give_back: bool = False) -> None:
        self.tau_s = tau_s
        self.give_back = give_back
        self.level_box = 0.0
        self._key: tuple[int, int, bool] | None = None
        self._fraction = 0.0
        self._length_box = 0.0
        self._seen: tuple[int, int, bool] | None = None  # the last key, across gaps
        self._t: float | None = None

    def update(self, p: Progress | None, stroke: StrokeDefinition, t: float) -> None:
        gain = 0.0
        if p is not None and p.segment is not None:
            key = (p.repetition, p.segment, p.reversed)
            length = stroke.segments[p.segment].length_box
            if key == self._key:
                gain = (p.fraction - self._fraction) * length
            elif self.give_back and self._seen not in (None, key) and self._fraction < 0.5:
                gain = -self._fraction * self._length_box  # given up: it was not travel
            self._key, self._seen, self._fraction, self._length_box = key, key, p.fraction, length
        else:
            self._key = None
        decay = 1.0 if self._t is None else math.exp(-max(t - self._t, 0.0) / self.tau_s)
        self._t = t
        self.level_box = self.level_box * decay + gain

    def restart(self) -> None:
        """The matcher started over (its recent path read again with a new shift): its
        next progress is not travel from the last (a fraction back at the start of the
        same segment counted as the hand going back, below zero, and a lane with no hand
        then looked more active than the one that strokes: the coach turned to it)."""
        self._key = self._seen = None


class _Lane:
    """One matcher following one hand through some of the stroke's segments.

    Two-hand strokes give each lane a hand slot (``slot``); one-hand strokes give each
    lane a tracked hand (``ident``), and the coach follows the lane that strokes."""

    def __init__(
        self, stroke: StrokeDefinition, slot: int, segments: tuple[int, ...], cfg: MatcherConfig
    ):
        self.slot = slot
        self.stroke = stroke
        self.segments = segments
        # Whether it follows the stroke's first role (the sun's circle; every lane of a
        # stroke whose hands do the same).
        self.main = stroke.segments[segments[0]].role == stroke.segments[0].role
        self.matcher = OnlineMatcher(stroke, segments, cfg)
        self.offset = OffsetEstimator(stroke, segments)
        self.pending: dict[int, list[SegmentRecord]] = {}
        self.full = 0  # segments completed all the way (tells the sun hand from the moon hand)
        self.ident: int | None = None  # the tracked hand this lane follows (one-hand strokes)
        self.last_uv: np.ndarray | None = None
        self.rest_uv: np.ndarray | None = None  # where this lane's hand last rested
        self.near_rest_s = -math.inf  # when its hand was last within DEPART_BOX of rest_uv
        # Where its hand rests now: found resting there, and not yet DEPART_BOX away.
        self.still_uv: np.ndarray | None = None
        self.seen_s = -math.inf  # when its hand was last seen (not held by the tracker)
        self.ident_since = -math.inf  # when it began to follow that hand
        self.held: deque[SegmentRecord] = deque()  # finished while not followed (HELD_S)
        # Two hands with different roles: whole circles finished while it is not known
        # which hand is the sun (not counted yet), and the end of the last one that was.
        self.waiting: list[SegmentRecord] = []
        self.settled_until = -math.inf
        self.shift = np.zeros(2)  # the shift the matcher's state was built with
        self.scale = 1.0  # ... and the scale (a box drawn too big: offset.py)
        self.rep_base = 0  # added to the matcher's repetition numbers (it may start over)
        self.done_until = -math.inf  # end of this lane's last finished segment
        self.last_record: SegmentRecord | None = None  # the last one collected
        self.rep_alias: dict[int, int] = {}  # repetition numbers a retrace started -> own
        # The records in `pending` by the matcher's (repetition, segment), for its revisions.
        self.reported: dict[tuple[int, int], SegmentRecord] = {}
        self._next_rep = 0  # one more than the highest repetition number given out
        self.scored_until = -math.inf  # end of its last repetition scored
        self.activity = _Activity()
        self.following = _Activity(give_back=True)  # for "I can't follow your hand"
        self.path: deque[tuple[float, float, float]] = deque()  # (t, u, v), for smoothness

    def update(
        self,
        uv: np.ndarray | None,
        t: float,
        place: bool = True,
        noise: float = 0.0,
        jitter_box: float = 0.0,
    ) -> Progress | None:
        """Follow the hand; a stroke done in the wrong place is followed shifted back, and
        its distance from the path includes the shift (so it is flagged off_path).
        ``place``: search for such a shift (not for a hand the coach does not follow);
        ``noise``: how jittery the hand's landmarks are (0..1), ``jitter_box`` by how much
        (std, box widths), for the matcher."""
        if uv is None:
            return self.matcher.update(None, t)
        self.last_uv = uv
        fitted_before = self.offset.fitted
        if not place:
            # A hand the coach does not follow (it rests) is not searched for a misplaced
            # stroke: its still point would fit some shift of the path, and that shift
            # would hold the hand off the path once it starts stroking.
            if not self.offset.empty:
                self.offset.reset()
            shift = self.offset.offset
        else:
            # Hands taking turns (the water wheel): not the points of a hand that rests
            # between its turns. It rests where it likes, beside the path; that spot sits
            # on some shift of the path and its many points would outweigh the stroke's
            # (a shift that puts it on the path, and the hand's move from there to the
            # start read as a stroke backwards). Elsewhere the hand that strokes rests
            # on the path (and a slow stroke looks still): its points tell a bias.
            idle = self.stroke.per_hand and self.still_uv is not None
            shift = self.offset.update(None if idle else uv, t)
        scale = self.offset.scale
        replayed: tuple[SegmentRecord, ...] = ()
        moved = self.offset.change_box(shift, scale, self.shift, self.scale) >= REPLAY_SHIFT_BOX
        # Repetitions not scored yet are read again from their start when the shift
        # moves: those read before the first search (they wait for it, not scored:
        # :meth:`Coach._provisional`), and any begun less than REPLAY_S ago (a line fits
        # any shift along itself: the bias across a partial I is found once the hand has
        # turned the corner). Two hands with different roles: their circles wait anyway
        # (:meth:`Coach._settle`).
        first = self.offset.fitted and not fitted_before
        roles = _gives_roles(self.stroke)
        again = (
            bool(self.pending) and not roles and (first or self._pending_since() >= t - REPLAY_S)
        )
        # (A replay reads back REPLAY_S at most: not in the middle of a segment begun before
        # that, a slow circle, whose start it would lose: the circle was then counted from
        # its middle on, and the last one cut short by the end of the session.)
        if (
            moved
            and (again or not self.pending)
            and (not roles or (self.main and place))
            and not self.matcher.segment_start_s < t - REPLAY_S
        ):
            # (Otherwise not in the middle of a repetition: starting over after its first
            # segments would split it. Two hands with different roles: the circle lanes
            # only; their circles not yet counted are read again in place of the first
            # reading (:meth:`_replay`). The moon's arc is judged for its direction only.)
            if again:
                self._forget_pending()
            since = self.scored_until if again else None
            replayed = self._replay(shift, scale, t, noise, jitter_box, since=since)
        if moved or not self.pending:
            self.shift, self.scale = shift.copy(), scale
        p = self.matcher.update(corrected(uv, shift, scale), t, noise, jitter_box)
        self.activity.update(p, self.stroke, t)
        self.following.update(p, self.stroke, t)
        if p is None:
            return p
        completed = self._numbered(replayed + p.completed)
        revised = self._numbered(p.revised)
        if self.rep_base:
            p = replace(p, repetition=p.repetition + self.rep_base)
        if not self.offset.engaged:
            if completed != p.completed or revised != p.revised:
                p = replace(p, completed=completed, revised=revised)
            return p
        extra = float(np.linalg.norm(shift))
        return replace(
            p,
            distance_box=p.distance_box + extra,
            completed=self._shifted(completed),
            revised=self._shifted(revised),
        )

    def _pending_since(self) -> float:
        """The start of the earliest segment of the repetitions not scored yet."""
        return min((r.start_s for recs in self.pending.values() for r in recs), default=math.inf)

    def ended(self, records: list[SegmentRecord]) -> bool:
        """Whether a repetition's records reach its last segment."""
        return any(r.segment == self.segments[-1] for r in records)

    def take(self, rep: int) -> list[SegmentRecord]:
        """Remove repetition ``rep`` from the ones not scored yet; returns its records."""
        self.reported = {k: r for k, r in self.reported.items() if r.repetition != rep}
        return self.pending.pop(rep)

    def _forget_pending(self) -> None:
        """Drop the repetitions not scored yet: they are read again with a new shift."""
        self.pending.clear()
        self.reported.clear()
        self.rep_alias.clear()
        self.last_record = None

    def _replay(
        self,
        shift: np.ndarray,
        scale: float,
        t: float,
        noise: float,
        jitter_box: float,
        since: float | None = None,
    ) -> tuple[SegmentRecord, ...]:
        """Start the matcher over and feed it this lane's recent path (after ``since``,
        by default its last finished segment; at most REPLAY_S) corrected by ``shift``
        and ``scale`` (:func:`corrected`): the stroke it could not follow before the
        shift was known is followed now. Returns the segments that finishes.

        Circles still waiting to be counted (two hands with different roles, the sun not
        known yet) are read again too: they were read without the shift."""
        since = max(self.done_until if since is None else since, t - REPLAY_S)
        if self.waiting:
            since = max(self.settled_until, t - REPLAY_S)
            self.full -= sum(r.coverage >= FULL_COVERAGE for r in self.waiting)
            self.waiting.clear()
        self.rep_base = self._next_rep
        self.matcher.reset()
        # (Not ``following``: the stroke the lane follows now that it could not before the
        # shift was known is progress it gains, and says the coach follows the hand.)
        self.activity.restart()
        out: list[SegmentRecord] = []
        for ts, u, v in self.path:
            if ts > since:
                uv = corrected(np.array([u, v]), shift, scale)
                q = self.matcher.update(uv, ts, noise, jitter_box)
                if q is not None:
                    out.extend(q.completed)
        return tuple(out)

    def _numbered(self, records: tuple[SegmentRecord, ...]) -> tuple[SegmentRecord, ...]:
        """Records with repetition numbers that go on across a matcher start-over."""
        if self.rep_base:
            records = tuple(replace(r, repetition=r.repetition + self.rep_base) for r in records)
        for r in records:
            self._next_rep = max(self._next_rep, r.repetition + 1)
            self.done_until = max(self.done_until, r.end_s)
        return records

    def follow(self, ident: int | None, t: float, found_again: bool = False) -> None:
        """Follow the tracked hand ``ident`` (None: no hand) from ``t`` on.

        The spot where the lane's hand last rested is kept while the lane has no hand and
        when it takes a hand as its own hand found again (``found_again``): a resting hand
        the detector loses under the stroking one keeps its spot, so the track that leaves
        that spot is told from it (:meth:`Coach._take_departing_hand`)."""
        if not (ident is None or found_again):
            self.rest_uv, self.near_rest_s = None, -math.inf
        if ident != self.ident:
            self.still_uv = None
        self.ident, self.ident_since = ident, t

    def finish(self, t: float) -> tuple[SegmentRecord, ...]:
        return self._shifted(self._numbered(self.matcher.finish(t)))

    def report_pending(self) -> tuple[SegmentRecord, ...]:
        """The segment its hand finished that the matcher has not reported yet (it waits
        to see the hand clearly move on), reported now."""
        return self._shifted(self._numbered(self.matcher.report_pending()))

    def _shifted(self, records: tuple[SegmentRecord, ...]) -> tuple[SegmentRecord, ...]:
        extra = float(np.linalg.norm(self.offset.offset))
        if extra == 0 or not self.offset.engaged:  # tracking bias is not a mistake
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
        self.tracker = ContactSmoother(body_frame, stroke.contact, max_hands=2, settle_s=SETTLE_S)
        self.reset()

    # -- lanes: which matcher follows which hand ------------------------------------------

    def _make_lanes(self) -> list[_Lane]:
        # which hand slots follow which segments: see coach.core.strokes.lane_layout
        return [_Lane(self.stroke, s, segs, self._cfg) for s, segs in lane_layout(self.stroke)]

    def reset(self) -> None:
        self.tracker.reset()
        self._lanes = self._make_lanes()
        self._active = self._lanes[0]
        # Two-hand strokes: the tracked hand each of the coach's two hands follows, and
        # where it was last seen (:meth:`_held_hands`).
        self._hand_ids: list[int | None] = [None, None]
        self._hand_uv: list[np.ndarray | None] = [None, None]
        self._counted_until = -math.inf  # end of the last segment collected
        # One-hand strokes: the unfinished repetition of the lane the coach last turned
        # from, (lane, repetition), while another lane may carry it on (HANDOVER_S).
        self._handover: tuple[_Lane, int] | None = None
        self._stuck_since: float | None = None
        self._repetitions: list[RepetitionScore] = []
        self._side_records: list[tuple[int, SegmentRecord]] = []  # (hand slot, record)
        self._main_counted: deque[SegmentRecord] = deque()  # circles counted (_same_circle)
        self._known_sun: _Lane | None = None  # the sun hand's circle lane, last known
        self._hints: list[Hint] = []
        self._hint_state = hint_policy.HintState()
        self._current_hint: Hint | None = None
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
        self._active = self._lanes[0]
        self._known_sun = None
        self._hand_ids, self._hand_uv = [None, None], [None, None]

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
        # Any hand seen counts: where two hands overlap the detector often sees one, and
        # which of them is the trackers' first is happenstance (a gap only when the first
        # was missed flagged a circle lifted or not by that chance). A hand just found,
        # not followed until it has settled, is in view: no gap, no "lifted".
        self._note_hand(self.tracker.sighted, t)

        points, noise, jitter, seen = self._lane_points(track, t)
        progresses: list[Progress | None] = []
        sun = self._sun_lane()
        for lane, uv, w, j, fresh in zip(self._lanes, points, noise, jitter, seen, strict=True):
            place = self._places(lane, sun)
            progresses.append(lane.update(uv, t, place=place, noise=w, jitter_box=j))
            if uv is not None and fresh:
                # (Only where the hand was seen: the point the trackers hold for a hand
                # missed for a moment would read as the hand stopping, then jumping on.)
                lane.path.append((t, float(uv[0]), float(uv[1])))
                spot = None
                if lane.ident is not None or self.stroke.per_hand:
                    spot = _rest_spot(lane.path, t, lane.ident_since)
                if spot is not None:
                    lane.still_uv = spot
                elif lane.still_uv is not None and _distance(lane.still_uv, uv) >= DEPART_BOX:
                    lane.still_uv = None  # it moves on
                if spot is not None and lane.ident is not None:
                    lane.rest_uv = spot
                if lane.rest_uv is not None and _distance(lane.rest_uv, uv) < DEPART_BOX:
                    lane.near_rest_s = t
            while lane.path and t - lane.path[0][0] > PATH_MEMORY_S:
                lane.path.popleft()
        self._follow_stroking_hand()
        completed: list[SegmentRecord] = []
        for lane, p in zip(self._lanes, progresses, strict=True):
            if p is not None and self._counts(lane):
                completed.extend(self._collect(lane, p.completed))
                self._revise(lane, p.revised)
            elif p is not None:
                lane.held.extend(p.completed)
            while lane.held and t - lane.held[0].end_s > HELD_S:
                lane.held.popleft()
        completed.extend(self._settle(t))
        sun = self._sun_lane()  # (this frame's circles are in)
        if sun is not None:  # the live hints follow the sun hand's circle
            self._active = sun
        active = self._lanes.index(self._active)
        progress = progresses[active]
        if sun is None and self._known_sun is None and self._role_lanes():
            # Which hand is the sun is not known yet: the other hand's arc read along the
            # circle, or the sun hand's circle along the arc, says nothing about either.
            # (The other hand catching up, the hand that was the sun stays it.)
            progress = None
        if track is not None and self.stroke.hands == 1 and points[active] is not None:
            uv = points[active]
            track = replace(track, uv=uv, xy=self.body_frame.to_xy(uv))
        new_reps = self._score_ready(final=False)
        self._last_progress = progress

        sig = hint_policy.HintSignals(
            timestamp_s=t,
            hand_seen=track is not None,
            progress=progress,
            completed=tuple(completed),
            scored=new_reps,
            cant_follow=self._cannot_follow(t, track is not None),
        )
        self._hint_state, hint = hint_policy.decide(
            self._hint_state, sig, self.stroke, self._policy
        )
        if hint is not None:
            self._hints.append(hint)
            self._current_hint = hint
        status: FrameStatus
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

    def _lane_points(
        self, track: TrackPoint | None, t: float
    ) -> tuple[list[np.ndarray | None], list[float], list[float], list[bool]]:
        """Each lane's hand point this frame (None: its hand is not in view), how jittery
        that hand's landmarks are (0..1, and their jitter in box widths), and whether the
        hand was seen this frame (or its point is held over a short miss).

        Two-hand strokes: lane ``slot``'s hand slot. One-hand strokes: see
        :meth:`_hand_slots`."""
        n = len(self._lanes)
        if track is None:
            for lane in self._lanes:
                lane.follow(None, t)
            return [None] * n, [0.0] * n, [0.0] * n, [False] * n
        hands, noise, jitter = track.hands_uv, track.hands_noise, track.hands_jitter_box
        if self.stroke.hands != 1:
            held = self._held_hands(hands)
            slots = [held[lane.slot] for lane in self._lanes]
        else:
            slots = self._hand_slots(hands, t)
        seen = self.tracker.seen
        return (
            [None if i is None else hands[i] for i in slots],
            [0.0 if i is None else float(noise[i]) for i in slots],
            [0.0 if i is None else float(jitter[i]) for i in slots],
            [i is not None and i < len(seen) and seen[i] for i in slots],
        )

    def _held_hands(self, hands: np.ndarray) -> list[int | None]:
        """Two-hand strokes: the trackers' slot of each of the coach's two hands (None: not
        in view). The coach's hand keeps its tracked hand while that is tracked, whatever
        its place in the trackers' slots: when one hand's track ends, the other's moves up
        a slot, and following slots would hand each lane the other hand in the middle of
        its stroke (the sun hand's circle read half by each hand's lane). A hand that
        comes into view is the coach's free hand whose hand was last seen nearest (its own
        hand found again)."""
        ids = self.tracker.slot_ids
        mine = self._hand_ids
        for k, ident in enumerate(mine):
            if ident not in ids:
                mine[k] = None
        for slot, ident in enumerate(ids):
            free = [k for k, own in enumerate(mine) if own is None]
            if ident in mine or not free:
                continue
            k = min(free, key=lambda k: _distance(self._hand_uv[k], hands[slot]))
            mine[k] = ident
        out = [None if ident is None else ids.index(ident) for ident in mine]
        for k, slot in enumerate(out):
            if slot is not None:
                self._hand_uv[k] = hands[slot]
        return out

    def _hand_slots(self, hands: np.ndarray, t: float) -> list[int | None]:
        """One-hand strokes: each lane's hand slot (None: its hand is not in view).

        Each tracked hand keeps its lane while it is tracked; a hand that comes into view
        takes a free lane, the one whose hand was last seen nearest (a hand that was lost
        and is found again gets its own lane back)."""
        ids = self.tracker.slot_ids
        for lane in self._lanes:
            if lane.ident not in ids:
                lane.follow(None, t)
        for slot, ident in enumerate(ids):
            if any(lane.ident == ident for lane in self._lanes):
                continue
            free = [lane for lane in self._lanes if lane.ident is None]
            if free:
                uv = hands[slot]
                near = min(free, key=lambda lane: _distance(lane.last_uv, uv))
                # Taken as its own hand found again (its rest spot is kept): a hand come
                # into view, or the track the followed lane left where the hands crossed.
                near.follow(ident, t, found_again=True)
        for lane in self._lanes:
            if lane.ident is not None and self.tracker.seen[ids.index(lane.ident)]:
                lane.seen_s = t
        self._take_departing_hand(hands, t)
        return [ids.index(lane.ident) if lane.ident is not None else None for lane in self._lanes]

    def _take_departing_hand(self, hands: np.ndarray, t: float) -> None:
        """When the stroking hand passes over the resting one, the trackers may lose it and
        carry on with the resting hand's track, which then moves off along the stroke.
        The followed lane, out of a hand of its own, takes that track once it leaves its
        rest spot by DEPART_BOX: the lane that follows the stroke keeps the stroke (and
        the resting lane waits for its hand to be found again at its spot). So too when
        the resting hand was lost under the stroking one and the stroking one, found
        again as a new track, was taken for it (the resting lane keeps its spot).

        Only when the followed hand went unseen over the resting one (PASS_OVER_BOX) or
        its track has ended (a hand missed for a frame elsewhere is not lost), and only a
        track that was still at its rest spot when the followed hand was last seen: a
        hand already away from its spot by then was moving on its own (it may be the
        stroking hand the coach has not turned to yet).

        Both hands seen, the trackers may still swap them where the stroking hand comes
        within a jitter of the resting one (a Sun circle over it, the U's start beside
        it): the followed track then stays on the rest spot and the other track carries
        the stroke on. The lanes trade tracks when the followed track sits within
        DEPART_BOX of the other lane's rest spot while that lane's track, there at most
        SWAPPED_S ago, leaves it by DEPART_BOX (the resting lane keeps its spot)."""
        active = self._active
        ids = self.tracker.slot_ids
        seen = self.tracker.seen
        mine = None if active.ident is None else ids.index(active.ident)
        for lane in self._lanes:
            if lane is active or lane.ident is None or lane.rest_uv is None:
                continue
            slot = ids.index(lane.ident)
            departed = _distance(lane.rest_uv, hands[slot]) >= DEPART_BOX
            if mine is not None and seen[mine]:
                # Both hands seen, but the trackers swapped them where they met: the
                # followed track now sits on the other hand's rest spot, and the other
                # track, at that spot a moment ago, moves off from it along the stroke.
                swapped = (
                    seen[slot]
                    and departed
                    and _distance(lane.rest_uv, hands[mine]) < DEPART_BOX
                    and t - lane.near_rest_s <= SWAPPED_S
                )
                if swapped:
                    mine_id = active.ident
                    active.follow(lane.ident, t)
                    lane.follow(mine_id, t, found_again=True)
                    return
                continue
            over = active.last_uv is not None and (
                _distance(lane.rest_uv, active.last_uv) < PASS_OVER_BOX
            )
            lost = active.ident is None or over
            if seen[slot] and departed and lost and lane.near_rest_s >= active.seen_s:
                active.follow(lane.ident, t)
                lane.follow(None, t)
                return

    def _follow_stroking_hand(self) -> None:
        """One-hand strokes: follow the other hand once it clearly strokes more (its
        recent travel along the reference); never from detector scores or handedness."""
        if self.stroke.hands != 1:
            return
        level = self._active.activity.level_box
        for lane in self._lanes:
            other = lane.activity.level_box
            # The followed hand has come to rest (its lane found it still, and it has not
            # moved off) while the other hand, not resting, strokes now: the hands have
            # swapped roles. What the resting hand stroked before says nothing of now:
            # its travel fades over ACTIVITY_TAU_S, and the coach would follow a hand at
            # rest (hints on its stalled stroke) while the other strokes.
            swapped = (
                lane is not self._active
                and self._active.still_uv is not None
                and lane.still_uv is None
                and other > SWITCH_MARGIN_BOX
            )
            if swapped or other > max(level * SWITCH_FACTOR, level + SWITCH_MARGIN_BOX):
                # A segment the hand it turns from finished counts, though not reported
                # yet (the trackers may have swapped the hands as the stroke passed over
                # the resting one: the followed track left the circle for the rest spot).
                self._collect(self._active, self._active.report_pending())
                self._handover = self._unfinished(self._active)
                self._active, level = lane, other
                # What it stroked before the coach turned to it, after what already counted.
                held = [r for r in lane.held if r.start_s >= self._counted_until]
                lane.held.clear()
                self._collect(lane, tuple(held))

    def _cannot_follow(self, t: float, seen: bool) -> bool:
        """The followed hand has moved about (its last CANT_FOLLOW_WINDOW_S span at least
        CANT_FOLLOW_EXTENT_BOX) without following any part of the stroke, for
        CANT_FOLLOW_S: the coach cannot follow it (a dim, small or blurred picture, the
        hand half out of view), or it does something else. Never silent while a hand
        moves: the page and the report say so in plain words."""
        lane = self._active
        recent = [(u, v) for ts, u, v in lane.path if t - ts <= CANT_FOLLOW_WINDOW_S]
        moving = False
        if seen and len(recent) >= 2:
            uv = np.asarray(recent)
            moving = float(np.hypot(*np.ptp(uv, axis=0))) >= CANT_FOLLOW_EXTENT_BOX
        # Two hands: the coach follows the stroke when any of its lanes does.
        lanes = [lane] if self.stroke.hands == 1 else self._lanes
        following = max(other.following.level_box for other in lanes)
        if not moving or following >= CANT_FOLLOW_ACTIVITY_BOX:
            self._stuck_since = None
            return False
        if self._stuck_since is None:
            self._stuck_since = t
        return t - self._stuck_since >= CANT_FOLLOW_S

    def _places(self, lane: _Lane, sun: _Lane | None) -> bool:
        """Whether this lane searches for a stroke done in the wrong place: a lane that
        counts, and for two hands with different roles, once it is known which hand is
        the sun (``sun``, :meth:`_sun_lane`), only the sun hand's circle lane and the
        other hand's arc lane (the moon's arc with its way back fits some shift of the
        circle: it would then be followed as a circle of its own)."""
        if not self._counts(lane):
            return False
        if sun is None:
            return True
        return (lane.slot == sun.slot) == lane.main

    def _counts(self, lane: _Lane) -> bool:
        """Whether this lane's segments count: one-hand strokes count the followed hand's
        only, so a hand resting on the doll never gives a hint, a flag or a repetition."""
        return self.stroke.hands != 1 or lane is self._active

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

    def _collect(
        self, lane: _Lane, records: tuple[SegmentRecord, ...]
    ) -> tuple[SegmentRecord, ...]:
        """Take a lane's finished segments into its repetitions; returns those that are
        strokes (not the hand going back over a segment), for the hints."""
        strokes: list[SegmentRecord] = []
        roles = self._role_lanes()
        for rec in records:
            self._counted_until = max(self._counted_until, rec.end_s)
            key = (rec.repetition, rec.segment)
            if rec.repetition in lane.rep_alias:
                rec = replace(rec, repetition=lane.rep_alias[rec.repetition])
            last, lane.last_record = lane.last_record, rec
            if last is not None and _retrace(last, rec, self.stroke):
                # The matcher may have started a repetition with it: what follows belongs
                # to the repetition the hand was doing.
                if rec.repetition != last.repetition:
                    lane.rep_alias[rec.repetition] = last.repetition
                lane.last_record = last
                continue
            if _carried_back(rec, self.stroke):
                strokes.append(rec)
                continue
            if not lane.main:
                # The other hand's move (the moon's arc) is judged for its direction only
                # (in the repetition it goes with): the hints say no more of it either.
                self._side_records.append((lane.slot, rec))
                continue
            if rec.coverage >= FULL_COVERAGE:
                lane.full += 1
            if roles:  # which hand's circle this is is told in _settle
                lane.waiting.append(rec)
                continue
            if rec.repetition not in lane.pending:
                rec = self._carry_on(lane, rec)
            strokes.append(rec)
            lane.pending.setdefault(rec.repetition, []).append(rec)
            lane.reported[key] = rec
        return tuple(strokes)

    def _unfinished(self, lane: _Lane) -> tuple[_Lane, int] | None:
        """The lane's newest repetition, when it waits for segments still to come."""
        if not lane.pending:
            return None
        rep = max(lane.pending)
        return None if lane.ended(lane.pending[rep]) else (lane, rep)

    def _carry_on(self, lane: _Lane, rec: SegmentRecord) -> SegmentRecord:
        """One-hand strokes: ``rec`` starts a new repetition in ``lane``. When it goes on
        with the unfinished repetition of the lane the coach turned from (a later
        segment, begun within HANDOVER_S of that repetition's last), that repetition's
        segments move to this lane, under ``rec``'s repetition number (HANDOVER_S)."""
        handover, self._handover = self._handover, None
        if handover is None:  # (set only for one-hand strokes: _follow_stroking_hand)
            return rec
        src, rep = handover
        recs = src.pending.get(rep)
        if src is lane or not recs:
            return rec
        order = lane.segments
        last = max(recs, key=lambda r: r.end_s)
        later = order.index(rec.segment) > max(order.index(r.segment) for r in recs)
        if not later or not 0.0 <= rec.start_s - last.end_s <= HANDOVER_S:
            return rec
        src.take(rep)
        if src.last_record in recs:
            src.last_record = None
        moved = [replace(r, repetition=rec.repetition) for r in recs]
        lane.pending[rec.repetition] = moved
        for r in moved:
            lane.reported[(r.repetition, r.segment)] = r
        return rec

    def _settle(self, t: float, final: bool = False) -> tuple[SegmentRecord, ...]:
        """Two hands with different roles: the circles the lanes finish wait while it is
        not known which hand is the sun (the moon hand's arc and its way back, or the
        sun's circle read before a tracking bias was known, may finish circles too).
        Once it is, the waiting circles count in the order they finished: the sun hand's
        only, and a circle another lane counted already once. A circle waits at most
        SUN_WAIT of a circle's nominal time (by then the sun hand drawing whole circles
        would have finished one), and no longer than the session: then a hand that was
        the sun stays it (the other caught up: a tie says no more), and when neither
        ever was, the first finished of overlapping circles counts."""
        if not self._role_lanes():
            return ()
        sun = self._sun_lane()
        until = math.inf
        if sun is not None:
            self._known_sun = sun
        else:
            sun = self._known_sun
            if not final:
                circle = self.stroke.segments[self._lanes[0].segments[0]]
                until = t - SUN_WAIT * circle.nominal_s
        searched = any(lane.offset.fitted for lane in self._lanes)
        if not (final or searched) and any(
            lane.waiting and self._searching(lane) for lane in self._lanes
        ):
            # No lane's offset search is done yet: the circles, read without a bias it may
            # find (a quarter of the box), are read again then (a fast sun's first circle
            # counted 0.1 s before the search, read short and a circle late: it stood for
            # both circles of the session). (Only the first: a lane that starts searching
            # again when the roles are in doubt does not hold the others' circles.)
            return ()
        waiting = sorted(
            ((rec.end_s, i, rec) for i, lane in enumerate(self._lanes) for rec in lane.waiting),
            key=lambda x: (x[0], x[1]),
        )
        strokes: list[SegmentRecord] = []
        for end_s, i, rec in waiting:
            if end_s > until:
                break
            lane = self._lanes[i]
            lane.waiting.remove(rec)
            lane.settled_until = max(lane.settled_until, end_s)
            if sun is not None and lane is not sun:
                continue  # the other hand is the sun: this is the moon's arc read as a circle
            if sun is None and self._outdone(rec, lane):
                continue  # the other hand drew this circle more fully: it is the sun's
            if self._same_circle(rec):
                continue  # another lane counted this circle already
            strokes.append(rec)
            lane.pending.setdefault(rec.repetition, []).append(rec)
        return tuple(strokes)

    def _revise(self, lane: _Lane, records: tuple[SegmentRecord, ...]) -> None:
        """A segment the matcher now reads the other way round replaces the record it
        reported for it, while that record's repetition is not scored yet (the hints have
        had their say: they are not told)."""
        for rec in records:
            old = lane.reported.get((rec.repetition, rec.segment))
            recs = lane.pending.get(old.repetition, []) if old is not None else []
            at = next((i for i, r in enumerate(recs) if r is old), None)
            if old is None or at is None:
                continue
            new = replace(rec, repetition=old.repetition)
            recs[at] = new
            lane.reported[(rec.repetition, rec.segment)] = new
            if lane.last_record is old:
                lane.last_record = new

    def _role_lanes(self) -> bool:
        """Whether the stroke gives its hands different roles (sun and moon)."""
        return _gives_roles(self.stroke)

    def _sun_lane(self) -> _Lane | None:
        """Two hands with different roles: the circle lane of the hand doing the stroke's
        first role (the sun), the one that has finished the most whole circles; None
        before one hand has more than the other (or for other strokes)."""
        if not self._role_lanes():
            return None
        mains = [lane for lane in self._lanes if lane.segments == self._lanes[0].segments]
        best = max(mains, key=lambda lane: lane.full)
        if sum(lane.full == best.full for lane in mains) > 1:
            return None
        return best

    def _outdone(self, rec: SegmentRecord, lane: _Lane) -> bool:
        """Two hands with different roles, neither known as the sun: whether another
        lane's circle still waiting overlaps ``rec`` (by more than SAME_CIRCLE_OVERLAP of
        the shorter) and covers more of the circle. The moon hand's arc with its way to
        and from its rest may read as a circle too, but a less complete one than the sun
        hand's going all the way round at the same time; the first finished of the two is
        happenstance."""
        return any(
            other is not lane and r.coverage > rec.coverage and rec.overlap(r) > SAME_CIRCLE_OVERLAP
            for other in self._lanes
            for r in other.waiting
        )

    def _same_circle(self, rec: SegmentRecord) -> bool:
        """Two hands with different roles: whether a lane already counted a segment that
        overlaps ``rec`` by more than SAME_CIRCLE_OVERLAP of the shorter (one hand is the
        sun at a time; and a lane's own circles follow one another, so one of its own that
        overlaps is the same circle read again: the matcher's best reading at the end of
        a session may be one that had not finished the turn it counted). Otherwise
        ``rec`` is noted as counted."""
        counted = self._main_counted
        while counted and rec.start_s - counted[0].end_s > PATH_MEMORY_S:
            counted.popleft()
        if any(rec.overlap(r) > SAME_CIRCLE_OVERLAP for r in counted):
            return True
        counted.append(rec)
        return False

    def _score_ready(self, final: bool) -> tuple[RepetitionScore, ...]:
        """Score every repetition whose last segment is in, or that a later one overtook."""
        out: list[RepetitionScore] = []
        for lane in self._lanes:
            if not lane.pending or (self._provisional(lane) and not final):
                continue
            newest = max(lane.pending)
            for rep in sorted(lane.pending):
                recs = lane.pending[rep]
                ended = lane.ended(recs)
                if not (ended or rep < newest or final):
                    continue
                lane.take(rep)
                lane.scored_until = max([lane.scored_until, *(r.end_s for r in recs)])
                if final and not ended and rep == newest and self._fragment(recs, lane):
                    continue  # the session ended while the hand went back or rested
                out.append(self._score(recs, lane))
        out.sort(key=lambda s: s.start_s)
        return tuple(out)

    def _provisional(self, lane: _Lane) -> bool:
        """Whether the lane's repetitions wait to be scored: its offset search has not
        found the shift yet (a tracking bias of a quarter of the box: a letter read
        without it may be read short, or split), and its hand has been followed less than
        REPLAY_S (the most that is read again). Two hands with different roles: no, their
        circles wait until it is known which hand is the sun, and are read again then."""
        if self._role_lanes():
            return False  # its circles wait until the sun hand is known (_settle)
        return self._searching(lane)

    def _searching(self, lane: _Lane) -> bool:
        """Whether the lane's first offset search is still to come, and its hand has been
        followed less than REPLAY_S (the most that is read again)."""
        now = self._last_t if self._last_t is not None else -math.inf
        return not lane.offset.fitted and bool(lane.path) and now - lane.path[0][0] < REPLAY_S

    def _fragment(self, records: list[SegmentRecord], lane: _Lane) -> bool:
        """Whether an unfinished last repetition is too little to judge: its segments
        cover less than FINAL_MIN_COVERAGE of the repetition (nominal time weighted).
        A session often ends with the hand going back to a start, or resting there."""
        total = sum(self.stroke.segments[s].nominal_s for s in lane.segments)
        done = sum(self.stroke.segments[r.segment].nominal_s * r.coverage for r in records)
        return total > 0 and done / total < FINAL_MIN_COVERAGE

    def _score(self, records: list[SegmentRecord], lane: _Lane) -> RepetitionScore:
        start = min(r.start_s for r in records)
        end = max(r.end_s for r in records)
        # The other roles' segments by the *other* hand during this repetition (the moon).
        side = [
            r
            for slot, r in self._side_records
            if slot != lane.slot and r.end_s >= start and r.start_s <= end
        ]
        path = np.array([p for p in lane.path if start <= p[0] <= end]).reshape(-1, 3)
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
        near = self.stroke.tolerances.off_path_box
        if any(r.reversed and r.mean_distance_box <= near for r in side) and rep.direction == "ok":
            # The other hand (the moon) went the wrong way: the repetition is not right.
            # (Read on its path: an arc that fits only moved by half a box, the moon
            # hand's arc and its way back taken for a stroke elsewhere, is a guess.)
            rep = _with_flag(rep, "wrong_direction", direction="wrong")
        self._repetitions.append(rep)
        return rep

    # -- session --------------------------------------------------------------------------

    def finish(self) -> SessionResult:
        """End of the session: close segments in progress and score what is left."""
        t = self._last_t if self._last_t is not None else 0.0
        for lane in self._lanes:
            if not self._counts(lane):
                continue
            if lane.main:
                self._collect(lane, lane.finish(t))
            else:  # the other hand's unfinished move at the very end says nothing
                self._collect(lane, lane._shifted(lane._numbered(lane.matcher.pending())))
        self._settle(t, final=True)
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


def _gives_roles(stroke: StrokeDefinition) -> bool:
    """Whether the stroke gives its two hands different roles (sun and moon)."""
    return stroke.hands != 1 and not stroke.per_hand


def _retrace(last: SegmentRecord, rec: SegmentRecord, stroke: StrokeDefinition) -> bool:
    """Whether ``rec`` is the hand going straight back over the open segment it has just
    finished (the way back up the I after drawing it; down it before an L drawn
    backwards): the same segment, the other way round, within RETRACE_GAP_S."""
    return (
        rec.segment == last.segment
        and rec.reversed != last.reversed
        and not stroke.segments[rec.segment].closed
        and rec.start_s - last.end_s <= RETRACE_GAP_S
    )


def _carried_back(rec: SegmentRecord, stroke: StrokeDefinition) -> bool:
    """A path followed backwards faster than a stroke may go is a hand carried back to a
    start (lifted, often along a line of the path: the I, a paddle), not a stroke. The
    hint policy ignores it too."""
    nominal = stroke.segments[rec.segment].nominal_s
    return (
        rec.reversed
        and math.isfinite(rec.duration_s)
        and rec.duration_s > 0
        and rec.duration_s < stroke.pace.too_fast_below * nominal
    )


def _rest_spot(
    path: deque[tuple[float, float, float]], t: float, since: float = -math.inf
) -> np.ndarray | None:
    """Where the hand rests: the mean of its last REST_WINDOW_S of path, when the two
    halves of that window are less than REST_DRIFT_BOX apart (on average, so landmark
    jitter cancels) and the points spread less than REST_SPREAD_BOX about it. None while
    it moves, or before it has been seen that long (since ``since``)."""
    if not path or t - max(path[0][0], since) < REST_WINDOW_S:
        return None
    recent = itertools.takewhile(lambda p: t - p[0] <= REST_WINDOW_S, reversed(path))
    tuv = np.asarray(list(recent))
    late = tuv[:, 0] >= t - REST_WINDOW_S / 2
    if late.all() or not late.any():
        return None
    uv = tuv[:, 1:]
    drift = float(np.linalg.norm(uv[late].mean(axis=0) - uv[~late].mean(axis=0)))
    mean = uv.mean(axis=0)
    spread = float(np.sqrt(np.mean(np.sum((uv - mean) ** 2, axis=1))))
    return mean if drift < REST_DRIFT_BOX and spread < REST_SPREAD_BOX else None


def _distance(a: np.ndarray | None, b: np.ndarray) -> float:
    return math.inf if a is None else float(np.hypot(*(a - b)))


def _with_flag(rep: RepetitionScore, flag: str, **changes) -> RepetitionScore:
    if flag in rep.flags:
        return replace(rep, **changes)
    score = max(0, rep.score - PENALTY.get(flag, 0))
    return replace(rep, flags=(*rep.flags, flag), score=score, **changes)
