"""Smoothing and hand tracking: HandObservation -> TrackPoint in the body frame.

:class:`OneEuroFilter` is the 1-euro filter of Casiez, Roussel and Vogel (CHI 2012),
vectorised over numpy arrays and driven by timestamps. :class:`ContactSmoother` turns
each observation into contact points (``coach.contact``), maps them into the tummy
box, keeps every hand in a stable slot and smooths each slot with its own filter.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.contact import contact_point
from coach.core.types import ContactKind, HandObservation, TrackPoint


def smoothing_alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential smoothing factor of a first-order low-pass filter.

    ``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)``.
    """
    tau_s = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau_s / dt_s)


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    v = float(value)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name}: expected {expected}, found {value!r}")
    return v


class OneEuroFilter:
    """1-euro filter over arrays of any fixed shape; every element is filtered on its own.

    ``min_cutoff_hz``: cutoff when the signal is still (lower = less jitter, more lag).
    ``beta``: how fast the cutoff grows with speed, in 1 / (signal units per second)
    (higher = less lag when moving). ``d_cutoff_hz``: cutoff of the speed estimate.

    The speed estimate is ``(x - previous output) / dt``, as in the paper and in the
    authors' reference implementation. The first sample passes through unchanged; a
    sample whose timestamp is not after the previous one returns the previous output
    and leaves the state alone.

    ``warm_up`` (not in the paper): the n-th sample (from 0) is given at least the
    weight 1 / (n + 1), so the first samples are averaged, not the first one carried on.
    Otherwise a first sample off by much (a landmarker's first sight of a hand, off by a
    third of the box where the later ones jitter by a tenth) holds the output off for as
    long as the filter remembers: about half a second at the cutoff for jittery
    landmarks, long enough to read as a stroke's start.
    """

    def __init__(
        self,
        min_cutoff_hz: float = 1.0,
        beta: float = 0.0,
        d_cutoff_hz: float = 1.0,
        warm_up: bool = False,
    ):
        self.min_cutoff_hz = _check_positive("min_cutoff_hz", min_cutoff_hz)
        self.warm_up = bool(warm_up)
        self.beta = _check_positive("beta", beta, allow_zero=True)
        self.d_cutoff_hz = _check_positive("d_cutoff_hz", d_cutoff_hz)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through."""
        self._x_hat: np.ndarray | None = None
        self._dx_hat: np.ndarray | None = None
        self._t_s = float("nan")
        self._count = 0  # samples taken

    @property
    def speed(self) -> np.ndarray | None:
        """The smoothed rate of change (units per second), None before the first sample."""
        return None if self._dx_hat is None else self._dx_hat.copy()

    @property
    def value(self) -> np.ndarray | None:
        """The last output (a copy), None before the first sample."""
        return None if self._x_hat is None else self._x_hat.copy()

    def filter(self, x: np.ndarray | float, timestamp_s: float) -> np.ndarray:
        """Filter one sample taken at ``timestamp_s`` seconds; returns a new array."""
        xs = np.array(x, dtype=np.float64)
        t = float(timestamp_s)
        if not math.isfinite(t):
            raise ValueError(f"timestamp_s: expected a finite number, found {timestamp_s!r}")
        if self._x_hat is None:
            self._x_hat, self._dx_hat, self._t_s = xs.copy(), np.zeros_like(xs), t
            self._count = 1
            return xs
        if xs.shape != self._x_hat.shape:
            raise ValueError(
                f"OneEuroFilter: expected samples of shape {self._x_hat.shape}, found {xs.shape}"
            )
        dt = t - self._t_s
        if not dt > 0:
            return self._x_hat.copy()
        a_d = smoothing_alpha(self.d_cutoff_hz, dt)
        dx = (xs - self._x_hat) / dt
        # s + a (x - s) == a x + (1 - a) s, and exact for a constant signal
        self._dx_hat = self._dx_hat + a_d * (dx - self._dx_hat)
        cutoff_hz = self.min_cutoff_hz + self.beta * np.abs(self._dx_hat)
        a = smoothing_alpha(cutoff_hz, dt)
        if self.warm_up:
            a = np.maximum(a, 1.0 / (self._count + 1))
        self._x_hat = self._x_hat + a * (xs - self._x_hat)
        self._t_s = t
        self._count += 1
        return self._x_hat.copy()


class JitterEstimator:
    """How much a tracked point jitters, in its own units (standard deviation), whatever
    the hand's motion: from the second difference of the raw points, which is nearly
    zero for a moving hand (its acceleration times dt squared) and about sqrt(6) times
    the jitter for frame-to-frame noise. Averaged over about ``tau_s`` seconds."""

    def __init__(self, tau_s: float = 1.0) -> None:
        self.tau_s = tau_s
        self.reset()

    def reset(self) -> None:
        self._points: list[tuple[np.ndarray, float]] = []
        self._power = 0.0
        self._weight = 0.0

    @property
    def sigma(self) -> float:
        """The jitter so far (0 until three points have been seen)."""
        return math.sqrt(self._power / self._weight / 6.0) if self._weight > 0 else 0.0

    def update(self, x: np.ndarray, t: float) -> float:
        pts = self._points
        if pts and not t > pts[-1][1]:
            return self.sigma
        pts.append((np.asarray(x, dtype=np.float64), float(t)))
        if len(pts) > 3:
            pts.pop(0)
        if len(pts) == 3:
            (a, ta), (b, tb), (c, tc) = pts
            dt1, dt2 = tb - ta, tc - tb
            if 0.5 <= dt2 / dt1 <= 2.0:  # a dropped frame in between: skip this one
                d2 = c - b - (b - a) * (dt2 / dt1)
                keep = math.exp(-dt2 / self.tau_s)
                self._power = keep * self._power + (1 - keep) * float(d2 @ d2)
                self._weight = keep * self._weight + (1 - keep)
        return self.sigma


@dataclass
class _Slot:
    """One tracked hand: its filter, last smoothed position (uv) and when it was last seen."""

    ident: int
    filt: OneEuroFilter
    uv: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))
    last_seen_s: float = float("nan")
    jitter: JitterEstimator = field(default_factory=lambda: JitterEstimator())
    noise: float = 0.0  # 0 clean .. 1 noisy (see ContactSmoother._adapt)
    sightings: int = 0  # how many times the hand was seen
    first_seen_s: float = float("nan")

    def predict(self, t: float, horizon_s: float = 0.2) -> np.ndarray:
        """The hand's point at ``t``, carried on at its smoothed speed for at most
        ``horizon_s`` after it was last seen."""
        speed = self.filt.speed
        if speed is None:
            return self.uv
        return self.uv + speed * min(max(t - self.last_seen_s, 0.0), horizon_s)


#: Two detected contact points closer than this (tummy-box widths) are one hand.
SAME_HAND_BOX = 0.06
#: A detection further than GATE_BOX + GATE_SPEED_BOX_PER_S x (time since the hand was
#: last seen) + GATE_JITTER x (its measured jitter) from where a tracked hand should be
#: is another hand: the tracked hand was lost there, and this one starts its own track.
#: (Distances from the prediction or the last point, whichever is nearer; a hand seen
#: fewer than GATE_AFTER times is not gated: its speed and jitter are not known yet.)
GATE_BOX = 0.3
GATE_SPEED_BOX_PER_S = 2.0
GATE_JITTER = 4.0
GATE_AFTER = 8


class ContactSmoother:
    """Contact point(s) of the hand(s) in the body frame, smoothed, in stable slots.

    Defaults are in tummy-box widths: ``min_cutoff_hz=1.5`` keeps landmark jitter
    (about 0.005-0.01 box) below the matcher's resolution when the hand is still;
    ``beta=0.5`` per box/s raises the cutoff to about 1.7 Hz at the nominal 0.375
    box/s and 2.5 Hz at 2 box/s, so the lag stays below about 0.1 s when moving.
    Home footage can be far noisier (fingertip landmarks jitter by 0.1-0.15 box on a
    small, dim picture): each hand's jitter is measured (:class:`JitterEstimator`) and,
    from ``noise_box[0]`` to ``noise_box[1]`` of it, the filter moves to
    ``noisy_min_cutoff_hz=0.7`` and ``noisy_beta=0.1`` (jitter looks like speed, so the
    cutoff must not follow speed much). The extra lag (about 0.2 s) is a time shift:
    pace is measured from travel along the path, which a lag does not change.

    Slots: slot 0 is the primary hand (the first one seen). Each new observation's
    hands are assigned to live slots by smallest total distance to the slots' last
    positions; extra hands take free slots; a slot not seen for more than
    ``max_gap_s`` is freed and the slots after it move up (so slot 1 becomes the
    primary when slot 0 is lost). More than ``max_hands`` hands: the highest scores win.

    ``update(None, t)`` within ``max_gap_s`` of the last sighting returns the held
    last point with ``bridged=True``; after that it returns None and resets. A
    frame where the primary hand is not seen but another is also reports
    ``bridged=True`` (the primary point is held).

    ``settle_s``: a hand just found is reported only once it has been followed this
    long. Its first landmarks are as far off as any (a jitter of 0.15 box puts some a
    third of the box off), and the filter's output settles from the first one onto the
    hand over a few frames: a move of up to a third of the box that the hand never made.
    Reported, it reads as the start of a stroke (a fast paddle then timed from the
    hand's rest before it). Until then the hand is not in view (slots, ``seen`` and the
    track point leave it out; it is always after the hands already reported).
    """

    def __init__(
        self,
        body_frame: BodyFrame,
        contact: ContactKind,
        max_hands: int = 2,
        max_gap_s: float = 0.35,
        min_cutoff_hz: float = 1.5,
        beta: float = 0.5,
        d_cutoff_hz: float = 1.0,
        noisy_min_cutoff_hz: float = 0.7,
        noisy_beta: float = 0.1,
        noise_box: tuple[float, float] = (0.01, 0.04),
        settle_s: float = 0.0,
    ) -> None:
        if contact not in ("fingertips", "palm"):
            raise ValueError(f"contact: expected 'fingertips' or 'palm', found {contact!r}")
        if isinstance(max_hands, bool) or not isinstance(max_hands, int) or not 1 <= max_hands <= 4:
            raise ValueError(f"max_hands: expected an integer from 1 to 4, found {max_hands!r}")
        self.contact: ContactKind = contact
        self.max_hands = max_hands
        self.max_gap_s = _check_positive("max_gap_s", max_gap_s, allow_zero=True)
        self.settle_s = _check_positive("settle_s", settle_s, allow_zero=True)
        OneEuroFilter(min_cutoff_hz, beta, d_cutoff_hz)  # validate the settings now
        self._filter_settings = (float(min_cutoff_hz), float(beta), float(d_cutoff_hz))
        OneEuroFilter(noisy_min_cutoff_hz, noisy_beta, d_cutoff_hz)
        self.noisy_settings = (float(noisy_min_cutoff_hz), float(noisy_beta))
        if not 0 <= noise_box[0] < noise_box[1]:
            raise ValueError(
                f"noise_box: expected (low, high) with 0 <= low < high, found {noise_box}"
            )
        self.noise_box = (float(noise_box[0]), float(noise_box[1]))
        self.body_frame = body_frame
        self.reset()

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all hands."""
        self._slots: list[_Slot] = []
        self._next_ident = 0
        self._seen: tuple[bool, ...] = ()
        self._settled = 0  # how many slots (the first ones) are reported

    def set_body_frame(self, body_frame: BodyFrame) -> None:
        """Recalibrate: use a new body frame. Smoothed state is in the old frame, so reset."""
        self.body_frame = body_frame
        self.reset()

    @property
    def slot_ids(self) -> tuple[int, ...]:
        """A stable id per reported slot (slot order); a hand keeps its id while tracked."""
        return tuple(s.ident for s in self._slots[: self._settled])

    @property
    def seen(self) -> tuple[bool, ...]:
        """Per reported slot (slot order): was the hand observed in the last update."""
        return self._seen[: self._settled]

    @property
    def sighted(self) -> bool:
        """Was any hand observed in the last update, one still settling included."""
        return any(self._seen)

    # -- update -----------------------------------------------------------------------------

    def update(self, obs: HandObservation | None, timestamp_s: float) -> TrackPoint | None:
        """One frame: the observation (None when no hand was found) at ``timestamp_s``."""
        t = float(timestamp_s)
        if not math.isfinite(t):
            raise ValueError(f"timestamp_s: expected a finite number, found {timestamp_s!r}")
        self._expire(t)
        if obs is None:
            self._seen = (False,) * len(self._slots)
            return self._emit(t, bridged=True)
        uv = self._observed_uv(obs)
        seen = [False] * len(self._slots)
        for slot_index, det_index in self._assign(uv, t):
            if slot_index == len(self._slots):
                self._slots.append(self._new_slot(t))
                seen.append(False)
            slot = self._slots[slot_index]
            self._adapt(slot, slot.jitter.update(uv[det_index], t))
            slot.uv = slot.filt.filter(uv[det_index], t)
            slot.last_seen_s = t
            slot.sightings += 1
            seen[slot_index] = True
        self._seen = tuple(seen)
        return self._emit(t, bridged=not seen[0])

    def _observed_uv(self, obs: HandObservation) -> np.ndarray:
        """Contact points (n, 2) in the tummy box, at most ``max_hands``, in detection order.

        Two contact points closer than ``SAME_HAND_BOX`` are one hand seen twice (two
        hands' fingertips cannot sit on one spot; a landmarker sometimes returns a hand
        twice where two hands overlap): the better-scored one is kept. Otherwise that
        copy would start a new track, and the stroke could go on under the new one."""
        landmarks, scores = obs.landmarks, np.asarray(obs.scores, dtype=np.float64)
        uv = self.body_frame.to_uv(
            np.asarray(contact_point(landmarks, self.contact), dtype=np.float64)
        )
        keep: list[int] = []
        for i in np.argsort(-scores, kind="stable"):
            if len(keep) < self.max_hands and all(
                np.linalg.norm(uv[i] - uv[j]) >= SAME_HAND_BOX for j in keep
            ):
                keep.append(int(i))
        return uv[sorted(keep)]

    def _assign(self, uv: np.ndarray, t: float) -> list[tuple[int, int]]:
        """Pairs (slot index, detection index). Live slots get the assignment with the
        smallest total distance; leftover detections take new slots in detection order."""
        n_live, n_det = len(self._slots), len(uv)
        pairs: list[tuple[int, int]] = []
        if n_live:
            # Where each hand should be now, going on at its smoothed speed (up to a short
            # time): a stroking hand that passes a resting one keeps its own slot.
            last = np.stack([s.predict(t) for s in self._slots])
            dist = np.linalg.norm(last[:, None, :] - uv[None, :, :], axis=2)  # (live, det)
            if n_live <= n_det:
                options = [(range(n_live), p) for p in itertools.permutations(range(n_det), n_live)]
            else:
                options = [(p, range(n_det)) for p in itertools.permutations(range(n_live), n_det)]
            best_cost = math.inf
            for slots, dets in options:
                cost = float(dist[list(slots), list(dets)].sum())
                if cost < best_cost:  # strict: ties keep the first (identity) assignment
                    pairs, best_cost = list(zip(slots, dets, strict=True)), cost
            # A detection too far from where its slot's hand should be is another hand.
            held = np.stack([s.uv for s in self._slots])
            near = np.minimum(dist, np.linalg.norm(held[:, None, :] - uv[None, :, :], axis=2))
            pairs = [(i, d) for i, d in pairs if near[i, d] <= self._gate(self._slots[i], t)]
        used = {d for _, d in pairs}
        free = len(self._slots)
        for d in range(n_det):
            if d not in used and free < self.max_hands:
                pairs.append((free, d))
                free += 1
        return pairs

    @staticmethod
    def _gate(slot: _Slot, t: float) -> float:
        """How far from its predicted point a detection may be and still be this hand."""
        if slot.sightings < GATE_AFTER:
            return math.inf
        since = max(t - slot.last_seen_s, 0.0)
        return GATE_BOX + GATE_SPEED_BOX_PER_S * since + GATE_JITTER * slot.jitter.sigma

    def _adapt(self, slot: _Slot, sigma_box: float) -> None:
        """Smooth harder when the landmarks jitter (a small, dim or blurred picture):
        from the clean settings at ``noise_low_box`` of jitter to the noisy ones at
        ``noise_high_box``, blended in between."""
        low, high = self.noise_box
        w = min(max((sigma_box - low) / (high - low), 0.0), 1.0)
        slot.noise = w
        (c0, b0, _), (c1, b1) = self._filter_settings, self.noisy_settings
        slot.filt.min_cutoff_hz = c0 + w * (c1 - c0)
        slot.filt.beta = b0 + w * (b1 - b0)

    def _new_slot(self, t: float) -> _Slot:
        slot = _Slot(
            self._next_ident, OneEuroFilter(*self._filter_settings, warm_up=True), first_seen_s=t
        )
        self._next_ident += 1
        return slot

    def _expire(self, t: float) -> None:
        """Free slots not seen for more than ``max_gap_s``; later slots move up.

        (1 microsecond of slack so that a gap of exactly ``max_gap_s`` still counts.)"""
        self._slots = [s for s in self._slots if t - s.last_seen_s <= self.max_gap_s + 1e-6]

    def _emit(self, t: float, bridged: bool) -> TrackPoint | None:
        # (1 microsecond of slack, as in _expire: followed exactly settle_s is settled.)
        self._settled = sum(t - s.first_seen_s >= self.settle_s - 1e-6 for s in self._slots)
        slots = self._slots[: self._settled]
        if not slots:
            return None
        hands = np.stack([s.uv for s in slots])
        uv = hands[0]
        return TrackPoint(
            timestamp_s=t,
            uv=uv,
            xy=self.body_frame.to_xy(uv),
            hands_uv=hands,
            bridged=bridged,
            hands_noise=np.array([s.noise for s in slots]),
            hands_jitter_box=np.array([s.jitter.sigma for s in slots]),
        )
