"""Online matcher: follows the user's progress along a stroke, frame by frame.

The reference is a small left-to-right graph. For every judged segment (a letter,
a circle, a paddle) there is a chain of states along its path in the direction it
must be performed, a twin chain along the reversed path, and one *gap* state in
front of it for the lifted hand between segments (transitions are not judged).
Closed segments (circles) are cyclic chains entered anywhere.

Each frame runs one step of an open-end time-warping alignment (a Viterbi step
over the graph, in the min-sum form): a state's cost is the best predecessor's
cost plus the distance of the hand from the state's reference point. A state
may stay, or advance up to ``K`` points per frame, where ``K`` follows from the
frame's time step, so time warps freely and dropped frames are allowed.

The history of the best path into every state travels with it as a *token*
(token passing): when the segment was entered, when the hand had travelled 10%,
30%, ... of the path, how far it travelled along the path, its distance from the
path, and the last completed segment. So a finished segment is known the moment
the best path leaves it, with constant work per frame and no back-pointers.

Pace and coverage are measured from the hand's travel *along* the reference
tangent, not from absolute positions, so a systematic offset of the tracked
point (a fifth of the box is common for fingertip landmarks) changes neither.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numba
import numpy as np

from coach.core.strokes import StrokeDefinition, load_stroke
from coach.core.types import Progress, SegmentRecord

_INF = np.inf
#: Travel fractions at which the time is recorded, for the pace estimate.
_MILESTONES = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
#: Stretches the hand was not seen that are kept, to tell how long it was seen since a
#: segment ended (OnlineMatcher._confirmed).
_BLIND_KEPT = 16
#: How far before a segment's entry the hand's own path is read for its lead-in (see
#: OnlineMatcher._lead_in_box), and how much of the hand's path is kept for it.
LEAD_IN_S = 0.5
_PATH_KEPT_S = 30.0  # (a slow letter takes up to ~10 s; older starts get no lead-in)
#: A lead-in point may lie this much further from the path than the segment's mean
#: distance, and this much ahead of the one after it (jitter), before the lead-in stops.
LEAD_IN_OFF_BOX = 0.08
LEAD_IN_BACK_BOX = 0.03


@dataclass(frozen=True)
class MatcherConfig:
    """Tuning of the alignment; distances in tummy-box widths."""

    state_step_box: float = 0.02  # reference states every this much of the path
    sigma_box: float = 0.2  # distance scale of the cost: cost = (d / sigma)^2
    cap_box: float = 0.5  # distance beyond which the cost stops growing
    gap_box: float = 0.32  # a lifted / idle hand costs as much as being this far from the path
    max_speed_ratio: float = 6.0  # fastest pace followed, times nominal
    k_max: int = 24  # most reference points advanced in one frame (about half a box)
    # A frame after the hand went unseen (it passed over the other hand) may find it
    # further on, as far as the stroke's own pace with this slack carries it over the
    # unseen time (a hand stroking on out of sight), up to k_max_unseen points (1.3 box).
    # Not the fastest pace followed: an unseen hand that comes back far round the path
    # sooner than a stroke would (the moon hand hurrying back to rest) did not stroke
    # the part between, and a circle it seemed to finish would hide an unfinished one.
    unseen_speed_ratio: float = 1.5
    k_max_unseen: int = 64
    entry_fraction: float = 0.1  # an open segment may be entered this far along its path
    exit_penalty: float = 6.0  # cost of leaving a segment unfinished, times the fraction left
    skip_penalty: float = 200.0  # cost of skipping a whole segment
    min_record_coverage: float = 0.4  # a segment travelled less than this leaves no record
    reverse_entry_penalty: float = 4.0  # prior: people mostly follow the shown direction
    # A circle may be entered anywhere (and left anywhere for nothing): without a price on
    # entering it, a jittery point leaping ahead round a slow circle was followed by
    # leaving it and entering it again there, for one frame's gap cost, and the circle
    # then counted from that re-entry (the last of a slow session read incomplete; a good
    # first circle cut short and one repetition too many). A small price: more holds on to
    # a circle entered where a hand rested on it (the other hand, before the swap) when
    # the circle really starts, and carries an unfinished circle on across the hand's way
    # back to its start (2 of 189 evaluation clips at 2.0).
    closed_entry_penalty: float = 1.0
    direction_weight: float = 1.5  # cost of moving against a state's tangent (x (1 - cos))
    moving_speed_box_per_s: float = 0.1  # the direction cost ramps up to full weight at this speed
    # A still hand whose landmarks jitter by s box (std) seems to move at about s box/s (rms,
    # after the smoothing and the velocity averaging: 0.7-1.6 s per box for jitter of 4 to
    # 15 Hz), and faster than twice that 2% of the time (Rayleigh): a speed up to this times
    # s may be jitter's, and its direction is trusted that much less (see _direction_trust).
    jitter_speed_per_s: float = 2.0
    velocity_tau_s: float = 0.12  # the hand's velocity is smoothed over about this time
    noisy_velocity_tau_s: float = 0.3  # ... and this for jittery landmarks (update's noise 1)
    lift_speed_box_per_s: float = 0.6  # a lifted hand moving between segments is about this fast
    advance_weight: float = 1.0  # cost per reference point advanced beyond the hand's travel
    reversed_line_cost: float = 0.25  # per frame, per reversed end of a transition line
    slow_lift_cost: float = 1.0  # moving slowly along a transition line looks like a stroke
    confirm_s: float = 1.0  # a finished segment is reported once the hand has left it this long
    confirm_fraction: float = 0.15  # ... or is this far into the next segment
    tangent_window_box: float = 0.08  # tangents are averaged over this arc length
    # After the smoothing stage, landmarks that jitter by s box leave the hand's point
    # about this times s off along the path (measured on simulated jitter of 0.1-0.15 box
    # at 8-15 Hz: milestone times err by this over the hand's speed), which blurs how a
    # stroke's speed rises and falls (see _duration_compiled).
    milestone_noise_per_jitter: float = 0.25


class OnlineMatcher:
    """Follows one hand through the segments ``segment_ids`` of ``stroke`` (default: all).

    ``update(uv, timestamp_s)`` takes the hand's contact point in the body frame, or
    ``None`` when the hand is not seen, and returns the :class:`Progress` (``None``
    until the first point). ``finish()`` closes the segment in progress at the end of
    a session. Work per frame is constant: it depends on the reference, not on time.
    """

    def __init__(
        self,
        stroke: StrokeDefinition,
        segment_ids: Sequence[int] | None = None,
        config: MatcherConfig | None = None,
    ) -> None:
        self.stroke = stroke
        self.config = config or MatcherConfig()
        self.segment_ids = (
            tuple(range(len(stroke.segments))) if segment_ids is None else tuple(segment_ids)
        )
        if not self.segment_ids:
            raise ValueError("OnlineMatcher: expected at least one segment, found none")
        self._build()
        self.reset()

    # -- graph -----------------------------------------------------------------------------

    def _build(self) -> None:
        cfg = self.config
        pos, tangent, prog, seg_of, rev_of, closed_of = [], [], [], [], [], []
        gap_rows: list[int] = []
        chains: list[tuple[int, int, int]] = []  # (segment slot, base row, n) for fwd then rev
        row = 0
        for slot, seg_id in enumerate(self.segment_ids):
            seg = self.stroke.segments[seg_id]
            gap_rows.append(row)
            pos.append([np.nan, np.nan])
            tangent.append([0.0, 0.0])
            prog.append(0.0)
            seg_of.append(slot)
            rev_of.append(False)
            closed_of.append(seg.closed)
            row += 1
            for reverse in (False, True):
                pts = _coarsen(np.asarray(seg.points, float), cfg.state_step_box, seg.closed)
                if reverse:
                    pts = pts[::-1].copy()
                n = len(pts)
                chains.append((slot, row, n))
                pos.extend(pts.tolist())
                tangent.extend(_smoothed_tangents(pts, seg.closed, cfg.tangent_window_box).tolist())
                prog.extend((np.arange(n) / (n if seg.closed else max(n - 1, 1))).tolist())
                seg_of.extend([slot] * n)
                rev_of.extend([reverse] * n)
                closed_of.extend([seg.closed] * n)
                row += n
        self._n_states = row
        self._pos = np.array(pos)
        self._pos_u = self._pos[:, 0].copy()
        self._pos_v = self._pos[:, 1].copy()
        self._tangent = np.array(tangent)
        self._prog = np.array(prog)
        self._seg = np.array(seg_of)
        self._rev = np.array(rev_of)
        self._closed = np.array(closed_of)
        self._gap_rows = np.array(gap_rows)
        self._is_gap = np.zeros(row, bool)
        self._is_gap[self._gap_rows] = True
        self._chains = chains
        self._chain_idx = np.zeros(row, np.int64)
        for _, base, n in chains:
            self._chain_idx[base : base + n] = np.arange(n)
        self._seg_rows = np.flatnonzero(~self._is_gap)
        n_slots = len(self.segment_ids)
        self._length = np.array([self.stroke.segments[s].length_box for s in self.segment_ids])
        self._nominal = np.array([self.stroke.segments[s].nominal_s for s in self.segment_ids])
        # Reference points per nominal second, per state (for K from dt).
        counts = np.zeros(n_slots)
        for slot, _, n in chains:
            counts[slot] = n
        self._pts_per_s = (counts / self._nominal)[self._seg]
        self._n_of = counts[self._seg]
        seg_pps = self._pts_per_s[~self._is_gap]
        self._pps_max = float(seg_pps.max())

        # Predecessor table for segment rows: columns 0..k_max = advance by that many points,
        # last column = entry from the segment's gap state.
        sentinel = row
        k_cols = max(cfg.k_max, cfg.k_max_unseen) + 1
        pred = np.full((row, k_cols + 1), sentinel, dtype=np.int64)
        pen = np.zeros((row, k_cols + 1))
        for slot, base, n in chains:
            closed = self.stroke.segments[self.segment_ids[slot]].closed
            j = np.arange(n)
            for s in range(k_cols):
                src = j - s
                if closed:
                    pred[base + j, s] = base + np.mod(src, n)
                else:
                    ok = src >= 0
                    pred[base + j[ok], s] = base + src[ok]
            gap = gap_rows[slot]
            if closed:
                pred[base + j, k_cols] = gap
                pen[base + j, k_cols] = cfg.closed_entry_penalty
            else:
                entry = j <= max(1, int(cfg.entry_fraction * (n - 1)))
                pred[base + j[entry], k_cols] = gap
                pen[base + j[entry], k_cols] = 0.5 * j[entry] / max(n - 1, 1)
        for _, base, n in chains[1::2]:  # every reversed chain
            pen[base : base + n, k_cols] += cfg.reverse_entry_penalty
        self._pred = pred
        self._pen = pen
        self._entry_col = k_cols
        self._spacing = float(np.nanmedian(np.linalg.norm(np.diff(self._pos, axis=0), axis=1)))
        # Per frame only columns 0..k (and entry) are needed: the tables are cut once per k,
        # when a frame first needs it (most frames need a few points; a large k only
        # follows a stretch where the hand was not seen).
        self._table_for_k: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._shift_of_col = np.arange(k_cols + 1)
        self._shift_of_col[k_cols] = 0
        # Exit penalty from every segment row into the next gap: unfinished costs more.
        frac_left = np.where(self._closed, 0.0, 1.0 - self._prog)
        self._exit_pen = cfg.exit_penalty * frac_left
        self._exit_pen[self._is_gap] = _INF
        # A gap is cheap along the straight lines a lifted hand takes from the end of the
        # previous segment to the start of the next (either may be performed reversed), moving
        # the way of the line at a lifted hand's speed; it costs the flat gap cost elsewhere.
        # Closed segments (circles) have no fixed start or end.
        self._gap_lines = []
        for slot, seg_id in enumerate(self.segment_ids):
            seg = self.stroke.segments[seg_id]
            prev = self.stroke.segments[self.segment_ids[(slot - 1) % n_slots]]
            lines = []
            if not (seg.closed or prev.closed):
                for i, a in enumerate((prev.points[-1], prev.points[0])):
                    for j, b in enumerate((seg.points[0], seg.points[-1])):
                        extra = self.config.reversed_line_cost * (i + j)
                        lines.append((np.asarray(a, float), np.asarray(b, float), extra))
            self._gap_lines.append(lines)
        line_list = [(slot, a, b, e) for slot, ls in enumerate(self._gap_lines) for a, b, e in ls]
        self._line_gap = np.array([x[0] for x in line_list], dtype=np.int64)
        self._line_a = np.array([x[1] for x in line_list], dtype=float).reshape(-1, 2)
        self._line_b = np.array([x[2] for x in line_list], dtype=float).reshape(-1, 2)
        self._line_extra = np.array([x[3] for x in line_list], dtype=float)
        self._exit_rows = [
            np.flatnonzero((self._seg == (slot - 1) % n_slots) & ~self._is_gap)
            for slot in range(n_slots)
        ]
        self._precompute()

    def _precompute(self) -> None:
        """Constants of the per-frame step, so that a frame costs few array operations."""
        cfg = self.config
        n = self._n_states
        self._inv_sigma2 = 1.0 / cfg.sigma_box**2
        self._gap_flat = (cfg.gap_box / cfg.sigma_box) ** 2
        # Fraction travelled = travel / length (open rows) + steps / points (closed rows);
        # dividing by inf gives the 0 of the other kind (and of the gap rows).
        length = self._length[self._seg]
        self._len_open = np.where(self._closed | self._is_gap, np.inf, length)
        self._n_closed = np.where(self._closed & ~self._is_gap, self._n_of, np.inf)
        self._closed_rows = self._seg_rows[self._closed[self._seg_rows]]
        # Exits into each gap, padded with the sentinel row (cost inf).
        width = max(len(e) for e in self._exit_rows)
        self._exit_mat = np.full((len(self._gap_rows), width), n, dtype=np.int64)
        for slot, rows in enumerate(self._exit_rows):
            self._exit_mat[slot, : len(rows)] = rows
        self._exit_pen_mat = np.append(self._exit_pen, _INF)[self._exit_mat]
        self._exit_pen_mat[self._exit_mat == n] = 0.0  # inf + 0: the padding never wins
        # Transition lines as plain numbers (a dozen at most: a Python loop beats numpy).
        self._lines = []
        for slot, a, b, extra_cost in zip(
            self._line_gap.tolist(), self._line_a, self._line_b, self._line_extra.tolist(),
            strict=True,
        ):  # fmt: skip
            ab = b - a
            denom = max(float(ab @ ab), 1e-12)
            root = math.sqrt(denom)
            self._lines.append(
                (slot, float(a[0]), float(a[1]), float(ab[0]), float(ab[1]), denom,
                 float(ab[0]) / root, float(ab[1]) / root, extra_cost)
            )  # fmt: skip
        blank = np.zeros(_TOKEN_WIDTH)
        blank[_START] = np.nan
        blank[_MILE] = np.nan
        self._blank_token = blank

    def reset(self) -> None:
        """Forget the session: back to waiting in front of the first segment."""
        s = self._n_states + 1  # one sentinel row that is never reachable
        self._cost = np.full(s, _INF)
        self._cost[self._gap_rows[0]] = 0.0
        # Tokens: one row per state, columns as in _TOKEN_COLUMNS (gathered in one go).
        arr = np.zeros((s, _TOKEN_WIDTH))
        views = _token_views(arr)
        views["start"][:] = np.nan
        views["mile"][:] = np.nan
        views["lc"][:] = np.nan
        self._bind(arr)
        self._spare = (np.full(s, _INF), np.zeros_like(arr))
        self._last_uv: np.ndarray | None = None
        self._seen: deque[tuple[float, float, float]] = deque()  # (t, u, v), _PATH_KEPT_S
        self._vel = (0.0, 0.0)  # the hand's smoothed velocity (box widths per second)
        self._jitter = 0.0  # the landmarks' jitter last measured (box widths), for pace
        self._last_t: float | None = None
        self._emitted: tuple[float, float] = (-1.0, -1.0)
        self._emitted_rev = math.nan  # whether the last record reported was reversed (1/0)
        self._progress: Progress | None = None
        # Stretches the hand was not seen, (last seen, seen again), since the last record
        # reported (see _confirmed); and whether it is unseen now.
        self._blind: list[tuple[float, float]] = []
        self._unseen = False

    # -- per frame -------------------------------------------------------------------------

    def update(
        self,
        uv: np.ndarray | None,
        timestamp_s: float,
        noise: float = 0.0,
        jitter_box: float = 0.0,
    ) -> Progress | None:
        """Advance by one observation (``uv`` in the body frame, or ``None``: hand not seen).
        ``noise`` (0 clean .. 1 jittery landmarks, from the smoothing stage) lengthens the
        time over which the hand's direction of motion is judged; ``jitter_box`` (the
        landmarks' jitter, std in box widths) is the speed a still hand seems to have,
        below which the direction is not judged."""
        if uv is None or self._last_t is None:
            if uv is None:
                self._unseen = self._last_t is not None
                return self._stale(timestamp_s)
            self._last_uv = np.asarray(uv, dtype=np.float64)
            self._last_t = float(timestamp_s)
            self._keep_seen(self._last_t, self._last_uv)
            return self._emit(self._current_best(), float(timestamp_s), first=True)
        t = float(timestamp_s)
        dt = t - self._last_t
        if dt <= 0:
            return self._progress
        q = np.asarray(uv, dtype=np.float64)
        step = q - self._last_uv
        after_unseen = self._unseen
        if after_unseen:
            # (The last few: older stretches ended before any segment still to report, or
            # count for nothing but an earlier report; memory stays flat.)
            self._blind = [*self._blind[-(_BLIND_KEPT - 1) :], (self._last_t, t)]
            self._unseen = False
        self._last_uv, self._last_t = q, t
        self._keep_seen(t, q)
        jitter = float(jitter_box) if math.isfinite(jitter_box) and jitter_box > 0 else 0.0
        noise = min(max(float(noise), 0.0), 1.0)
        # (Landmarks the smoothing stage calls clean, noise 0, jitter below the matcher's
        # resolution: their milestone times are as good as the frames make them.)
        self._jitter = noise * jitter
        self._step(q, step, dt, t, noise, jitter, after_unseen)
        return self._emit(self._current_best(), t)

    @property
    def segment_start_s(self) -> float:
        """When the hand entered the segment it is in now (NaN between segments)."""
        b = self._current_best()
        return math.nan if self._is_gap[b] else float(self._tokarr[b, _START])

    def finish(self, timestamp_s: float) -> tuple[SegmentRecord, ...]:
        """Close the segment in progress (end of session) and return any record it gives."""
        out = self.pending()
        self._emitted = (math.inf, math.inf)
        b = self._current_best()
        if self._is_gap[b]:
            return out
        lc = self._close_record(np.array([b]), timestamp_s)[0]
        if np.isnan(lc[0]) or lc[6] < self.config.min_record_coverage:
            return out
        return (*out, self._record(lc))

    # -- internals ---------------------------------------------------------------------------

    def _step(
        self,
        q: np.ndarray,
        step: np.ndarray,
        dt: float,
        t: float,
        noise: float,
        jitter: float,
        after_unseen: bool = False,
    ) -> None:
        cfg = self.config
        old = self._cost
        qx, qy = float(q[0]), float(q[1])
        tau = cfg.velocity_tau_s + noise * (cfg.noisy_velocity_tau_s - cfg.velocity_tau_s)
        alpha = 1.0 - math.exp(-dt / tau)
        sx, sy = float(step[0]), float(step[1])
        vx, vy = self._vel
        vx += alpha * (sx / dt - vx)
        vy += alpha * (sy / dt - vy)
        self._vel = (vx, vy)
        speed = math.hypot(vx, vy)
        ramp = min(1.0, speed / cfg.moving_speed_box_per_s)
        # Jitter alone gives a still hand some speed: the direction of a velocity that does
        # not stand out of it is not the hand's, and is trusted that much less.
        trust = _direction_trust(speed, cfg.jitter_speed_per_s * jitter)
        ramp *= trust
        # The direction term, direction_weight * ramp * (1 - cos(tangent, velocity)), is
        # w - tangent . (velocity * w / speed).
        w = cfg.direction_weight * ramp if speed > 0 else 0.0
        wx, wy = (vx * (w / speed), vy * (w / speed)) if speed > 0 else (0.0, 0.0)
        local_gap = self._gap_costs(qx, qy, vx, vy, speed, ramp)

        # Segment rows: best of stay / advance by k / enter from the gap.
        # Most reference points one frame may advance: the fastest pace followed, for the
        # segment with the most points per nominal second (the others barely differ).
        k_now = int(min(max(math.ceil(cfg.max_speed_ratio * self._pps_max * dt), 1), cfg.k_max))
        if after_unseen:
            k_far = math.ceil(cfg.unseen_speed_ratio * self._pps_max * dt)
            k_now = max(k_now, int(min(k_far, cfg.k_max_unseen)))
        cols, pred, pen, adv_base = self._table(k_now)  # advance by 0..k_now, or enter
        # Progress along the path must come from the hand moving: advancing further than
        # the hand travelled (with some slack) costs, so the alignment cannot run ahead.
        # Jittery landmarks make a still hand step to and fro every frame: only the part of
        # the step that is motion (the speed beyond jitter's, as for the direction) counts,
        # or the alignment runs ahead of a still hand for free (and reads the way back down
        # the I after an I drawn backwards as the last leg of an L, its top bar skipped).
        moved = math.hypot(sx, sy) * (math.sqrt(trust) if jitter > 0 else 1.0)
        slack = 2.0 * moved * cfg.advance_weight / self._spacing
        # Two cost and token buffers, swapped each frame (nothing else keeps them).
        new_cost, arr = self._spare
        self._spare = (old, self._tokarr)
        _advance_rows(
            old, pred, pen, cols, adv_base, slack, self._entry_col,
            self._shift_of_col, self._pos_u, self._pos_v, self._tangent, qx, qy, sx, sy,
            w, wx, wy, cfg.cap_box, self._inv_sigma2, self._chain_idx, self._len_open,
            self._n_closed, _MILESTONES, t, self._tokarr, arr, new_cost,
        )  # fmt: skip
        self._complete_revolutions(arr, t)
        # Gap rows: stay, leave the previous segment, or skip it; then costs are shifted
        # so that the best is 0 (only differences matter).
        _gap_rows_step(
            old, self._tokarr, new_cost, arr, self._gap_rows, np.array(local_gap),
            self._exit_mat, self._exit_pen_mat, cfg.skip_penalty, cfg.min_record_coverage,
            self._seg, self._rev, self._closed, self._n_of, self._length, self._nominal,
            _MILESTONES, self._blank_token, t, self._noise_frac(),
        )  # fmt: skip
        self._cost = new_cost
        self._bind(arr)

    def _table(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The step's tables for advancing by 0..k points (or entering): the columns, their
        predecessors and penalties, and the cost of advancing j points beyond the hand's
        travel, (j - 1) * weight - 2 * moved * weight / spacing floored at 0 (entry: 0)."""
        table = self._table_for_k.get(k)
        if table is None:
            cols = np.append(np.arange(k + 1), self._entry_col)
            adv = np.append((np.arange(k + 1) - 1.0) * self.config.advance_weight, -np.inf)
            table = (cols, self._pred[:, cols].copy(), self._pen[:, cols].copy(), adv)
            self._table_for_k[k] = table
        return table

    def _gap_costs(
        self, qx: float, qy: float, vx: float, vy: float, speed: float, ramp: float
    ) -> list[float]:
        """Cost of each gap state: the cheapest of its transition lines, or the flat cost."""
        cfg = self.config
        flat = self._gap_flat
        out = [flat] * len(self._gap_rows)
        if not self._lines:
            return out
        inv_s2 = self._inv_sigma2
        gap2 = cfg.gap_box * cfg.gap_box
        slow = cfg.slow_lift_cost * max(0.0, 1.0 - speed / cfg.lift_speed_box_per_s)
        w = cfg.direction_weight * ramp
        w_per_speed = w / speed if speed > 0 else 0.0
        for slot, ax, ay, abx, aby, denom, ux, uy, extra in self._lines:
            wx, wy = qx - ax, qy - ay
            s = (wx * abx + wy * aby) / denom
            s = 0.0 if s < 0.0 else 1.0 if s > 1.0 else s
            ex, ey = wx - s * abx, wy - s * aby
            d2 = ex * ex + ey * ey
            if d2 >= gap2:
                continue  # too far from this line: the flat cost
            c = d2 * inv_s2 + slow + extra
            if speed > 0:
                c += w - (ux * vx + uy * vy) * w_per_speed
            if c < out[slot]:
                out[slot] = c
        return out

    def _noise_frac(self) -> np.ndarray:
        """Per segment slot: how far off along the path (a fraction of it) the jitter
        leaves the hand's point, for the pace estimate."""
        return self.config.milestone_noise_per_jitter * self._jitter / self._length

    def _bind(self, arr: np.ndarray) -> None:
        """Make ``arr`` the current tokens (one row per state, columns _TOKEN_COLUMNS):
        rep, start time, travel along the path (open segments), reference points advanced
        (closed segments), distance sum and count, entry index, milestones reached and
        their times, and the last completed segment (rep, slot, reversed, start, end,
        duration, coverage, distance)."""
        self._tokarr = arr

    def _fraction(self, tok: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
        """Fraction of the path travelled, per row: the furthest along-path travel reached
        for open segments, reference points advanced for closed ones (robust to an offset
        circle)."""
        open_frac = tok["peak"][rows] / self._length[self._seg[rows]]
        closed_frac = tok["steps"][rows] / self._n_of[rows]
        return np.where(self._closed[rows], closed_frac, open_frac)

    def _fraction_one(self, row: int) -> float:
        """:meth:`_fraction` of one row of the current tokens."""
        if self._closed[row]:
            return float(self._tokarr[row, _STEPS] / self._n_of[row])
        return float(self._tokarr[row, _PEAK] / self._length[self._seg[row]])

    def _at_fraction(self, row: int) -> float:
        """Where along an open segment the hand is now (its net travel), 0..1."""
        return min(max(float(self._tokarr[row, _TRAVEL] / self._length[self._seg[row]]), 0.0), 1.0)

    def _close_record(self, rows: np.ndarray, t: float, tok: dict | None = None) -> np.ndarray:
        """Records (len(rows), 8) for leaving the segment at ``rows`` at time ``t``."""
        src = tok if tok is not None else self._tokens()
        frac = np.clip(self._fraction(src, rows), 0.0, 1.0)
        out = np.empty((len(rows), 8))
        out[:, 0] = src["rep"][rows]
        out[:, 1] = self._seg[rows]
        out[:, 2] = self._rev[rows]
        out[:, 3] = src["start"][rows]
        out[:, 4] = t
        out[:, 5] = [
            _within(_duration_from_milestones(m, n, e), float(start), t, float(c))
            for m, n, e, start, c in zip(
                src["mile"][rows],
                self._nominal[self._seg[rows]],
                self._noise_frac()[self._seg[rows]],
                src["start"][rows],
                frac,
                strict=True,
            )
        ]
        out[:, 6] = frac
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 7] = src["dsum"][rows] / src["n"][rows]
        return out

    def _complete_revolutions(self, arr: np.ndarray, t: float) -> None:
        """A closed segment completes one repetition per full turn, without leaving it."""
        rows = self._closed_rows
        if rows.size == 0:
            return
        done = rows[arr[rows, _STEPS] >= self._n_of[rows]]
        if done.size == 0:
            return
        arr[done, _STEPS] = self._n_of[done]
        tok = _token_views(arr)
        recs = self._close_record(done, t, tok)
        recs[:, 6] = 1.0
        arr[done, _LC] = recs
        arr[done, _REP] += 1
        arr[done, _START] = t
        arr[done, _TRAVEL : _N + 1] = 0.0
        arr[done, _PEAK] = 0.0
        arr[done, _NMILE] = 0.0
        arr[done, _MILE] = np.nan
        arr[done, _ENTRY] = self._chain_idx[done]

    def _current_best(self) -> int:
        return int(np.argmin(self._cost[:-1]))

    def _keep_seen(self, t: float, q: np.ndarray) -> None:
        self._seen.append((t, float(q[0]), float(q[1])))
        while t - self._seen[0][0] > _PATH_KEPT_S:
            self._seen.popleft()

    def _record(self, lc: np.ndarray) -> SegmentRecord:
        slot, coverage = int(lc[1]), float(lc[6])
        if not self.stroke.segments[self.segment_ids[slot]].closed:
            lead = self._lead_in_box(slot, bool(lc[2]), float(lc[3]), float(lc[7]))
            coverage = min(1.0, coverage + lead / float(self._length[slot]))
        return SegmentRecord(
            repetition=int(lc[0]),
            segment=int(self.segment_ids[slot]),
            reversed=bool(lc[2]),
            start_s=float(lc[3]),
            end_s=float(lc[4]),
            duration_s=float(lc[5]),
            coverage=coverage,
            mean_distance_box=float(lc[7]),
        )

    def _lead_in_box(self, slot: int, reverse: bool, start_s: float, off_box: float) -> float:
        """How much of an open segment the hand had already done when the alignment
        entered it (box widths along the path): the alignment enters a segment only once
        the hand's smoothed direction of motion has turned onto it, a few tenths of a
        second into a quick stroke, and its coverage counts from there. Read back from the
        entry on the hand's own path: each earlier point (within LEAD_IN_S) that lies on
        the path (no further from it than the segment's mean distance, ``off_box``, plus
        LEAD_IN_OFF_BOX) and no further along it than the point after (give or take
        LEAD_IN_BACK_BOX of jitter) extends the lead-in to where it lies. A hand that
        landed mid-path, came back along it, or was carried in from elsewhere gets none."""
        seen = [p for p in self._seen if start_s - LEAD_IN_S <= p[0] <= start_s]
        if len(seen) < 2 or not math.isfinite(start_s):
            return 0.0
        pts = self.stroke.segments[self.segment_ids[slot]].points
        if reverse:
            pts = pts[::-1]
        along, off = _project_on_path(np.asarray([p[1:] for p in reversed(seen)]), pts)
        entry = lowest = float(along[0])
        limit = (off_box if math.isfinite(off_box) else 0.0) + LEAD_IN_OFF_BOX
        for a, d in zip(along[1:], off[1:], strict=True):
            if d > limit or a > lowest + LEAD_IN_BACK_BOX:
                break
            lowest = min(lowest, float(a))
        return entry - lowest

    def _emit(self, b: int, t: float, first: bool = False) -> Progress:
        completed: tuple[SegmentRecord, ...] = ()
        revised: tuple[SegmentRecord, ...] = ()
        lc = self._tokarr[b, _LC]
        if not np.isnan(lc[0]):
            key = (float(lc[0]), float(lc[1]))
            if key > self._emitted and self._confirmed(b, lc, t):
                self._emitted, self._emitted_rev = key, float(lc[2])
                completed = (self._record(lc),)
                self._blind = [b_ for b_ in self._blind if b_[1] > lc[4]]
            elif key == self._emitted and lc[2] != self._emitted_rev and self._confirmed(b, lc, t):
                # The best path now has the segment just reported done the other way round
                # (what followed told which: a hand going back down the I after an I drawn
                # backwards fits the end of an L as well, until the L drawn backwards comes).
                self._emitted_rev = float(lc[2])
                revised = (self._record(lc),)
        slot = int(self._seg[b])
        seg = self.stroke.segments[self.segment_ids[slot]]
        if self._is_gap[b]:
            progress = Progress(
                timestamp_s=t,
                repetition=int(self._tokarr[b, _REP]),
                segment=None,
                label="",
                fraction=0.0,
                reversed=False,
                guide_uv=np.asarray(seg.points[0]),
                speed_ratio=math.nan,
                distance_box=math.nan,
                completed=completed,
            )
        else:
            progress = self._segment_progress(b, slot, seg, t, completed)
        if revised:
            progress = replace(progress, revised=revised)
        self._progress = progress
        return progress

    def _confirmed(self, b: int, lc: np.ndarray, t: float) -> bool:
        """A finished segment is reported once the best path has clearly moved on: the
        hand seen away from it for confirm_s, or confirm_fraction into the next segment.
        Time the hand was not seen does not count: a hand unseen for a while (passing
        over the other hand, the detector sees one) may be found again on the path, and
        the best path goes back to the segment it seemed to leave."""
        end = float(lc[4])
        unseen = sum(max(0.0, b1 - max(b0, end)) for b0, b1 in self._blind)
        if t - end - unseen >= self.config.confirm_s:
            return True
        if self._is_gap[b]:
            return False
        frac = self._fraction_one(b)
        return bool(frac >= self.config.confirm_fraction)

    def pending(self) -> tuple[SegmentRecord, ...]:
        """The finished segment not yet reported (for the end of a session)."""
        lc = self._tokarr[self._current_best(), _LC]
        if np.isnan(lc[0]) or (float(lc[0]), float(lc[1])) <= self._emitted:
            return ()
        return (self._record(lc),)

    def report_pending(self) -> tuple[SegmentRecord, ...]:
        """The finished segment not yet reported, reported now (it is not again): the
        coach stops following this hand, and what it finished before counts."""
        out = self.pending()
        if out:
            lc = self._tokarr[self._current_best(), _LC]
            self._emitted, self._emitted_rev = (float(lc[0]), float(lc[1])), float(lc[2])
            self._blind = [b for b in self._blind if b[1] > lc[4]]
        return out

    def _segment_progress(self, b: int, slot: int, seg, t: float, completed) -> Progress:
        frac = min(max(self._fraction_one(b), 0.0), 1.0)
        elapsed = t - float(self._tokarr[b, _START])
        n = len(seg.points)
        nominal_frac = elapsed / float(seg.nominal_s)
        if seg.closed:
            entry = int(self._tokarr[b, _ENTRY])
            if self._rev[b]:
                entry = n - 1 - entry  # guide runs the correct (clockwise) way from the same place
            guide = seg.points[int(entry + nominal_frac * n) % n]
        else:
            guide = seg.points[min(int(round(min(nominal_frac, 1.0) * (n - 1))), n - 1)]
        mile = self._tokarr[b, _MILE]
        speed = math.nan
        if frac >= 0.3 and not np.isnan(mile[0]):
            dur = _duration_from_milestones(mile, float(seg.nominal_s), self._noise_frac()[slot])
            if dur > 0:
                speed = float(seg.nominal_s) / dur
        return Progress(
            timestamp_s=t,
            repetition=int(self._tokarr[b, _REP]),
            segment=int(self.segment_ids[slot]),
            label=seg.label,
            fraction=frac,
            reversed=bool(self._rev[b]),
            guide_uv=np.asarray(guide),
            speed_ratio=speed,
            distance_box=math.hypot(*(self._pos[b] - self._last_uv)),
            completed=completed,
            elapsed_s=t - float(mile[0]) if not np.isnan(mile[0]) else math.nan,
            at_fraction=frac if seg.closed else self._at_fraction(b),
        )

    def _tokens(self) -> dict[str, np.ndarray]:
        """Column views of the current tokens."""
        return _token_views(self._tokarr)

    def _stale(self, t: float) -> Progress | None:
        """Hand not seen: keep the alignment, report the last progress with no distance."""
        if self._progress is None:
            return None
        return replace(
            self._progress, timestamp_s=t, distance_box=math.nan, completed=(), revised=()
        )


