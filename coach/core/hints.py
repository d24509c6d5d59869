"""Live hint policy: what a calm instructor would say, and when.

``decide(state, signals, policy) -> (state, hint | None)`` is a pure function: the
caller keeps the returned state. Priorities: direction, then coverage, then pace,
then staying on the path; a condition must hold for ``hold_s`` before it is said
(hysteresis), at most one new hint every ``min_interval_s``, and the same hint is
not repeated within ``repeat_s``. Codes are stable (strokes.md section 5, plus
``good`` for praise); texts are friendly and short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from coach.core.strokes import StrokeDefinition
from coach.core.types import Hint, Progress, RepetitionScore, SegmentRecord

PRIORITY = (
    "no_hand",
    "cant_follow",
    "wrong_direction",
    "incomplete",
    "too_fast",
    "too_slow",
    "off_path",
    "good",
)


@dataclass(frozen=True)
class HintPolicy:
    hold_s: float = 0.6  # a condition must last this long before it is said
    min_interval_s: float = 2.0  # at most one new hint this often
    repeat_s: float = 6.0  # the same hint is not repeated sooner than this
    no_hand_s: float = 1.5  # say "I can't see your hand" after this long
    good_score: int = 85  # praise a repetition scoring at least this
    # "Other way round" only once this much of the path was travelled backwards: the
    # matcher records a segment (and the score card can call it reversed) only from the
    # same fraction (MatcherConfig.min_record_coverage), so the hint waits for as much
    # evidence as the card needs.
    # Less is often the hand going back to the start between repetitions along a line
    # of the path, or the first letter of a session joined half-way.
    reversed_min_fraction: float = 0.4
    # One letter's pace is said at once only when it is clearly out of the band (this
    # factor beyond it: a third or three times the pace is): one letter's timing is noisy
    # on a jittery picture. Otherwise pace is said from the repetition's verdict.
    letter_pace_margin: float = 1.25


@dataclass(frozen=True)
class HintSignals:
    """What the hint policy looks at on one frame."""

    timestamp_s: float
    hand_seen: bool
    progress: Progress | None
    completed: tuple[SegmentRecord, ...] = ()
    scored: tuple[RepetitionScore, ...] = ()
    cant_follow: bool = False  # the hand moves but follows no part of the stroke


@dataclass(frozen=True)
class HintState:
    since: tuple[tuple[str, float], ...] = ()  # condition -> when it started holding
    last_t_s: float = -math.inf
    last_by_code: tuple[tuple[str, float], ...] = ()
    hand_lost_since: float | None = None
    events: tuple[tuple[str, str, float], ...] = field(default=())  # one-off (code, text, t)


def hint_text(code: str, stroke: StrokeDefinition, segment: int | None = None) -> str:
    """Friendly text for a hint code."""
    circles = any(s.closed for s in stroke.segments)
    if code == "wrong_direction":
        if circles:
            return "Go clockwise: up the baby's right side, across, down the left."
        return "Other way round: follow the arrow of the path."
    if code == "incomplete":
        if segment is not None and stroke.segments[segment].finish_text:
            return stroke.segments[segment].finish_text
        return "Carry the stroke right to the end of the path."
    return {
        "too_fast": "Slow down: follow the guide dot.",
        "too_slow": "A little quicker: keep up with the guide dot.",
        "off_path": "Stay on the path drawn on the tummy.",
        "no_hand": "I can't see your hand: keep it in the picture.",
        "cant_follow": (
            "I can't follow your hand well: more light, the camera a little closer "
            "and your whole hand in the picture will help."
        ),
        "good": "Lovely, calm stroke. Keep that pace.",
        "jerky": "Keep the stroke flowing, one smooth movement.",
        "lifted": "Keep your hand on the tummy all the way round.",
    }.get(code, code)


def _conditions(
    sig: HintSignals, stroke: StrokeDefinition, state: HintState, policy: HintPolicy
) -> dict[str, int | None]:
    """Conditions holding now: code -> segment it concerns (or None). The clock of a
    condition starts here; :func:`_ready` adds what must also be true to say it."""
    now: dict[str, int | None] = {}
    p = sig.progress
    if sig.hand_seen and p is not None and p.segment is not None:
        too_fast = math.isfinite(p.speed_ratio) and p.speed_ratio > 1.0 / stroke.pace.too_fast_below
        # Backwards along the path and faster than a stroke may go: a hand carried back
        # to a start between letters or repetitions (often along a line of the path, as
        # in I Love You), not a stroke. Neither its direction nor its pace is judged.
        carried_back = p.reversed and too_fast
        if p.reversed and p.fraction > 0.1 and not carried_back:
            now["wrong_direction"] = p.segment
        # Pace is judged over a whole letter or circle (a finished segment, see decide),
        # never at the speed peak in the middle of it: people speed up and slow down within
        # a stroke. Only a stroke going so slowly that, kept up, it would clearly take
        # longer than a slow one may take is called slow before it ends: the time from 10%
        # of the path to here, per fraction of the path, is a whole-stroke duration. Where
        # the hand is now, not the furthest it got: a jittery point that leapt ahead and
        # fell back has not done that part of the path yet.
        nominal = stroke.segments[p.segment].nominal_s
        at = p.at_fraction if math.isfinite(p.at_fraction) else p.fraction
        if not p.reversed and 0.3 <= at < 0.9 and math.isfinite(p.elapsed_s):
            projected_s = p.elapsed_s / (at - 0.1)
            if projected_s > stroke.pace.too_slow_above * policy.letter_pace_margin * nominal:
                now["too_slow"] = p.segment
        if math.isfinite(p.distance_box) and p.distance_box > stroke.tolerances.off_path_box:
            now["off_path"] = p.segment
    return now


def _pace(rec: SegmentRecord, stroke: StrokeDefinition, margin: float) -> str | None:
    """``too_fast`` / ``too_slow`` for a finished segment whose whole-stroke duration is
    outside the pace band widened by ``margin`` (a factor), else None."""
    nominal = stroke.segments[rec.segment].nominal_s
    if not (math.isfinite(rec.duration_s) and rec.duration_s > 0 and nominal > 0):
        return None
    ratio = rec.duration_s / nominal
    if ratio < stroke.pace.too_fast_below / margin:
        return "too_fast"
    if ratio > stroke.pace.too_slow_above * margin:
        return "too_slow"
    return None


def _ready(code: str, sig: HintSignals, policy: HintPolicy) -> bool:
    """Whether a condition that has held long enough may be said now."""
    if code == "wrong_direction":
        p = sig.progress
        return p is not None and p.fraction >= policy.reversed_min_fraction
    return True


def decide(
    state: HintState, sig: HintSignals, stroke: StrokeDefinition, policy: HintPolicy = HintPolicy()
) -> tuple[HintState, Hint | None]:
    """One step of the hint policy (pure)."""
    t = sig.timestamp_s
    lost_since = state.hand_lost_since
    if sig.hand_seen:
        lost_since = None
    elif lost_since is None:
        lost_since = t

    # One-off events (finished segments and repetitions) are kept until they can be said.
    events = list(state.events)
    for rec in sig.completed:
        if rec.reversed:
            continue
        if rec.coverage < stroke.tolerances.incomplete_below:
            events.append(("incomplete", hint_text("incomplete", stroke, rec.segment), t))
        pace = _pace(rec, stroke, policy.letter_pace_margin)
        if pace is not None:
            events.append((pace, hint_text(pace, stroke), t))
    for rep in sig.scored:
        if rep.pace != "ok":
            events.append((rep.pace, hint_text(rep.pace, stroke), t))
        elif rep.score >= policy.good_score:
            events.append(("good", hint_text("good", stroke), t))
    events = [e for e in events if t - e[2] <= 4.0]  # stale news is not worth saying

    holding = _conditions(sig, stroke, state, policy)
    since = dict(state.since)
    since = {c: since.get(c, t) for c in holding}
    ready: dict[str, str] = {
        c: hint_text(c, stroke, seg)
        for c, seg in holding.items()
        if t - since[c] >= policy.hold_s and _ready(c, sig, policy)
    }
    if sig.cant_follow:
        ready["cant_follow"] = hint_text("cant_follow", stroke)
    if lost_since is not None and t - lost_since >= policy.no_hand_s:
        ready["no_hand"] = hint_text("no_hand", stroke)
    for code, text, _ in events:
        ready.setdefault(code, text)

    new_state = replace(
        state, since=tuple(since.items()), hand_lost_since=lost_since, events=tuple(events)
    )
    if not ready or t - state.last_t_s < policy.min_interval_s:
        return new_state, None
    last_by = dict(state.last_by_code)
    for code in PRIORITY:
        if code in ready and t - last_by.get(code, -math.inf) >= policy.repeat_s:
            last_by[code] = t
            remaining = tuple(e for e in events if e[0] != code)
            return (
                replace(
                    new_state, last_t_s=t, last_by_code=tuple(last_by.items()), events=remaining
                ),
                Hint(timestamp_s=t, code=code, text=ready[code]),
            )
    return new_state, None
