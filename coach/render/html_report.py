"""A session as ONE self-contained HTML file, for a trainee to send to their instructor.

The file needs nothing else: the style sheet is inline, the pictures are PNG images
embedded as ``data:`` URIs, there is no script, and a Content-Security-Policy stops
the browser from fetching anything. Every piece of text from the report (profile,
reference, hints) is HTML-escaped.

Input is a ``coach.report/1``-like dict (``coach score --json`` or
:meth:`coach.storage.store.Store.session_report`, which adds a ``session`` object with who
and when) and the :class:`~coach.core.strokes.StrokeDefinition` it was scored against,
both given by the caller: nothing here reads a file or the store
(:mod:`coach.services.session_report` does). The
stored sessions keep no per-frame path, so the path picture shows the reference with
per-segment markers; a caller that still has the per-frame traces (upload mode) can
pass them (``path_uv``/``path_t_s``/``speed_ratio``) and gets them drawn too.

Pictures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
state: safe in Streamlit's script threads), in the Okabe-Ito colour-blind-safe palette,
with hatching and markers so they also read in grey print.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from coach.core.numbers import finite_or_none
from coach.core.strokes import StrokeDefinition
from coach.core.types import FLAG_CODES
from coach.render.charts import pace_band, speed_frame
from coach.render.text import FLAG_LABEL, FLAG_TEXT, summary_lines, verdict_for

DEFAULT_TITLE = "Stroke Coach: practice session report"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Okabe-Ito palette (hex).
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"

#: Colour and marker of each flag on the timeline (colour-blind safe, and shape-coded).
FLAG_STYLE: dict[str, tuple[str, str]] = {
    "wrong_direction": (VERMILLION, "X"),
    "too_fast": (ORANGE, ">"),
    "too_slow": (SKY_BLUE, "<"),
    "incomplete": (REDDISH_PURPLE, "s"),
    "off_path": (BLUE, "D"),
    "jerky": (YELLOW, "^"),
    "no_hand": (GREY, "o"),
    "lifted": (BLUISH_GREEN, "v"),
}

DIRECTION_WORDS = {"ok": "right way", "wrong": "wrong way"}
PACE_WORDS = {"ok": "calm", "too_fast": "too fast", "too_slow": "too slow"}


# -- small helpers ------------------------------------------------------------------------------


def _e(value: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def _fmt(x: object, spec: str, suffix: str = "") -> str:
    v = finite_or_none(x)
    return "–" if v is None else f"{format(v, spec)}{suffix}"


def _check_report(report: object) -> Mapping[str, Any]:
    if not isinstance(report, Mapping):
        raise ValueError(f"report: expected a coach.report/1 dict, found {type(report).__name__}")
    for key, kind in (("repetitions", list), ("summary", Mapping)):
        if not isinstance(report.get(key), kind):
            raise ValueError(
                f"report: expected a {kind.__name__} under {key!r} (coach.report/1), "
                f"found {type(report.get(key)).__name__}"
            )
    return report


def _check_path(
    path_uv: np.ndarray | None,
    path_t_s: np.ndarray | None,
    speed_ratio: np.ndarray | None,
    in_segment: np.ndarray | None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The optional per-frame traces as arrays of matching lengths (ValueError if not)."""
    uv = None if path_uv is None else np.asarray(path_uv, dtype=np.float64)
    if uv is not None and (uv.ndim != 2 or uv.shape[1] != 2):
        raise ValueError(f"path_uv: expected an array of shape (n, 2), found {uv.shape}")
    n = None if uv is None else len(uv)
    out = []
    for name, arr, dtype in (
        ("path_t_s", path_t_s, np.float64),
        ("speed_ratio", speed_ratio, np.float64),
        ("in_segment", in_segment, bool),
    ):
        a = None if arr is None else np.asarray(arr, dtype=dtype).reshape(-1)
        if a is not None:
            if n is None:
                n = len(a)
            if len(a) != n:
                raise ValueError(f"{name}: expected {n} values (one per frame), found {len(a)}")
        out.append(a)
    t, speed, inside = out
    if speed is not None and t is None:
        raise ValueError("speed_ratio: expected path_t_s too (the time of each value)")
    return uv, t, speed, inside


