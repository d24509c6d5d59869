"""Off-path stage: finds a stroke performed in the wrong place.

A stroke done well but in the wrong place (the I on the baby's right side, a Sun
circle above the ribs) is the right shape shifted. The matcher only follows a hand
that stays within about a third of the box of the path, so this stage looks for
the shift: every second it slides the hand's recent path (the last ``window_s``)
over a distance map of the reference and keeps the shift with the best fit. When
the best shift is large (more than ``engage_box``) and fits much better than no
shift, the matcher is fed the hand minus that shift, and the shift is reported so
the repetitions are flagged ``off_path``. Small shifts (tracking bias of fingertip
landmarks) are left to the matcher, which tolerates them.

A tummy box drawn too big makes every stroke read smaller in box units (a box 20% too
big: 0.83 of its size), and a letter then covers less of its path than the hand drew
(under 0.7 on a fast one: ``incomplete``). When the hand's recent path spans clearly
less of the box than the reference both ways, and the path scaled up by that much
about the box centre fits the reference about as well as unscaled, the scale is taken
off too (:func:`corrected`). Never below 1 (a path jitter spreads out is not a big
stroke), at most ``max_scale``, and never for a line (a paddle): a short line may be
an incomplete one.

Work per frame is constant: a bounded buffer, and one search per second over a
fixed grid of shifts, spread over a few frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from coach.core.strokes import StrokeDefinition

_MAP_LO, _MAP_HI, _MAP_STEP = -1.0, 2.0, 0.01  # distance map over this square of the body frame
_CHUNK = 32  # shifts tried per frame
_MAP_QUANTUM = 1e-4  # the distance map holds whole multiples of this (box widths), as uint16
_MAX_SHIFT_CELLS = 80  # the largest shift searched, coarse and fine steps together (cells)
_DONE = object()
#: The calibration box's centre (body frame): a box drawn too big is scaled about it.
CENTRE = np.array([0.5, 0.5])


def corrected(uv: np.ndarray, shift: np.ndarray, scale: float) -> np.ndarray:
    """The hand's point with a tracking bias and a calibration scale taken off: scaled by
    ``scale`` about the box centre, then moved back by ``shift`` (box widths)."""
    if scale == 1.0:
        return uv - shift  # (the usual case, every frame: one operation)
    return CENTRE + scale * (uv - CENTRE) - shift


@dataclass(frozen=True)
class OffsetConfig:
    window_s: float = 10.0  # how much of the recent path is fitted
    sample_hz: float = 4.0  # the path is kept at this rate
    update_every_s: float = 1.0
    search_box: float = 0.7  # shifts up to this far are tried
    coarse_step_box: float = 0.1
    # Smaller shifts are tracking bias, not a mistake: fingertip landmarks may sit a
    # quarter of the box off, and a search on a jittery path then finds up to 0.3.
    engage_box: float = 0.36
    release_box: float = 0.3  # hysteresis: an engaged shift is dropped below this
    fit_box: float = 0.07  # the shifted path must fit the reference this well (trimmed mean)
    gain: float = 2.0  # ... and this many times better than no shift
    # Tracking bias (fingertip landmarks sit off the true fingertips, up to a quarter of the
    # box): a shift up to ``bias_box`` that fits clearly better than none is taken off the
    # hand before matching, and is not a mistake. The fit may be looser (jittery landmarks).
    bias_box: float = 0.36
    bias_fit_box: float = 0.12
    bias_gain: float = 1.5
    bias_min_box: float = 0.04  # a smaller shift is not worth correcting
    min_points: int = 16  # fit only with at least this many samples
    # ... spread over at least this much (box widths): a hand that stays in one place fits
    # many shifts of the path equally (a resting hand sits on some shift of any circle),
    # so it tells nothing; the shift found so far is kept until the hand moves again.
    min_extent_box: float = 0.3
    trim: float = 0.7  # the best 70% of the points count (lifted moves don't fit anything)
    # Fits are read off a map of 0.01-box cells and the hand's point jitters by about as
    # much: fits less than this apart (box widths) are equal, and a fit below it is as
    # good as perfect (a ratio of two such fits says nothing). "Better than no shift" is
    # measured against at least this.
    floor_box: float = 0.01
    # A box drawn too big (up to 30%): the path's extent (second smallest to second
    # largest sample, each way) against the reference's. A scale is taken only when both
    # ways read at least ``min_scale`` and at most ``max_scale`` (more is a path that does
    # not span the stroke yet: part of a letter, an arc of a slow circle), the smaller of
    # the two, rounded down to ``scale_step``; and only where the reference spans at least
    # ``scale_extent_box`` both ways (a line, a paddle, says nothing of its own scale: a
    # short one may be an incomplete one). The scaled path must fit the reference to
    # within ``floor_box`` of the unscaled fit (a circle's arc read too small does not).
    min_scale: float = 1.1
    max_scale: float = 1.3
    scale_step: float = 0.05
    scale_extent_box: float = 0.3


class OffsetEstimator:
    """``update(uv, t)`` -> the shift to subtract from the hand (zeros when none).

    ``engaged`` says the shift is a stroke done in the wrong place (report it as
    ``off_path``); otherwise a non-zero shift is tracking bias, corrected silently."""

    def __init__(
        self,
        stroke: StrokeDefinition,
        segment_ids: Sequence[int] | None = None,
        config: OffsetConfig | None = None,
    ) -> None:
        self.config = config or OffsetConfig()
        ids = range(len(stroke.segments)) if segment_ids is None else segment_ids
        dist = _distance_map([stroke.segments[i] for i in ids])
        self._last_cell = dist.shape[0] - 1
        ref = np.vstack([np.asarray(stroke.segments[i].points, float) for i in ids])
        self._ref_extent = np.ptp(ref, axis=0)
        # (How far a change of scale moves a point of the reference, per unit of scale.)
        self._reach_box = float(np.max(np.hypot(*(ref - CENTRE).T)))
        # Row v, column u, 16-bit (a quarter of float64: after the hand landmarker has run
        # a frame, few of the scattered lookups are still in the cache). The map is padded
        # with its edge values by twice the largest shift, so that a shifted path needs no
        # clipping: a point is clipped once, to within one largest shift of the map, and
        # any shift then stays inside the padding, where the value is the edge's, exactly
        # as clipping the shifted point would give.
        self._pad = 2 * _MAX_SHIFT_CELLS
        padded = np.pad(np.rint(dist / _MAP_QUANTUM).astype(np.uint16), self._pad, mode="edge")
        self._width = padded.shape[1]
        self._flat_map = padded.ravel()
        # Shifts are whole cells of the map, (du, dv): a shifted path is an index offset.
        g = _cells(
            np.arange(
                -self.config.search_box, self.config.search_box + 1e-9, self.config.coarse_step_box
            )
        )
        self._coarse = np.array([(a, b) for a in g for b in g], dtype=np.int64)
        # The coarse shifts that are surely tracking bias (below release_box, where an
        # engaged shift is dropped): a stroke in the wrong place must fit clearly better.
        self._coarse_small = np.hypot(*self._coarse.T) * _MAP_STEP < self.config.release_box
        f = np.arange(-2, 3)
        self._fine = [
            np.array([(a, b) for a in f * c for b in f * c], dtype=np.int64)
            for c in _cells(np.array([0.03, 0.01]))
        ]
        reach = int(np.abs(self._coarse).max() + sum(np.abs(g).max() for g in self._fine))
        if reach > _MAX_SHIFT_CELLS:
            raise ValueError(
                f"offset search: expected shifts up to {_MAX_SHIFT_CELLS * _MAP_STEP:g} box, "
                f"found {reach * _MAP_STEP:g} (search_box {self.config.search_box:g})"
            )
        self.reset()

    def reset(self) -> None:
        n = int(self.config.window_s * self.config.sample_hz) + 1
        # The recent path, a ring of samples (their order does not matter to the fit).
        self._ring = np.zeros((n, 2))
        self._count = 0
        self._next = 0
        self._last_sample_t = -np.inf
        self._last_fit_t = -np.inf
        self.offset = np.zeros(2)  # the shift taken off the hand (bias or misplaced stroke)
        self.scale = 1.0  # the hand's path is read this many times bigger (box drawn too big)
        self.engaged = False  # the shift is a stroke done in the wrong place (off_path)
        self.fit_box = np.nan
        self.fitted = False  # a search has been done: the shift is known (none, bias, misplaced)
        self._bias_streak = 0  # searches in a row that found (about) the bias in use
        self._fitting: Iterator[None] | None = None

    def update(self, uv: np.ndarray | None, timestamp_s: float) -> np.ndarray:
        cfg = self.config
        t = float(timestamp_s)
        if uv is not None and t - self._last_sample_t >= 1.0 / cfg.sample_hz:
            self._ring[self._next] = uv
            self._next = (self._next + 1) % len(self._ring)
            self._count = min(self._count + 1, len(self._ring))
            self._last_sample_t = t
        if (
            self._fitting is None
            and t - self._last_fit_t >= cfg.update_every_s
            and self._count >= cfg.min_points
        ):
            self._last_fit_t = t
            pts = self._ring[: self._count]
            if float(np.hypot(*np.ptp(pts, axis=0))) >= cfg.min_extent_box:
                self._fitting = self._fit(pts.copy())
        if self._fitting is not None and next(self._fitting, _DONE) is _DONE:
            self._fitting = None
        return self.offset

    def change_box(
        self, shift: np.ndarray, scale: float, other_shift: np.ndarray, other_scale: float
    ) -> float:
        """How far (box widths, at most) a point on the reference moves between two
        corrections (:func:`corrected`)."""
        moved = float(np.linalg.norm(np.asarray(shift) - np.asarray(other_shift)))
        return moved + abs(scale - other_scale) * self._reach_box

    @property
    def empty(self) -> bool:
        """No path kept yet (new, or just reset)."""
        return self._count == 0

    def _flat(self, cells: np.ndarray) -> np.ndarray:
        """Indices into the padded map of path points (cells, (n, 2)), clipped once."""
        m = _MAX_SHIFT_CELLS
        c = np.maximum(cells, -m)  # not np.clip: its wrapper costs more than the work
        np.minimum(c, self._last_cell + m, out=c)
        c += self._pad
        return c[:, 1] * self._width + c[:, 0]

    def _cost(self, flat: np.ndarray, shifts: np.ndarray) -> np.ndarray:
        """Trimmed mean distance of the path (:meth:`_flat` indices) moved back by each
        shift (cells, (m, 2)) from the reference, per shift."""
        d = self._flat_map[flat[None, :] - (shifts[:, 1] * self._width + shifts[:, 0])[:, None]]
        k = max(1, int(self.config.trim * flat.shape[0]))
        d = np.partition(d, k - 1, axis=1)[:, :k]
        return d.sum(axis=1, dtype=np.float64) * (_MAP_QUANTUM / k)

    def _fit(self, pts: np.ndarray) -> Iterator[None]:
        """One search, a slice of it per frame (so no frame pays for all of it)."""
        cfg = self.config
        cells = self._flat(_cells(pts - _MAP_LO))
        # In place: the best fit within the fine steps' reach of no shift (0.08 box, about
        # a tracking bias). When it fits as well as the best shift, or to within floor_box
        # (as good as perfect), the smaller shift wins: the path is in place. (A vertical
        # line fits the I column and the U's other column alike, and any shift along
        # itself.)
        near_shift, near = np.zeros(2, dtype=np.int64), np.inf
        for grid in self._fine:
            shifts = near_shift + grid
            cost = self._cost(cells, shifts)
            i = int(np.lexsort((np.abs(shifts).sum(axis=1), cost))[0])  # ties: the smallest
            near_shift, near = shifts[i], float(cost[i])
        yield  # the set-up and the search near no shift are one frame's work, each slice
        # of shifts another's
        # The best shift of all, and the best of those that are surely tracking bias
        # (below release_box): a stroke is in the wrong place only where no bias explains
        # it. Coarse fits within floor_box of each other are equal: of those, the one
        # nearest the shift in use is refined (none at first: a line fits any shift along
        # itself, and a partial I read 0.24 box up or down alike).
        coarse = np.empty(len(self._coarse))
        for start in range(0, len(self._coarse), _CHUNK):
            coarse[start : start + _CHUNK] = self._cost(cells, self._coarse[start : start + _CHUNK])
            yield
        held = _cells(self.offset)
        shift = self._coarse[_smallest_of_best(coarse, self._coarse - held, cfg.floor_box)]
        small_cost = np.where(self._coarse_small, coarse, np.inf)
        small = self._coarse[_smallest_of_best(small_cost, self._coarse - held, cfg.floor_box)]
        small_fit = bias_fit = float(small_cost.min())  # (bias_fit: the best a bias gives)
        refine_small = _size_box(shift) > cfg.bias_box  # (else the best may be a bias itself)
        for grid in self._fine:  # refine around the best: steps of 0.03, then 0.01
            shifts = shift + grid
            cost = self._cost(cells, shifts)
            i = _smallest_of_best(cost, shifts, 0.0)  # (the fit decides here: exact ties)
            shift, fit = shifts[i], float(cost[i])
            if refine_small:  # ... and around the best bias shift, staying below
                shifts = small + grid
                cost = self._cost(cells, shifts)
                cost[np.hypot(*shifts.T) * _MAP_STEP >= cfg.release_box] = np.inf
                i = _smallest_of_best(cost, shifts, 0.0)
                small, small_fit = shifts[i], float(cost[i])
            yield
        in_place = near <= max(fit, cfg.floor_box)  # (the path fits about where it is)
        if in_place:
            shift, fit = near_shift, near
        here = float(self._cost(cells, np.zeros((1, 2), dtype=np.int64))[0])
        # The best fit a tracking bias gives (no shift, the search near it, the best shift
        # below release_box): a shift further off must fit clearly better than that to
        # become a stroke in the wrong place. A line fits many shifts (the I fits the U's
        # other column 0.6 box away, and any shift along itself): with a fifth of the box
        # of bias, the far one may fit a little better by the jitter, and a good I Love You
        # was flagged off_path (and its L read short) until the next search.
        if near <= small_fit:
            small, small_fit = near_shift, near
        if here <= small_fit:
            small, small_fit = np.zeros(2, dtype=np.int64), here
        bias_fit = min(bias_fit, small_fit)
        # A bias found before is the landmarks' or the box's and stays for the session: a
        # path that fits in place about as well as with it (to within floor_box) does not
        # drop it (the hand resting, then moving along a line of the path, which fits any
        # shift along itself: a good I Love You read without its quarter-box bias for a
        # few seconds took the hand going back up the I for an I drawn backwards). Only a
        # bias two searches in a row have found (one search on a jittery path can find a
        # tenth of the box where there is none), and another shift that fits better
        # replaces it as before (an early search on an arc of a circle finds it roughly).
        held_kept = False
        if not self.engaged and self.offset.any() and self._bias_streak >= 2:
            held = _cells(self.offset)
            if in_place:
                held_fit = float(self._cost(cells, held[None])[0])
                if held_fit <= min(fit, here) + cfg.floor_box:
                    shift, fit = held, held_fit
            held_kept = _size_box(shift - held) <= cfg.bias_min_box  # (found again)
        clear = fit <= cfg.fit_box and bias_fit >= cfg.gain * max(fit, cfg.floor_box)
        if not self.engaged and _size_box(shift) > cfg.bias_box and not clear:
            shift, fit = small, small_fit  # not clearly a misplaced stroke: the bias
        shift_box = shift * _MAP_STEP
        size = float(np.linalg.norm(shift_box))
        floor = max(fit, cfg.floor_box)
        good = fit <= cfg.fit_box and here >= cfg.gain * floor
        # (A new bias must fit clearly better than none; the one held, found again, only
        # no worse than none, to within floor_box.)
        bias = (
            cfg.bias_min_box <= size <= cfg.bias_box
            and fit <= cfg.bias_fit_box
            and here >= (fit - cfg.floor_box if held_kept else cfg.bias_gain * floor)
        )
        engaged = self.engaged
        if engaged:
            if not good or size < cfg.release_box:
                engaged = False
                offset = shift_box if bias else np.zeros(2)
            else:
                offset = shift_box
        elif clear and size >= cfg.engage_box:
            engaged = True
            offset = shift_box
        else:
            offset = shift_box if bias else np.zeros(2)
        fit_now = fit if offset.any() else here
        scale = None if engaged else self._scale_of(pts)
        if scale is None and not engaged and self.scale != 1.0:
            # Not clear from this path (a slow circle's arc, a letter begun): the scale
            # found before is kept while the path fits it about as well as unscaled.
            scale = self.scale
        if scale is not None:
            # A box drawn too big: the path scaled up about the box centre, the shift
            # found above moved with it (so that the path's mean stays put) and refined;
            # taken when it fits about as well as unscaled (a circle's arc read too small
            # fits clearly worse).
            yield
            at = _cells(offset + (scale - 1.0) * (pts.mean(axis=0) - CENTRE))
            scaled = self._flat(_cells(CENTRE + scale * (pts - CENTRE) - _MAP_LO))
            scaled_fit = np.inf
            for grid in self._fine:
                shifts = at + grid
                cost = self._cost(scaled, shifts)
                cost[np.hypot(*shifts.T) * _MAP_STEP > cfg.bias_box] = np.inf
                i = _smallest_of_best(cost, shifts - at, 0.0)
                at, scaled_fit = shifts[i], float(cost[i])
            if scaled_fit <= fit_now + cfg.floor_box:
                offset, fit = at * _MAP_STEP, scaled_fit
            else:
                scale = None
        # (All at once: the pipeline reads them between the slices of a search.)
        same = (
            bool(offset.any())
            and not engaged
            and self.change_box(offset, 1.0, self.offset, 1.0) <= cfg.bias_min_box
        )
        self._bias_streak = self._bias_streak + 1 if same else int(bool(offset.any()))
        self.engaged = engaged
        self.offset = offset
        self.scale = 1.0 if scale is None else scale
        self.fit_box = fit
        self.fitted = True

    def _scale_of(self, pts: np.ndarray) -> float | None:
        """The scale a path that spans clearly less of the box than the reference (both
        ways alike) reads at: the reference's extent over the path's (second smallest to
        second largest sample each way: one stray sample does not count), the smaller of
        the two ways, rounded down to ``scale_step``. None when not clearly (see
        :class:`OffsetConfig`)."""
        cfg = self.config
        if len(pts) < 4 or (self._ref_extent < cfg.scale_extent_box).any():
            return None
        ordered = np.sort(pts, axis=0)
        extent = ordered[-2] - ordered[1]
        if (extent <= 0).any():
            return None
        ratio = self._ref_extent / extent
        if ratio.min() < cfg.min_scale or ratio.max() > cfg.max_scale + cfg.scale_step:
            return None
        steps = np.floor((min(float(ratio.min()), cfg.max_scale) - 1.0) / cfg.scale_step + 1e-9)
        return 1.0 + float(steps) * cfg.scale_step


def _smallest_of_best(cost: np.ndarray, shifts: np.ndarray, tie_box: float) -> int:
    """Index of the smallest of ``shifts`` (cells; measured from the shift in use) among
    those whose cost is within ``tie_box`` of the lowest (the lower cost first among
    equally small ones)."""
    tied = np.flatnonzero(cost <= cost.min() + tie_box)
    size = np.hypot(*shifts[tied].T)
    return int(tied[np.lexsort((cost[tied], size))[0]])


def _size_box(shift_cells: np.ndarray) -> float:
    """The length of a shift of whole map cells, in box widths."""
    return float(np.hypot(*shift_cells)) * _MAP_STEP


def _cells(x: np.ndarray) -> np.ndarray:
    """Box widths to whole cells of the distance map."""
    return np.rint(np.asarray(x, dtype=np.float64) / _MAP_STEP).astype(np.int64)


def _distance_map(segments) -> np.ndarray:
    """Distance (box widths) from each cell of a grid to the nearest point of the reference."""
    n = int(round((_MAP_HI - _MAP_LO) / _MAP_STEP)) + 1
    pts = np.vstack([_dense(np.asarray(s.points, float), s.closed) for s in segments])
    idx = np.clip(np.rint((pts - _MAP_LO) / _MAP_STEP).astype(int), 0, n - 1)
    on_path = np.zeros((n, n), bool)
    on_path[idx[:, 1], idx[:, 0]] = True  # the path; rows are v, columns u
    cells = _distance_cells(np.packbits(on_path).tobytes(), n)
    return cells.astype(np.float32).astype(np.float64) * _MAP_STEP


@lru_cache(maxsize=32)
def _distance_cells(packed_path: bytes, n: int) -> np.ndarray:
    """:func:`_euclidean_distance_cells` of an ``n`` x ``n`` grid given as packed bits,
    remembered: every coach of a stroke builds the same maps."""
    on_path = np.unpackbits(np.frombuffer(packed_path, np.uint8), count=n * n).reshape(n, n)
    cells = _euclidean_distance_cells(on_path.astype(bool))
    cells.flags.writeable = False
    return cells


def _euclidean_distance_cells(on_path: np.ndarray, rows_at_once: int = 32) -> np.ndarray:
    """Exact Euclidean distance (cells) from every cell to the nearest ``True`` cell, in two
    passes: down each column, then along each row over those column distances (as OpenCV's
    precise distance transform, in float32 like it)."""
    rows, cols = on_path.shape
    i = np.arange(rows, dtype=np.float64)[:, None]
    above = np.maximum.accumulate(np.where(on_path, i, -np.inf), axis=0)
    below = np.minimum.accumulate(np.where(on_path, i, np.inf)[::-1], axis=0)[::-1]
    column = np.minimum(i - above, below - i)  # cells to the nearest path cell in the column
    column_sq = column**2
    j = np.arange(cols, dtype=np.float64)
    across_sq = (j[:, None] - j[None, :]) ** 2  # [target column, source column]
    out = np.empty((rows, cols), np.float64)
    for start in range(0, rows, rows_at_once):
        block = column_sq[start : start + rows_at_once]  # [row, source column]
        out[start : start + rows_at_once] = (block[:, None, :] + across_sq[None]).min(axis=2)
    return np.sqrt(out)


def _dense(points: np.ndarray, closed: bool, step: float = 0.01) -> np.ndarray:
    pts = np.vstack([points, points[:1]]) if closed else points
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        out.append(a + (b - a) * (np.arange(1, n + 1) / n)[:, None])
    return np.vstack(out)