_TOKEN_COLUMNS = {
    "rep": 0,
    "start": 1,
    "travel": 2,
    "steps": 3,
    "dsum": 4,
    "n": 5,
    "entry": 6,
    "nmile": 7,  # how many of _MILESTONES are reached (they are reached in order)
    "mile": slice(8, 8 + len(_MILESTONES)),
    "lc": slice(8 + len(_MILESTONES), 16 + len(_MILESTONES)),
    "peak": 16 + len(_MILESTONES),  # the furthest along the path the travel reached
}
_TOKEN_WIDTH = 17 + len(_MILESTONES)
_REP, _START, _TRAVEL, _STEPS, _DSUM, _N, _ENTRY, _NMILE = range(8)
_PEAK = _TOKEN_COLUMNS["peak"]
_MILE = _TOKEN_COLUMNS["mile"]
_LC = _TOKEN_COLUMNS["lc"]
_MILE0 = _MILE.start  # (plain ints for the compiled step)
_LC0 = _LC.start
_LC_END = _LC.stop


def _token_views(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Column views of a token array: writing to a view writes to the array."""
    views = {name: arr[:, col] for name, col in _TOKEN_COLUMNS.items()}
    views["_arr"] = arr
    return views


#: Whole-stroke duration over the time from 10% to 90% of the path, for a steady
#: stroke (1 / 0.8) and for a bell-shaped one (minimum jerk: 1 / 0.50673).
_STEADY_SCALE = 1.25
_BELL_SCALE = 1.97345
#: The shape index (see _duration_compiled) is 1 for a steady stroke and 1.2995 for a
#: minimum-jerk one; up to 1.15 is taken as steady: milestone times are whole frames (a
#: few dropped frames move the index by 0.1), and the smoothing stage eases the start of
#: a steady stroke a little (a steady moon arc of Sun and Moon reads about 1.15).
_STEADY_SHAPE = 1.15
_BELL_SHAPE = 1.2995
_MAX_SCALE = 2.2
_MAX_K = (_MAX_SCALE - _STEADY_SCALE) / (_BELL_SCALE - _STEADY_SCALE)
#: A shape blurred by jitter is taken towards the middle of steady (k = 0) and bell
#: (k = 1): real strokes spread about that much (standard deviation 0.5 in k).
_PRIOR_K = 0.6
_PRIOR_K_VAR = 0.25


def _project_on_path(q: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point of ``q`` (m, 2): how far along the open polyline ``pts`` (n, 2)
    its nearest point lies (box widths from ``pts[0]``) and how far from it it is."""
    a, b = pts[:-1], pts[1:]
    ab = b - a
    seg_len = np.hypot(ab[:, 0], ab[:, 1])
    before = np.concatenate(([0.0], np.cumsum(seg_len)[:-1]))
    w = q[:, None, :] - a[None, :, :]
    denom = np.where(seg_len > 0, seg_len**2, 1.0)
    s = np.clip(np.einsum("mnk,nk->mn", w, ab) / denom, 0.0, 1.0)
    near = a[None] + s[..., None] * ab[None]
    dist = np.hypot(*(q[:, None, :] - near).transpose(2, 0, 1))
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(q))
    return before[best] + s[rows, best] * seg_len[best], dist[rows, best]


