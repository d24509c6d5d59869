"""Report pictures for the page: the path over the reference, speed over time against
the target band, and flags on a timeline. Data preparation is pure (testable);
the charts are Altair specs (Streamlit renders them), the path picture an RGB image."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import StrokeDefinition
from coach.render import draw as overlay
from coach.render.text import FLAG_LABEL

USER_PATH = overlay.VERMILLION


def path_image(
    stroke: StrokeDefinition,
    uv: np.ndarray,
    in_segment: np.ndarray | None = None,
    size_px: int = 420,
) -> np.ndarray:
    """The reference (sky blue, with arrows) and the user's path drawn in the tummy box
    seen head-up: vermillion while on a segment, thin grey while lifted between segments
    (``in_segment`` False). NaN rows in ``uv`` (no hand) break the line."""
    img = np.full((size_px, size_px, 3), 250, np.uint8)
    margin = 0.2
    bf = BodyFrame.from_box((margin, margin, 1 - margin, 1 - margin))
    proj = overlay.Projector(size_px, size_px, False)
    style = overlay.Style(path_width=1 / 90, other_path_width=1 / 90)
    overlay.draw_box(img, bf, proj, style)
    overlay.draw_reference(img, stroke, bf, proj, style, current=None)
    pts = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    ok = np.all(np.isfinite(pts), axis=1)
    on = ok if in_segment is None else ok & np.asarray(in_segment, dtype=bool)
    px = proj.ipx(bf.to_xy(np.where(ok[:, None], pts, 0.0)))
    _runs(img, px, ok & ~on, LIFTED_PATH, max(1, size_px // 300))
    _runs(img, px, on, USER_PATH, max(2, size_px // 160))
    return img


LIFTED_PATH = (170, 170, 170)


def _runs(img: np.ndarray, px: np.ndarray, mask: np.ndarray, colour, width: int) -> None:
    """Polylines through consecutive points where ``mask`` holds."""
    edges = np.flatnonzero(np.diff(mask.astype(np.int8)) != 0) + 1
    runs = np.split(np.arange(len(mask)), edges)
    lines = [px[r].reshape(-1, 1, 2) for r in runs if len(r) > 1 and mask[r[0]]]
    if lines:
        cv2.polylines(img, lines, False, colour, width, cv2.LINE_AA)


def speed_frame(t_s: np.ndarray, speed_ratio: np.ndarray, window_s: float = 0.5) -> pd.DataFrame:
    """Speed over nominal, smoothed over ``window_s`` (median), gaps left empty."""
    t = np.asarray(t_s, dtype=np.float64)
    s = np.asarray(speed_ratio, dtype=np.float64)
    df = pd.DataFrame({"t_s": t, "speed": s})
    if len(df) and window_s > 0:
        dt = float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30
        n = max(1, int(round(window_s / max(dt, 1e-3))))
        df["speed"] = df["speed"].rolling(n, center=True, min_periods=1).median()
    df.loc[~np.isfinite(s), "speed"] = np.nan
    return df


def pace_band(stroke: StrokeDefinition) -> tuple[float, float]:
    """The speed-ratio band that is not flagged: (1 / too_slow_above, 1 / too_fast_below)."""
    return 1.0 / stroke.pace.too_slow_above, 1.0 / stroke.pace.too_fast_below


def speed_chart(df: pd.DataFrame, stroke: StrokeDefinition):
    import altair as alt  # deferred: Altair

    lo, hi = pace_band(stroke)
    t_max = float(df["t_s"].max()) if len(df) else 1.0
    band = alt.Chart(pd.DataFrame({"t0": [0.0], "t1": [t_max], "lo": [lo], "hi": [hi]}))
    band = band.mark_rect(color="#009E73", opacity=0.15).encode(
        x="t0:Q", x2="t1:Q", y="lo:Q", y2="hi:Q"
    )
    nominal = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#E69F00", strokeDash=[6, 4])
    nominal = nominal.encode(y="y:Q")
    line = (
        alt.Chart(df)
        .mark_line(color="#D55E00", strokeWidth=2)
        .encode(
            x=alt.X("t_s:Q", title="time (s)"),
            y=alt.Y(
                "speed:Q",
                title="speed / guide speed",
                scale=alt.Scale(domain=[0, max(2.5, hi + 0.3)], clamp=True),
            ),
        )
    )
    return (band + nominal + line).properties(height=220)


def timeline_frames(report: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Repetitions (start, end, score, flags in words) and hints (time, text) of a report."""
    reps = pd.DataFrame(
        [
            {
                "repetition": f"#{r['index'] + 1}",
                "start_s": r["start_s"],
                "end_s": r["end_s"],
                "score": r["score"],
                "flags": ", ".join(FLAG_LABEL.get(f, f) for f in r["flags"]) or "no flags",
            }
            for r in report.get("repetitions", [])
        ],
        columns=["repetition", "start_s", "end_s", "score", "flags"],
    )
    hints = pd.DataFrame(
        [{"t_s": h["t_s"], "code": h["code"], "text": h["text"]} for h in report.get("hints", [])],
        columns=["t_s", "code", "text"],
    )
    return reps, hints


def timeline_chart(report: dict):
    import altair as alt  # deferred: Altair

    reps, hints = timeline_frames(report)
    bars = (
        alt.Chart(reps)
        .mark_bar(height=26, cornerRadius=4)
        .encode(
            x=alt.X("start_s:Q", title="time (s)"),
            x2="end_s:Q",
            y=alt.value(30),
            color=alt.Color(
                "score:Q", scale=alt.Scale(domain=[0, 100], scheme="blues"), legend=None
            ),
            tooltip=["repetition", "score", "flags"],
        )
    )
    labels = (
        alt.Chart(reps)
        .mark_text(dy=-22, fontSize=12)
        .encode(x="start_s:Q", y=alt.value(30), text="flags:N")
    )
    ticks = (
        alt.Chart(hints)
        .mark_tick(color="#D55E00", thickness=3, size=22)
        .encode(x="t_s:Q", y=alt.value(75), tooltip=["t_s", "text"])
    )
    return (bars + labels + ticks).properties(height=120)
