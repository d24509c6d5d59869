"""Overlay annotators for the live preview: pure functions, image in, new image out.

Each annotator draws one thing (the tummy box, the reference path, the guide
dot, the user's trace, the status band) onto an RGB uint8 image it owns;
:func:`draw` composes them for one :class:`coach.core.pipeline.FrameResult` and never
modifies its input.

Coordinates: everything the pipeline hands over is in normalised coordinates of
the frame *as received* (x right, y down). ``mirror=True`` shows the picture
flipped left-right like a selfie; the overlay is flipped with it and text stays
readable. Mirroring is display only: verdicts never depend on it.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), drawn with a dark outline so they read on light and dark scenes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import StrokeDefinition
from coach.core.types import FOLLOWING, LiveStatus, TrackPoint

if TYPE_CHECKING:  # the record only; importing the pipeline would load numba
    from coach.core.pipeline import FrameResult

RGB = tuple[int, int, int]

# Okabe-Ito palette, RGB.
BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)
ORANGE: RGB = (230, 159, 0)
SKY_BLUE: RGB = (86, 180, 233)
BLUISH_GREEN: RGB = (0, 158, 115)
YELLOW: RGB = (240, 228, 66)
BLUE: RGB = (0, 114, 178)
VERMILLION: RGB = (213, 94, 0)
REDDISH_PURPLE: RGB = (204, 121, 167)


@dataclass(frozen=True)
class Style:
    """Colours and sizes; sizes are fractions of the image height so they scale."""

    path: RGB = SKY_BLUE
    guide: RGB = ORANGE
    trace: RGB = YELLOW
    box: RGB = REDDISH_PURPLE
    ok: RGB = BLUISH_GREEN
    warn: RGB = VERMILLION
    outline: RGB = BLACK
    path_width: float = 1 / 100  # current segment line width
    other_path_width: float = 1 / 200  # the other segments
    guide_radius: float = 1 / 40
    trace_width: float = 1 / 120
    band_height: float = 1 / 11  # status band at the top
    trace_window_s: float = 3.0  # how much of the user's trace is shown
    trace_gap_s: float = 0.5  # a longer gap between trace points is a lift: not joined


STATUS_TEXT: dict[LiveStatus, str] = {
    "tracking": "Tracking",
    "bridged": "Tracking",
    "searching": "Looking for your hand",
    "no_hand": "Show your hand",
    "calibrate": "Calibrate first",
    "calibrating": "Calibrating:",
}


class Projector:
    """Normalised image xy -> integer pixel coordinates of the displayed image."""

    def __init__(self, width: int, height: int, mirror: bool):
        self.w, self.h, self.mirror = width, height, mirror

    def px(self, xy: np.ndarray) -> np.ndarray:
        p = np.asarray(xy, dtype=np.float64)
        x = (1.0 - p[..., 0]) if self.mirror else p[..., 0]
        return np.stack([x * self.w, p[..., 1] * self.h], axis=-1)

    def ipx(self, xy: np.ndarray) -> np.ndarray:
        return np.rint(self.px(xy)).astype(np.int32)


def _size(image: np.ndarray, fraction: float, minimum: int = 1) -> int:
    return max(minimum, round(image.shape[0] * fraction))


def _polyline(
    img: np.ndarray, pts: np.ndarray, colour: RGB, width: int, style: Style, closed=False
) -> None:
    """A line with a dark outline (two passes), anti-aliased."""
    pts = pts.reshape(-1, 1, 2)
    cv2.polylines(img, [pts], closed, style.outline, width + 2, cv2.LINE_AA)
    cv2.polylines(img, [pts], closed, colour, width, cv2.LINE_AA)


def _arrow(
    img: np.ndarray, a: np.ndarray, b: np.ndarray, colour: RGB, width: int, style: Style
) -> None:
    """Arrow from pixel ``a`` to ``b`` with a dark outline."""
    length = float(np.hypot(*(b - a)))
    if length < 2:
        return
    tip = min(0.5, 3.5 * width / length)
    pa, pb = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
    cv2.arrowedLine(img, pa, pb, style.outline, width + 2, cv2.LINE_AA, tipLength=tip)
    cv2.arrowedLine(img, pa, pb, colour, width, cv2.LINE_AA, tipLength=tip)


def _text(
    img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: RGB, thick: int
) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, thick + 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


# -- annotators (each draws in place on an image the caller owns) ---------------------------------


def draw_box(img: np.ndarray, body_frame: BodyFrame, proj: Projector, style: Style) -> None:
    """The tummy box outline and an arrow towards the baby's head, labelled."""
    width = _size(img, style.other_path_width, 2)
    corners = proj.ipx(body_frame.box_corners_xy())
    cv2.polylines(img, [corners.reshape(-1, 1, 2)], True, style.box, width, cv2.LINE_AA)
    a = proj.px(body_frame.to_xy(np.array([0.5, -0.04])))
    b = proj.px(body_frame.to_xy(np.array([0.5, -0.3])))
    _arrow(img, a, b, style.box, width, style)
    scale = img.shape[0] / 700
    (tw, th), _ = cv2.getTextSize("head", cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    label = b + (b - a) / max(float(np.hypot(*(b - a))), 1.0) * (th + 6)
    _text(img, "head", (int(label[0]) - tw // 2, int(label[1]) + th // 2), scale, style.box, 2)


def draw_reference(
    img: np.ndarray,
    stroke: StrokeDefinition,
    body_frame: BodyFrame,
    proj: Projector,
    style: Style,
    current: int | None = None,
) -> None:
    """Every segment of the stroke; the current one thicker and with direction arrows
    (all segments get arrows while there is no current one)."""
    thin = _size(img, style.other_path_width, 2)
    thick = _size(img, style.path_width, 3)
    order = [i for i in range(len(stroke.segments)) if i != current]
    if current is not None and 0 <= current < len(stroke.segments):
        order.append(current)  # drawn last, on top
    for i in order:
        seg = stroke.segments[i]
        pts = proj.px(body_frame.to_xy(seg.points))
        width = thick if i == current else thin
        _polyline(img, np.rint(pts).astype(np.int32), style.path, width, style, closed=seg.closed)
        if current is None or i == current:
            _direction_arrows(img, pts, seg.closed, style.path, width, style)


def _direction_arrows(
    img, pts: np.ndarray, closed: bool, colour: RGB, width: int, style: Style
) -> None:
    """Small arrows at 1/3 and 2/3 of the path and at its end, pointing the right way."""
    n = len(pts)
    if n < 3:
        return
    step = max(1, n // 12)
    marks = [n // 3, 2 * n // 3] + ([] if closed else [n - 1])
    for k in marks:
        a, b = pts[max(0, k - step)], pts[k]
        d = b - a
        norm = float(np.hypot(*d))
        if norm < 1e-6:
            continue
        head = max(12.0, 4.0 * width)
        _arrow(img, b - d / norm * head, b, colour, width, style)


def draw_guide(
    img: np.ndarray, guide_uv: np.ndarray, body_frame: BodyFrame, proj: Projector, style: Style
) -> None:
    """The pacing guide dot: where the hand should be now at the nominal pace."""
    g = np.asarray(guide_uv, dtype=np.float64)
    if g.shape != (2,) or not np.all(np.isfinite(g)):
        return
    c = proj.ipx(body_frame.to_xy(g))
    r = _size(img, style.guide_radius, 4)
    centre = (int(c[0]), int(c[1]))
    cv2.circle(img, centre, r + 2, style.outline, -1, cv2.LINE_AA)
    cv2.circle(img, centre, r, style.guide, -1, cv2.LINE_AA)
    cv2.circle(img, centre, max(1, r // 3), WHITE, -1, cv2.LINE_AA)


def draw_trace(
    img: np.ndarray, trace: Sequence[TrackPoint], now_s: float, proj: Projector, style: Style
) -> None:
    """The user's recent contact points (image xy), fading and thinning with age.

    Drawn as a few polylines (one per age bucket) so the cost stays flat at ~0.2 ms.
    """
    recent = [p for p in trace if now_s - style.trace_window_s <= p.timestamp_s <= now_s]
    if not recent:
        return
    t = np.array([p.timestamp_s for p in recent])
    pts = proj.ipx(np.array([p.xy for p in recent]))
    full = _size(img, style.trace_width, 2)
    dark = np.array(style.outline, dtype=np.float64)
    base = np.array(style.trace, dtype=np.float64)
    joined = np.diff(t) <= style.trace_gap_s  # segment i joins point i and i+1
    age = np.clip((now_s - t[1:]) / style.trace_window_s, 0.0, 1.0)
    bucket = np.minimum((age * _TRACE_BUCKETS).astype(int), _TRACE_BUCKETS - 1)
    for k in range(_TRACE_BUCKETS - 1, -1, -1):  # oldest first, newest on top
        idx = np.flatnonzero((bucket == k) & joined)
        if idx.size == 0:
            continue
        a = (k + 0.5) / _TRACE_BUCKETS
        colour = tuple(int(c) for c in base * (1 - 0.6 * a) + dark * 0.6 * a)
        width = max(1, round(full * (1.0 - 0.7 * a)))
        runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)  # consecutive segments
        lines = [pts[r[0] : r[-1] + 2].reshape(-1, 1, 2) for r in runs]
        cv2.polylines(img, lines, False, colour, width, cv2.LINE_AA)
    c = (int(pts[-1][0]), int(pts[-1][1]))
    r = max(3, full + 2)
    cv2.circle(img, c, r + 2, style.outline, -1, cv2.LINE_AA)
    cv2.circle(img, c, r, style.trace if not recent[-1].bridged else WHITE, -1, cv2.LINE_AA)


_TRACE_BUCKETS = 6


def draw_status(
    img: np.ndarray, status: LiveStatus, label: str, style: Style, detail: str = ""
) -> None:
    """A dark band at the top: status on the left (coloured dot + words), label on the right."""
    h, w = img.shape[:2]
    band = _size(img, style.band_height, 18)
    img[:band] = (img[:band].astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken, keep scene
    scale = band / 42
    thick = max(1, round(band / 22))
    y = int(band * 0.68)
    ok = status in FOLLOWING or status == "calibrating"
    colour = style.ok if ok else style.warn
    r = max(4, band // 5)
    cv2.circle(img, (band // 2, band // 2), r, colour, -1, cv2.LINE_AA)
    text = STATUS_TEXT.get(status, status)
    if detail:
        text = f"{text}  {detail}"
    _text(img, text, (band, y), scale, WHITE, thick)
    if label:
        (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale * 1.1, thick + 1)
        _text(img, label, (w - tw - band // 3, y), scale * 1.1, style.path, thick + 1)


def draw_hold_progress(
    img: np.ndarray, centre_xy: np.ndarray, fraction: float, proj: Projector, style: Style
) -> None:
    """Hand-on-tummy calibration: a ring filling up while the hand is held still."""
    c = proj.ipx(np.asarray(centre_xy, dtype=np.float64))
    r = _size(img, 1 / 8, 12)
    width = _size(img, 1 / 80, 3)
    centre = (int(c[0]), int(c[1]))
    cv2.circle(img, centre, r, style.outline, width + 2, cv2.LINE_AA)
    end = int(360 * min(max(fraction, 0.0), 1.0))
    if end > 0:
        cv2.ellipse(img, centre, (r, r), -90, 0, end, style.ok, width, cv2.LINE_AA)


# -- static layer cache ---------------------------------------------------------------------------

_MAGIC: RGB = (1, 2, 3)  # background of a cached layer; never drawn by the annotators


class _LayerCache:
    """The box and reference path change only with the calibration or the current segment:
    render them once on a blank canvas and paste them (``cv2.copyTo`` with a mask) per frame."""

    def __init__(self, size: int = 16):
        self._size = size
        self._items: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, stroke, body_frame, current, shape, mirror, style
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (
            None if stroke is None else (stroke.id, stroke.version, id(stroke)),
            body_frame.matrix.tobytes(), body_frame.origin_xy.tobytes(), body_frame.mirrored,
            current, shape, mirror, style,
        )  # fmt: skip
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        canvas = np.empty(shape, np.uint8)
        canvas[:] = _MAGIC
        proj = Projector(shape[1], shape[0], mirror)
        draw_box(canvas, body_frame, proj, style)
        if stroke is not None:
            draw_reference(canvas, stroke, body_frame, proj, style, current)
        mask = np.any(canvas != np.array(_MAGIC, np.uint8), axis=2).astype(np.uint8)
        with self._lock:
            self._items[key] = (canvas, mask)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return canvas, mask


_LAYERS = _LayerCache()


# -- composition ----------------------------------------------------------------------------------


def segment_label(stroke: StrokeDefinition, progress: Any) -> str:
    """'Letter L (2/3)' / 'Circle' / '' from a Progress (None-safe)."""
    if progress is None or progress.segment is None:
        return ""
    n = len(stroke.segments)
    label = progress.label or stroke.segments[progress.segment].label
    prefix = "Letter " if len(label) == 1 else ""
    suffix = f" ({progress.segment + 1}/{n})" if n > 1 else ""
    return f"Rep {progress.repetition + 1} - {prefix}{label}{suffix}"


def draw(
    image: np.ndarray,
    result: FrameResult | None = None,
    *,
    stroke: StrokeDefinition | None = None,
    body_frame: BodyFrame | None = None,
    trace: Sequence[TrackPoint] = (),
    mirror: bool = False,
    style: Style | None = None,
    status: LiveStatus | None = None,
    detail: str = "",
) -> np.ndarray:
    """Annotate one frame; returns a new RGB uint8 image (the input is not modified).

    ``result`` is a :class:`coach.core.pipeline.FrameResult` (or ``None`` before the
    first result): its ``progress`` places the guide dot and picks the current
    segment, its ``status`` the status band; ``status`` overrides it (e.g.
    ``"calibrate"``). ``trace`` is the recent TrackPoints, newest last.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"draw: expected an RGB uint8 image (H, W, 3), found {image.dtype} {image.shape}"
        )
    style = style or Style()
    out = np.ascontiguousarray(image[:, ::-1]) if mirror else image.copy()
    h, w = out.shape[:2]
    proj = Projector(w, h, mirror)
    progress = getattr(result, "progress", None)
    if body_frame is not None:
        current = None if progress is None else progress.segment
        layer, mask = _LAYERS.get(stroke, body_frame, current, out.shape, mirror, style)
        cv2.copyTo(layer, mask, out)
        if stroke is not None and progress is not None:
            draw_guide(out, progress.guide_uv, body_frame, proj, style)
    now_s = getattr(result, "timestamp_s", None)
    if trace:
        draw_trace(out, trace, trace[-1].timestamp_s if now_s is None else now_s, proj, style)
    shown = status or getattr(result, "status", None) or "searching"
    label = segment_label(stroke, progress) if stroke is not None else ""
    draw_status(out, shown, label, style, detail)
    return out