def _direction_trust(speed: float, jitter_speed: float) -> float:
    """How far the direction of a velocity estimate can be trusted (0..1), when jitter
    alone gives a still hand the speed ``jitter_speed``: the part of the squared speed
    that is not jitter, ``1 - (jitter_speed / speed)^2`` (jitter adds to the squared speed
    of the motion, and turns the estimate about at random), 0 when jitter explains it all."""
    if not speed > jitter_speed:
        return 0.0
    return 1.0 - (jitter_speed / speed) ** 2


def _duration_from_milestones(mile: np.ndarray, nominal_s: float, noise_frac: float = 0.0) -> float:
    """Pace estimate: the duration of the whole stroke, from the times at which the hand
    passed 10%, 30%, ... of the path (see :func:`_duration_compiled`; ``noise_frac``: how
    far off along the path the hand's point may be, a fraction of it). NaN when the
    hand did not get past 30%."""
    mile = np.asarray(mile, np.float64)
    return float(_duration_compiled(mile, nominal_s, _MILESTONES, float(noise_frac)))


def _coarsen(points: np.ndarray, step_box: float, closed: bool) -> np.ndarray:
    """The path with states every ``step_box`` of arc length along it, corners (turns of
    more than 20 degrees) kept exactly, in the same direction. Curves stay curves."""
    pts = np.vstack([points, points[:1]]) if closed else np.asarray(points)
    if closed:
        return _along_arc(pts, step_box)[:-1]
    seg = np.diff(pts, axis=0)
    d = seg / np.maximum(np.linalg.norm(seg, axis=1, keepdims=True), 1e-12)
    turn = np.einsum("ij,ij->i", d[:-1], d[1:]) < np.cos(np.radians(20))
    cuts = np.concatenate([[0], np.flatnonzero(turn) + 1, [len(pts) - 1]])
    pieces = [
        _along_arc(pts[a : b + 1], step_box) for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    return np.vstack([pieces[0]] + [p[1:] for p in pieces[1:]])


def _along_arc(pts: np.ndarray, step_box: float) -> np.ndarray:
    """Points every ~``step_box`` along a polyline (first and last point kept)."""
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    n = max(1, int(np.ceil(cum[-1] / step_box)))
    s = np.linspace(0.0, cum[-1], n + 1)
    return np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])