def _when(report: Mapping[str, Any]) -> str:
    """The session's start as 'YYYY-MM-DD HH:MM UTC', or '' when the report has none."""
    raw = (report.get("session") or {}).get("started_at")
    if not isinstance(raw, str):
        return ""
    try:
        return datetime.fromisoformat(raw).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return raw


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.encode("ascii", "ignore").decode().lower()).strip("-")


def report_file_name(report: Mapping[str, Any]) -> str:
    """A safe file name: ``stroke-coach-<profile>-<stroke>-<YYYYMMDD-HHMM>.html``."""
    session = report.get("session") or {}
    parts = ["stroke-coach", _slug(str(session.get("profile") or "")), _slug(str(report["stroke"]))]
    raw = session.get("started_at")
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            parts.append(datetime.fromisoformat(raw).strftime("%Y%m%d-%H%M"))
    return "-".join(p for p in parts if p)[:120] + ".html"


# -- pictures -----------------------------------------------------------------------------------


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # deferred: matplotlib
    from matplotlib.figure import Figure  # deferred: matplotlib

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    from matplotlib.text import Text  # deferred: matplotlib

    for text in fig.findobj(Text):  # labels come from shared files: "$x$" is text, not maths
        text.set_parse_math(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _outline(width: float):
    from matplotlib import patheffects  # deferred: matplotlib

    return [patheffects.Stroke(linewidth=width + 2, foreground=BLACK), patheffects.Normal()]


def _has_segments(report: Mapping[str, Any]) -> bool:
    """Whether the repetitions carry per-segment details (older reports may not)."""
    return any(rep.get("segments") for rep in report["repetitions"])


def _segment_stats(report: Mapping[str, Any], stroke: StrokeDefinition) -> list[dict[str, Any]]:
    """Per segment of the stroke: in how many repetitions it was seen, reversed, its mean
    coverage and mean speed ratio (nominal / measured duration)."""
    stats = [{"seen": 0, "reversed": 0, "coverage": [], "speed": []} for _ in stroke.segments]
    for rep in report["repetitions"]:
        for seg in rep.get("segments") or ():
            i = seg.get("segment")
            if not isinstance(i, int) or not 0 <= i < len(stats):
                continue
            s = stats[i]
            s["seen"] += 1
            s["reversed"] += bool(seg.get("reversed"))
            cov = finite_or_none(seg.get("coverage"))
            if cov is not None:
                s["coverage"].append(cov)
            dur = finite_or_none(seg.get("duration_s"))
            if dur is not None and dur > 0:
                s["speed"].append(stroke.segments[i].nominal_s / dur)
    out = []
    for s in stats:
        out.append(
            {
                "seen": s["seen"],
                "reversed": s["reversed"],
                "coverage": float(np.mean(s["coverage"])) if s["coverage"] else None,
                "speed_ratio": float(np.mean(s["speed"])) if s["speed"] else None,
            }
        )
    return out


def path_png(
    report: Mapping[str, Any],
    stroke: StrokeDefinition,
    path_uv: np.ndarray | None = None,
    in_segment: np.ndarray | None = None,
) -> bytes:
    """The reference in the tummy box seen head-up (u right, v down): one small panel per
    segment (segments of a stroke overlap, e.g. the I, L and U), each with the rest of the
    stroke in light grey, direction arrows, a green start dot, dashed vermillion when it
    was performed backwards, and a title saying how it went. With ``path_uv`` (n, 2) a
    first panel shows the hand's path over the whole reference (solid while on a segment,
    thin grey while lifted; NaN rows break the line)."""
    stats = _segment_stats(report, stroke)
    panels: list[int | None] = [None] if path_uv is not None else []
    panels += list(range(len(stroke.segments)))
    cols = len(panels) if len(panels) <= 4 else 3
    rows = math.ceil(len(panels) / cols)
    fig = _figure(2.75 * cols, 2.95 * rows)
    for k, seg_index in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        _tummy_axes(ax)
        if seg_index is None:
            for i in range(len(stroke.segments)):
                _draw_segment(ax, stroke, i, stats[i], arrows=False)
            _draw_hand(ax, path_uv, in_segment)
            ax.set_title("the hand's path", fontsize=10)
            continue
        for i in range(len(stroke.segments)):
            if i != seg_index:
                pts = _closed_points(stroke, i)
                ax.plot(pts[:, 0], pts[:, 1], color="#DDDDDD", linewidth=2, zorder=1)
        _draw_segment(ax, stroke, seg_index, stats[seg_index], arrows=True)
        title = stroke.segments[seg_index].label
        note = _segment_note(stats[seg_index]) if _has_segments(report) else ""
        ax.set_title(f"{title}\n{note}", fontsize=9)
    return _png(fig)


def _tummy_axes(ax) -> None:
    """The tummy box (u, v in 0..1, v down) with the head marked, no axes."""
    from matplotlib.patches import Rectangle  # deferred: matplotlib

    ax.set_aspect("equal")
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(1.18, -0.3)  # v grows downwards, the head is up
    ax.axis("off")
    ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=REDDISH_PURPLE, linewidth=1.2))
    ax.annotate("", xy=(0.5, -0.26), xytext=(0.5, -0.03),
                arrowprops={"arrowstyle": "-|>", "color": REDDISH_PURPLE, "lw": 1.2})  # fmt: skip
    ax.text(0.56, -0.17, "head", color=REDDISH_PURPLE, fontsize=8, va="center")
    ax.text(0.0, 1.1, "baby's right", ha="left", fontsize=7, color="#555555")
    ax.text(1.0, 1.1, "baby's left", ha="right", fontsize=7, color="#555555")