def _smoothed_tangents(points: np.ndarray, closed: bool, window_box: float) -> np.ndarray:
    """Unit tangents of a path, averaged over ``window_box`` of arc length (soft corners)."""
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    if n < 2:
        return np.zeros((n, 2))
    nxt = np.roll(pts, -1, axis=0) if closed else np.vstack([pts[1:], pts[-1:]])
    seg = nxt - pts
    if not closed:
        seg[-1] = pts[-1] - pts[-2]
    step = float(np.median(np.linalg.norm(seg, axis=1))) or 1.0
    half = max(1, int(round(window_box / step / 2)))
    out = np.zeros_like(seg)
    for i in range(n):
        if closed:
            idx = np.arange(i - half, i + half + 1) % n
        else:
            idx = np.arange(max(0, i - half), min(n, i + half + 1))
        out[i] = seg[idx].sum(axis=0)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return out / norm


def warm_up() -> None:
    """Compile the per-frame step now (a few seconds the first time, then read from
    numba's cache), so the first frame of a session does not wait for it."""

    m = OnlineMatcher(load_stroke("i-love-you"))
    for i in range(3):
        m.update(np.array([0.5, 0.2 + 0.01 * i]), i / 30.0)


@numba.njit(cache=True, nogil=True)
def _advance_rows(
    old_cost, pred, pen, cols, adv_base, slack, entry_col, shift_of_col,
    pos_u, pos_v, tangent, qx, qy, sx, sy, w, wx, wy,
    cap, inv_sigma2, chain_idx, len_open, n_closed, milestones, t,
    old_tok, new_tok, new_cost,
):  # fmt: skip
    """One alignment step for every state row (compiled: a loop over a few hundred rows
    and a handful of columns is cheaper than the dozens of array operations it replaces).

    Per row: the cost of being here now (distance to the hand, capped, plus the direction
    term), the best predecessor (stay, advance by j, or enter from the gap; the first
    of equal ones), and the token it passes on: entering starts a fresh one, otherwise
    the hand's step along the row's tangent, the reference points advanced and the
    distance are added, and milestones passed get the time ``t`` (the first, 10%, is
    unset again when the hand falls back below it before 30%: its time is the last
    crossing).
    Advancing j points costs ``max(0, adv_base[j] - slack)`` (the entry column's base is
    -inf). Gap rows are computed too (their predecessors are all the unreachable
    sentinel) and overwritten by :func:`_gap_rows_step`; the sentinel row is copied.
    """
    n = pos_u.shape[0]
    k_cols = pred.shape[1]
    width = old_tok.shape[1]
    n_mile = milestones.shape[0]
    mile0 = _MILE0
    excess = np.empty(k_cols)
    for j in range(k_cols):
        excess[j] = max(adv_base[j] - slack, 0.0)
    for r in range(n):
        best = np.inf
        pick = 0
        for j in range(k_cols):
            c = old_cost[pred[r, j]] + pen[r, j] + excess[j]
            if c < best:
                best = c
                pick = j
        du = pos_u[r] - qx
        dv = pos_v[r] - qy
        d = math.hypot(du, dv)
        m = min(d, cap)
        local = m * m * inv_sigma2 + w - (tangent[r, 0] * wx + tangent[r, 1] * wy)
        new_cost[r] = best + local
        src = pred[r, pick]
        for c_ in range(width):
            new_tok[r, c_] = old_tok[src, c_]
        col = cols[pick]
        if col == entry_col:
            new_tok[r, _START] = t
            new_tok[r, _TRAVEL] = 0.0
            new_tok[r, _PEAK] = 0.0
            new_tok[r, _STEPS] = 0.0
            new_tok[r, _DSUM] = d
            new_tok[r, _N] = 1.0
            new_tok[r, _ENTRY] = chain_idx[r]
            new_tok[r, _NMILE] = 0.0
            for i in range(n_mile):
                new_tok[r, mile0 + i] = np.nan
            continue
        # (A hand behind where it entered has made no progress: the smoothing settling or
        # jitter at the start does not bank travel that the stroke must make up first.)
        travel = max(new_tok[r, _TRAVEL] + (tangent[r, 0] * sx + tangent[r, 1] * sy), 0.0)
        steps = new_tok[r, _STEPS] + shift_of_col[col]
        new_tok[r, _TRAVEL] = travel
        # (How far it got: a hand that reached the end and drifts back while it lifts off
        # has still done the stroke; the net travel is for the milestones.)
        if travel > new_tok[r, _PEAK]:
            new_tok[r, _PEAK] = travel
        new_tok[r, _STEPS] = steps
        new_tok[r, _DSUM] += d
        new_tok[r, _N] += 1.0
        frac = travel / len_open[r] + steps / n_closed[r]
        k = int(new_tok[r, _NMILE])
        # The start of the stroke is its last crossing of 10%: the jitter of a hand
        # resting at the start goes to and fro across it. (Later milestones keep their
        # first crossing: a hand resting at the end goes to and fro across 90%.)
        if k == 1 and frac < milestones[0]:
            k = 0
            new_tok[r, mile0] = np.nan
        while k < n_mile and frac >= milestones[k]:
            new_tok[r, mile0 + k] = t
            k += 1
        new_tok[r, _NMILE] = k
    for c_ in range(width):
        new_tok[n, c_] = old_tok[n, c_]
    new_cost[n] = np.inf


@numba.njit(cache=True, nogil=True)
def _gap_rows_step(
    old_cost, old_tok, new_cost, new_tok, gap_rows, local_gap, exit_mat, exit_pen_mat,
    skip_penalty, min_coverage, seg, rev, closed, n_of, length, nominal, milestones,
    blank, t, noise_frac,
):  # fmt: skip
    """The gap rows of one step: each gap stays, takes the best exit of the segment
    before it (closing that segment's record when enough of it was done), or skips that
    segment; ties go in that order. Then all costs are shifted so the best is 0."""
    n_gaps = gap_rows.shape[0]
    width = old_tok.shape[1]
    for slot in range(n_gaps):
        g = gap_rows[slot]
        prev_g = gap_rows[slot - 1 if slot > 0 else n_gaps - 1]
        leave = np.inf
        exit_row = exit_mat[slot, 0]
        for i in range(exit_mat.shape[1]):
            c = old_cost[exit_mat[slot, i]] + exit_pen_mat[slot, i]
            if c < leave:
                leave = c
                exit_row = exit_mat[slot, i]
        stay = old_cost[g]
        skip = old_cost[prev_g] + skip_penalty
        if stay <= leave and stay <= skip:
            choice, src, cost = 0, g, stay
        elif leave <= skip:
            choice, src, cost = 1, exit_row, leave
        else:
            choice, src, cost = 2, prev_g, skip
        new_cost[g] = cost + local_gap[slot]
        # The gap's token: the source's repetition and last record, nothing in progress.
        for c_ in range(width):
            new_tok[g, c_] = blank[c_]
        new_tok[g, _REP] = old_tok[src, _REP]
        for c_ in range(_LC0, _LC_END):
            new_tok[g, c_] = old_tok[src, c_]
        if choice == 1:
            _leave(old_tok, new_tok, g, src, slot == 0, min_coverage, seg, rev, closed,
                   n_of, length, nominal, milestones, t, noise_frac)  # fmt: skip
        elif choice == 2 and slot == 0:
            new_tok[g, _REP] += 1  # skipped the last segment: the next repetition
    n = new_cost.shape[0] - 1
    best = np.inf
    for r in range(n):
        best = min(best, new_cost[r])
    for r in range(n):
        new_cost[r] -= best
    new_cost[n] = np.inf