def _closed_points(stroke: StrokeDefinition, i: int) -> np.ndarray:
    seg = stroke.segments[i]
    return np.vstack([seg.points, seg.points[:1]]) if seg.closed else seg.points


def _draw_segment(ax, stroke: StrokeDefinition, i: int, stat: Mapping[str, Any], arrows: bool):
    """One reference segment: sky-blue line with a dark outline, arrows, start dot."""
    pts = _closed_points(stroke, i)
    ax.plot(pts[:, 0], pts[:, 1], color=SKY_BLUE, linewidth=3.5, solid_capstyle="round",
            path_effects=_outline(3.5), zorder=2)  # fmt: skip
    if stat["reversed"]:
        ax.plot(pts[:, 0], pts[:, 1], color=VERMILLION, linewidth=1.8, linestyle=(0, (4, 3)),
                zorder=3)  # fmt: skip
    n = len(pts)
    if arrows and n >= 3:
        for k in (n // 3, 2 * n // 3, n - 1):
            a = pts[max(0, k - max(1, n // 15))]
            ax.annotate("", xy=pts[k], xytext=a, zorder=4,
                        arrowprops={"arrowstyle": "-|>,head_width=0.3,head_length=0.6",
                                    "color": BLUE, "lw": 1.2})  # fmt: skip
    ax.plot(*stroke.segments[i].points[0], marker="o", markersize=7, color=BLUISH_GREEN,
            markeredgecolor=BLACK, zorder=5)  # fmt: skip


def _draw_hand(ax, path_uv: np.ndarray | None, in_segment: np.ndarray | None) -> None:
    if path_uv is None or not len(path_uv):
        return
    pts = np.asarray(path_uv, dtype=np.float64)
    ok = np.all(np.isfinite(pts), axis=1)
    on = ok if in_segment is None else ok & np.asarray(in_segment, dtype=bool)
    lifted = np.where((ok & ~on)[:, None], pts, np.nan)
    hand = np.where(on[:, None], pts, np.nan)
    ax.plot(lifted[:, 0], lifted[:, 1], color=GREY, linewidth=0.8, zorder=6)
    ax.plot(hand[:, 0], hand[:, 1], color=VERMILLION, linewidth=1.4, zorder=7)


def _segment_note(stat: Mapping[str, Any]) -> str:
    """'seen 3× · 97% covered · 1× backwards' (or 'not seen')."""
    if not stat["seen"]:
        return "not seen"
    parts = [f"seen {stat['seen']}×"]
    if stat["coverage"] is not None:
        parts.append(f"{round(100 * stat['coverage'])}% covered")
    if stat["reversed"]:
        parts.append(f"{stat['reversed']}× backwards")
    return " · ".join(parts)


def speed_png(
    report: Mapping[str, Any],
    stroke: StrokeDefinition,
    path_t_s: np.ndarray | None = None,
    speed_ratio: np.ndarray | None = None,
) -> bytes:
    """Speed over the guide's speed against time: the calm band (green), the guide's speed
    (1.0, orange dashes), each segment's measured speed as a blue step (nominal / measured
    duration) and, when given, the per-frame speed as a thin vermillion line."""
    lo, hi = pace_band(stroke)
    fig = _figure(8, 3)
    ax = fig.add_subplot()
    ax.axhspan(lo, hi, color=BLUISH_GREEN, alpha=0.18, linewidth=0, label="calm pace")
    ax.axhline(1.0, color=ORANGE, linestyle=(0, (6, 4)), linewidth=1.5, label="guide dot")
    top = max(2.5, hi + 0.3)
    t_max = 0.0
    if path_t_s is not None and speed_ratio is not None and len(path_t_s):
        df = speed_frame(path_t_s, speed_ratio)
        ax.plot(df["t_s"], df["speed"].clip(upper=4.0), color=VERMILLION, linewidth=1,
                label="hand, per frame")  # fmt: skip
        t_max = float(np.nanmax(path_t_s))
    labelled = False
    for k, rep in enumerate(report["repetitions"]):
        t0, t1 = finite_or_none(rep.get("start_s")), finite_or_none(rep.get("end_s"))
        if t0 is None or t1 is None:
            continue
        t_max = max(t_max, t1)
        if k % 2 == 0:
            ax.axvspan(t0, t1, color="#000000", alpha=0.05, linewidth=0)
        ratio = finite_or_none(rep.get("speed_ratio"))
        label = f"#{rep.get('index', k) + 1}" + ("" if ratio is None else f" {ratio:.2f}×")
        ax.text((t0 + t1) / 2, top * 0.97, label, ha="center", va="top", fontsize=8)
        if not rep.get("segments") and ratio is not None:
            top = max(top, min(ratio, 4.0) * 1.1)
            ax.hlines(min(ratio, 4.0), t0, t1, color=BLUE, linewidth=4,
                      label=None if labelled else "repetition speed")  # fmt: skip
            labelled = True
        for seg in rep.get("segments") or ():
            i, dur = seg.get("segment"), finite_or_none(seg.get("duration_s"))
            s0, s1 = finite_or_none(seg.get("start_s")), finite_or_none(seg.get("end_s"))
            if dur is None or dur <= 0 or s0 is None or s1 is None:
                continue
            if not isinstance(i, int) or not 0 <= i < len(stroke.segments):
                continue
            value = min(stroke.segments[i].nominal_s / dur, 4.0)
            top = max(top, value * 1.1)
            ax.hlines(value, s0, s1, color=BLUE, linewidth=4,
                      label=None if labelled else "segment speed")  # fmt: skip
            labelled = True
    if t_max <= 0 and not report["repetitions"]:
        ax.text(0.5, 0.5, "No repetition recognised", transform=ax.transAxes, ha="center")
    ax.set_ylim(0, top)
    ax.set_xlim(left=0 if t_max <= 0 else None)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("speed / guide speed")
    ax.legend(loc="upper left", fontsize=8, ncol=4, bbox_to_anchor=(0, -0.28), frameon=False)
    return _png(fig)


def flags_png(report: Mapping[str, Any]) -> bytes:
    """The flags on a timeline: one row per flag that came up (a bar over each repetition
    that has it, in that flag's colour and marker), the repetitions, stretches without a
    hand, and a tick for each hint the coach gave."""
    reps = [r for r in report["repetitions"] if finite_or_none(r.get("start_s")) is not None]
    present = [f for f in FLAG_CODES if any(f in (r.get("flags") or ()) for r in reps)]
    stretches = [
        (a, b)
        for a, b in ((report.get("tracking") or {}).get("no_hand_stretches") or [])
        if finite_or_none(a) is not None and finite_or_none(b) is not None
    ]
    if stretches and "no_hand" not in present:
        present.append("no_hand")
    hints = [h for h in report.get("hints") or () if finite_or_none(h.get("t_s")) is not None]
    rows = ["repetitions", *present] + (["hints"] if hints else [])
    fig = _figure(8, 0.9 + 0.42 * len(rows))
    ax = fig.add_subplot()
    y = {name: len(rows) - 1 - k for k, name in enumerate(rows)}
    for k, rep in enumerate(reps):
        t0, t1 = float(rep["start_s"]), float(finite_or_none(rep.get("end_s")) or rep["start_s"])
        ax.broken_barh([(t0, max(t1 - t0, 0.05))], (y["repetitions"] - 0.3, 0.6),
                       facecolors=GREY if k % 2 else "#CCCCCC", edgecolor=BLACK)  # fmt: skip
        ax.text((t0 + t1) / 2, y["repetitions"], f"#{rep.get('index', k) + 1}", ha="center",
                va="center", fontsize=8)  # fmt: skip
        for f in rep.get("flags") or ():
            if f not in y:
                continue
            colour, marker = FLAG_STYLE.get(f, (GREY, "o"))
            ax.broken_barh([(t0, max(t1 - t0, 0.05))], (y[f] - 0.25, 0.5), facecolors=colour,
                           edgecolor=BLACK, alpha=0.85)  # fmt: skip
            ax.plot((t0 + t1) / 2, y[f], marker=marker, color=BLACK, markersize=6)
    for a, b in stretches:
        ax.broken_barh([(a, max(b - a, 0.05))], (y["no_hand"] - 0.25, 0.5),
                       facecolors=GREY, hatch="//", edgecolor=BLACK)  # fmt: skip
    if hints:
        ts = [float(h["t_s"]) for h in hints]
        ax.plot(ts, [y["hints"]] * len(ts), linestyle="none", marker="|", markersize=14,
                markeredgewidth=2.5, color=VERMILLION)  # fmt: skip
    if not present:
        ax.text(0.99, 0.05, "no flags: no problems spotted", transform=ax.transAxes,
                ha="right", fontsize=9, color=BLUISH_GREEN)  # fmt: skip
    if not reps and not hints and not stretches:
        ax.text(0.5, 0.5, "No repetition recognised", transform=ax.transAxes, ha="center")
        ax.set_xlim(0, 1)
    ax.set_yticks([y[r] for r in rows])
    ax.set_yticklabels([FLAG_LABEL.get(r, r) for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", color="#DDDDDD")
    return _png(fig)


def score_colour(score: int) -> tuple[str, str]:
    """(colour, hatch) of a score bar, by the same bands as the score card's verdict."""
    if score >= 85:
        return BLUISH_GREEN, ""
    if score >= 65:
        return SKY_BLUE, "//"
    if score >= 40:
        return ORANGE, ".."
    return VERMILLION, "xx"


def scores_png(report: Mapping[str, Any]) -> bytes:
    """One bar per repetition (score 0-100, number on top, coloured and hatched by band)
    and the session score as a dashed line."""
    reps = report["repetitions"]
    fig = _figure(8, 2.8)
    ax = fig.add_subplot()
    if reps:
        x = np.arange(len(reps))
        scores = [int(r.get("score", 0)) for r in reps]
        for xi, s in zip(x, scores, strict=True):
            colour, hatch = score_colour(s)
            ax.bar(xi, s, color=colour, hatch=hatch, edgecolor=BLACK, width=0.7)
            ax.text(xi, s + 2, str(s), ha="center", va="bottom", fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels([f"#{r.get('index', k) + 1}" for k, r in enumerate(reps)])
        ax.set_xlim(-0.6, max(len(reps), 4) - 0.4)
    else:
        ax.text(0.5, 0.5, "No repetition recognised", transform=ax.transAxes, ha="center")
        ax.set_xticks([])
    session = finite_or_none(report["summary"].get("score"))
    if session is not None and reps:
        ax.axhline(session, color=BLACK, linestyle=(0, (5, 3)), linewidth=1)
        ax.text(1.0, session, f" session {session:.0f}", transform=ax.get_yaxis_transform(),
                va="center", fontsize=8)  # fmt: skip
    ax.set_ylim(0, 110)
    ax.set_ylabel("score")
    ax.set_xlabel("repetition")
    return _png(fig)


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:image/png;base64,...`` URI (checked to be a PNG)."""
    if not png.startswith(PNG_MAGIC):
        raise ValueError("data_uri: expected PNG bytes, found something else")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- the page -----------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --ok: #009E73; --warn: #D55E00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f6f8; }
main { max-width: 900px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; border-bottom: 2px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 16px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.score { font-size: 2.4em; font-weight: 700; margin: 4px 0; }
.score small { font-size: 0.45em; color: var(--muted); font-weight: 400; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
         vertical-align: top; }
th { background: #f0f0f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td ul { margin: 0; padding-left: 18px; }
.bad { color: var(--warn); font-weight: 600; }
.good { color: var(--ok); }
figure { margin: 16px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9em; }
footer { margin-top: 32px; color: var(--muted); font-size: 0.85em; }
@media print { body { background: #fff; } main { padding: 0; } h2 { break-after: avoid; }
               figure, tr { break-inside: avoid; } }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _facts(report: Mapping[str, Any], stroke: StrokeDefinition, profile: str | None) -> str:
    session = report.get("session") or {}
    who = profile if profile is not None else session.get("profile")
    rows: list[tuple[str, str]] = []
    if who:
        rows.append(("Trainee", str(who)))
    rows.append(("Stroke", f"{stroke.name} ({report['stroke']})"))
    reference = session.get("reference")
    if reference and reference != report["stroke"]:
        rows.append(("Reference", str(reference)))
    when = _when(report)
    if when:
        rows.append(("Date", when))
    source = session.get("source")
    if source:
        rows.append(("Recorded", {"live": "live, with the webcam", "upload": "from a video"}.get(
            source, str(source))))  # fmt: skip
    rate = finite_or_none((report.get("tracking") or {}).get("detection_rate"))
    if rate is not None:
        rows.append(("Hand seen", f"{round(100 * rate)}% of the frames"))
    pace = f"{stroke.nominal_s:.1f} s per repetition at the guide's pace"
    rows.append(("Target", pace))
    return "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)


def _summary(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    reps = report["repetitions"]
    tracking = report.get("tracking") or {}
    shim = SimpleNamespace(
        repetitions=reps,
        frames_with_hand=tracking.get("frames_with_hand", 1 if reps else 0),
        score=summary.get("score", 0),
        flags=dict(summary.get("flags") or {}),
    )
    lines = summary_lines(shim)
    score = finite_or_none(summary.get("score"))
    big = "–" if score is None or not reps else f"{score:.0f}"
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return f'<p class="score">{_e(big)} <small>/ 100</small></p><ul>{items}</ul>'


def _bad(flagged: bool) -> str:
    return ' class="bad"' if flagged else ""


def _flag_item(flag: str) -> str:
    """'<li><strong>Too fast</strong>: this repetition was quicker than ...</li>'."""
    label = FLAG_LABEL.get(flag, flag).capitalize()
    text = FLAG_TEXT.get(flag, flag.replace("_", " "))
    return f"<li><strong>{_e(label)}</strong>: this repetition {_e(text)}</li>"


def _rep_rows(report: Mapping[str, Any]) -> str:
    out = []
    for k, rep in enumerate(report["repetitions"]):
        number = int(rep.get("index", k)) + 1
        flags = [str(f) for f in rep.get("flags") or ()]
        if flags:
            what = "<ul>" + "".join(_flag_item(f) for f in flags) + "</ul>"
        else:
            what = f'<span class="good">{_e(verdict_for(int(rep.get("score", 0))))}</span>'
        direction = str(rep.get("direction"))
        pace = str(rep.get("pace"))
        cov = finite_or_none(rep.get("coverage"))
        out.append(
            f'<tr data-rep="{number}">'
            f'<td class="num">{number}</td>'
            f'<td class="num">{_fmt(rep.get("start_s"), ".1f")}–{_fmt(rep.get("end_s"), ".1f")} s'
            f"</td>"
            f'<td class="num"><strong>{_e(int(rep.get("score", 0)))}</strong></td>'
            f"<td{_bad(direction != 'ok')}>{_e(DIRECTION_WORDS.get(direction, direction))}</td>"
            f"<td{_bad(pace != 'ok')}>{_e(PACE_WORDS.get(pace, pace))}</td>"
            f'<td class="num{" bad" if pace != "ok" else ""}">'
            f"{_fmt(rep.get('speed_ratio'), '.2f', '×')}</td>"
            f'<td class="num">{"–" if cov is None else f"{round(100 * cov)}%"}</td>'
            f"<td>{what}</td></tr>"
        )
    if not out:
        return '<tr><td colspan="8">No repetition was recognised in this session.</td></tr>'
    return "".join(out)


def _segment_rows(report: Mapping[str, Any], stroke: StrokeDefinition) -> str:
    rows = []
    for seg, st in zip(stroke.segments, _segment_stats(report, stroke), strict=True):
        cov = st["coverage"]
        rows.append(
            f'<tr><td>{_e(seg.label)}</td><td class="num">{st["seen"]}</td>'
            f'<td class="num">{st["reversed"]}</td>'
            f'<td class="num">{"–" if cov is None else f"{round(100 * cov)}%"}</td>'
            f'<td class="num">{_fmt(st["speed_ratio"], ".2f", "×")}</td>'
            f'<td class="num">{seg.nominal_s:.1f} s</td></tr>'
        )
    return "".join(rows)


def _parts_section(report: Mapping[str, Any], stroke: StrokeDefinition) -> str:
    """The per-segment table (left out when the report has no per-segment details)."""
    if not _has_segments(report):
        return ""
    return (
        "<section><h2>Each part of the stroke</h2><table><thead><tr><th>Part</th>"
        "<th>Seen</th><th>Backwards</th><th>Covered</th><th>Speed</th><th>Guide time</th>"
        f"</tr></thead><tbody>{_segment_rows(report, stroke)}</tbody></table></section>\n"
    )


def _hints(report: Mapping[str, Any]) -> str:
    hints = [h for h in report.get("hints") or () if isinstance(h, Mapping)]
    if not hints:
        return "<p>The coach had nothing to say: no hints were given.</p>"
    items = "".join(
        f"<li><strong>{_fmt(h.get('t_s'), '.0f', ' s')}</strong>: {_e(h.get('text', ''))}</li>"
        for h in hints
    )
    return f"<ul>{items}</ul>"


def _flag_legend(report: Mapping[str, Any]) -> str:
    seen = {str(f) for r in report["repetitions"] for f in r.get("flags") or ()}
    seen |= {k for k, v in (report["summary"].get("flags") or {}).items() if v}
    codes = [f for f in FLAG_CODES if f in seen]
    if not codes:
        return ""
    items = "".join(
        f"<dt>{_e(FLAG_LABEL.get(f, f).capitalize())}</dt>"
        f"<dd>This repetition {_e(FLAG_TEXT.get(f, f))}</dd>"
        for f in codes
    )
    return f'<section><h2>What the flags mean</h2><dl class="facts">{items}</dl></section>'


def _figure_html(png: bytes, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="{data_uri(png)}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def session_html(
    report: Mapping[str, Any],
    stroke: StrokeDefinition,
    *,
    title: str = DEFAULT_TITLE,
    profile: str | None = None,
    path_uv: np.ndarray | None = None,
    path_t_s: np.ndarray | None = None,
    speed_ratio: np.ndarray | None = None,
    in_segment: np.ndarray | None = None,
) -> str:
    """The whole report as one self-contained HTML document (a str, UTF-8 when saved).

    ``report`` is a ``coach.report/1`` dict (``session`` object optional); ``profile``
    overrides the report's profile name. The optional per-frame traces (aligned arrays:
    ``path_uv`` (n, 2) in the tummy box, ``path_t_s`` (n,) seconds, ``speed_ratio`` (n,),
    ``in_segment`` (n,) bool) add the hand's path and per-frame speed to the pictures.
    """
    report = _check_report(report)
    if not isinstance(stroke, StrokeDefinition):
        raise ValueError(f"stroke: expected a StrokeDefinition, found {type(stroke).__name__}")
    uv, t, speed, inside = _check_path(path_uv, path_t_s, speed_ratio, in_segment)
    lo, hi = pace_band(stroke)
    figures = [
        _figure_html(
            path_png(report, stroke, uv, inside),
            "The reference path in the tummy box"
            + (" with the trainee's hand path" if uv is not None else ""),
            "The reference seen from above, head at the top, one picture per part: blue "
            "with arrows shows the way to go, the green dot where it starts; dashed "
            "orange-red means the part was done backwards at least once. Under each name: in "
            "how many repetitions it was seen and how much of it was covered on average."
            + (
                " First picture: the trainee's hand (orange-red on a part, grey in between)."
                if uv is not None
                else ""
            ),  # fmt: skip
        ),
        _figure_html(
            speed_png(report, stroke, t, speed),
            "Speed over time against the calm-pace band",
            "Blue steps: the speed of each part (or whole repetition) over the guide dot's "
            f"speed (1.0, orange dashes). Green band: a calm pace ({lo:.2f}× to {hi:.2f}× "
            "the guide). Numbers on top: each repetition's overall speed.",
        ),
        _figure_html(
            flags_png(report),
            "Flags on a timeline",
            "Each row is one kind of problem, with a bar over every repetition that had it; "
            "orange-red ticks mark the hints the coach gave.",
        ),
        _figure_html(
            scores_png(report),
            "Score of each repetition",
            "Bars: each repetition's score out of 100 (green 85 and up, blue 65-84, orange "
            "40-64, red below 40); dashed line: the session score.",
        ),
    ]
    facts = _facts(report, stroke, profile)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{_e(title)}</h1><p class="sub">{_e(stroke.description)}</p>'
        f'<dl class="facts">{facts}</dl></header>\n'
        f"<section><h2>Summary</h2>{_summary(report)}</section>\n"
        "<section><h2>Repetitions</h2><table><thead><tr><th>#</th><th>When</th>"
        "<th>Score</th><th>Direction</th><th>Pace</th><th>Speed</th><th>Covered</th>"
        f"<th>What to work on</th></tr></thead><tbody>{_rep_rows(report)}</tbody></table>"
        "</section>\n"
        f"{_parts_section(report, stroke)}"
        f"<section><h2>Pictures</h2>{''.join(figures)}</section>\n"
        f"<section><h2>What the coach said</h2>{_hints(report)}</section>\n"
        f"{_flag_legend(report)}\n"
        "<footer>Made with Stroke Coach. Speed 1.00× is exactly the guide dot's pace. "
        "The camera cannot feel pressure, so touch is not judged. Not medical advice."
        "</footer>\n</main>\n</body>\n</html>\n"
    )


__all__: Sequence[str] = (
    "DEFAULT_TITLE",
    "data_uri",
    "flags_png",
    "path_png",
    "report_file_name",
    "scores_png",
    "session_html",
    "speed_png",
)