@numba.njit(cache=True, nogil=True)
def _leave(
    old_tok, new_tok, g, row, wraps, min_coverage, seg, rev, closed, n_of, length,
    nominal, milestones, t, noise_frac,
):  # fmt: skip
    """Gap ``g`` takes the path that leaves the segment at ``row``: its record is closed
    if enough of the segment was done, and the repetition moves on after the last one."""
    slot = seg[row]
    if closed[row]:
        frac = old_tok[row, _STEPS] / n_of[row]
        keep = frac >= max(0.5, min_coverage)
    else:
        frac = old_tok[row, _PEAK] / length[slot]
        keep = frac >= min_coverage
    if keep:
        n = old_tok[row, _N]
        new_tok[g, _LC0 + 0] = old_tok[row, _REP]
        new_tok[g, _LC0 + 1] = slot
        new_tok[g, _LC0 + 2] = 1.0 if rev[row] else 0.0
        new_tok[g, _LC0 + 3] = old_tok[row, _START]
        new_tok[g, _LC0 + 4] = t
        mile = old_tok[row, _MILE0 : _MILE0 + milestones.shape[0]]
        coverage = min(max(frac, 0.0), 1.0)
        new_tok[g, _LC0 + 5] = _within(
            _duration_compiled(mile, nominal[slot], milestones, noise_frac[slot]),
            old_tok[row, _START],
            t,
            coverage,
        )
        new_tok[g, _LC0 + 6] = coverage
        new_tok[g, _LC0 + 7] = old_tok[row, _DSUM] / n if n > 0 else np.nan
    if wraps:
        new_tok[g, _REP] = old_tok[row, _REP] + 1


@numba.njit(cache=True, nogil=True)
def _within(duration_s, start_s, end_s, coverage):
    """A finished segment's (whole-stroke) duration is at most the time the hand spent in
    it (from entering it to leaving it) over the part of it done: jittery milestones can
    make the estimate longer than that."""
    if np.isnan(duration_s) or np.isnan(start_s) or end_s <= start_s or not coverage > 0:
        return duration_s
    return min(duration_s, (end_s - start_s) / coverage)


@numba.njit(cache=True, nogil=True)
def _duration_compiled(mile, nominal_s, milestones, noise_frac=0.0):
    """The stroke's duration from its milestone times (10%, 30%, ..., 90% of the path).

    People speed up and slow down within a stroke (a bell-shaped speed), so the time
    from 10% to 90% is a smaller part of the whole for them than for a steady stroke.
    With all five milestones the shape is read from them: the index ``(t30 - t10 +
    t90 - t70) / (t70 - t30)`` is 1 for a steady stroke and 1.30 for a minimum-jerk
    one, and the 10-90% time is scaled by 1.25 (index up to 1.15) to 1.97 (index 1.30)
    accordingly (a linear blend, capped at 2.2). A stroke that stopped short is scaled
    as a steady one over what it did. So pace is judged over the whole letter or
    circle, never at its speed peak.

    Jitter blurs the shape: a hand point that may be ``noise_frac`` of the path off
    along it passes each milestone that much of the path early or late, which is a long
    time where the hand is slow (at 10% and 90%). The index read is then trusted only as
    far as it stands out of that blur (its variance against the spread of real strokes'
    shapes), and otherwise taken halfway between steady and bell: a jittery short
    stroke whose index reads 0.8 is not taken for a steady one (nor for a slow one)."""
    count = 0
    last = -1
    for i in range(mile.shape[0]):
        if not np.isnan(mile[i]):
            count += 1
            last = i
    if count < 2 or np.isnan(mile[0]):
        return np.nan
    span = mile[last] - mile[0]
    frac = milestones[last] - milestones[0]
    if span <= 0:
        return np.nan
    if count < 5:
        return span / frac
    inner = mile[3] - mile[1]
    if inner <= 0:
        return span * _MAX_SCALE
    shape = (mile[1] - mile[0] + mile[4] - mile[3]) / inner
    k = (shape - _STEADY_SHAPE) / (_BELL_SHAPE - _STEADY_SHAPE)
    k = min(max(k, 0.0), _MAX_K)
    if noise_frac > 0:
        # Time per fraction of the path at each milestone (from its neighbours), times
        # the position noise: how early or late each milestone may be (seconds).
        e0 = noise_frac * (mile[1] - mile[0]) / (milestones[1] - milestones[0])
        e1 = noise_frac * (mile[2] - mile[0]) / (milestones[2] - milestones[0])
        e3 = noise_frac * (mile[4] - mile[2]) / (milestones[4] - milestones[2])
        e4 = noise_frac * (mile[4] - mile[3]) / (milestones[4] - milestones[3])
        # The index's variance from them (first order), in units of k.
        var = (e0 * e0 + e4 * e4 + (e1 * e1 + e3 * e3) * (1.0 + shape) ** 2) / (inner * inner)
        var /= (_BELL_SHAPE - _STEADY_SHAPE) ** 2
        k = _PRIOR_K + (k - _PRIOR_K) * _PRIOR_K_VAR / (_PRIOR_K_VAR + var)
    scale = _STEADY_SCALE + (_BELL_SCALE - _STEADY_SCALE) * k
    return span * min(max(scale, _STEADY_SCALE), _MAX_SCALE)
