"""The Progress page (``pages/2_Progress.py``) and saving sessions from the main page.

Where the data lives (UI code may read the environment, core code may not):
``COACH_DATABASE_URL`` (e.g. ``postgresql+psycopg://...`` for a shared deployment),
else the SQLite file ``coach.db`` in ``COACH_DATA_DIR``, else in
``$XDG_DATA_HOME/stroke-coach``, else in :data:`DEFAULT_DATA_DIR` (created on first use).

Data shaping (``*_frame``, ``*_table``), the charts (Altair specs) and
:class:`SessionRecorder` need no running page and are tested directly; the
``render_*``/``*_page`` functions draw with Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import pandas as pd
import streamlit as st

from coach.core.numbers import finite_or_none
from coach.core.strokes import PaceBounds, StrokeError, builtin_ids, list_strokes, load_stroke
from coach.core.types import FLAG_CODES
from coach.render.text import FLAG_LABEL, md_text
from coach.storage import paths
from coach.storage.accounts import instructors
from coach.storage.store import (
    ProgressPoint,
    SessionRow,
    Store,
    StoreError,
    database_url,
    validate_profile_name,
)
from coach.ui import account as ui_account

DEFAULT_DATA_DIR = paths.DEFAULT_DATA_DIR
#: Sessions listed in the table (and offered for export), newest first.
RECENT_SESSIONS = 20
NO_SESSIONS = (
    "No sessions yet. Practise a stroke on the main page (live with the webcam, or score a "
    "video): every scored session is kept here, so you can follow your progress."
)

# Okabe-Ito palette (colour-blind safe), one colour per flag as in coach.render.html_report.
FLAG_COLOURS = {
    "wrong_direction": "#D55E00",
    "too_fast": "#E69F00",
    "too_slow": "#56B4E9",
    "incomplete": "#CC79A7",
    "off_path": "#0072B2",
    "jerky": "#F0E442",
    "no_hand": "#999999",
    "lifted": "#009E73",
}
STATUS_WORDS = {"closed": "finished", "open": "not finished"}
SOURCE_WORDS = {"live": "live", "upload": "video"}


# -- where the data lives -------------------------------------------------------------------------


#: The page waits at most this long for a locked database (the CLI waits longer): a
#: locked or read-only store gives one clear message at once instead of a stalled page.
UI_BUSY_TIMEOUT_S = 2.0


@st.cache_resource(show_spinner=False)
def _shared_store(url: str) -> Store:
    return Store.open(url, busy_timeout_s=UI_BUSY_TIMEOUT_S)


def store() -> Store:
    """The session store of this server (one per database URL, shared by every browser
    session) as the current account sees it (:func:`coach.ui.account.scoped`: only its
    own profiles and sessions, and those shared with it). Raises
    :class:`coach.storage.store.StoreError` when it cannot be opened or nobody signed in."""
    return ui_account.scoped(_shared_store(database_url()))


def unscoped_store() -> Store:
    """The whole store, for signing in only (accounts are looked up by name)."""
    return _shared_store(database_url())


# -- data for the charts (pure) -------------------------------------------------------------------


def stroke_names() -> dict[str, str]:
    """Built-in stroke id -> display name."""
    return {s.id: s.name for s in list_strokes()}


def stroke_label(stroke_id: str, names: Mapping[str, str]) -> str:
    return names.get(stroke_id, stroke_id)


def local_time(t: datetime) -> str:
    """An aware datetime as this server's local time, 'YYYY-MM-DD HH:MM'."""
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def strokes_practised(rows: Iterable[SessionRow]) -> list[str]:
    """Stroke ids of the sessions, most recently practised first, each once."""
    return list(dict.fromkeys(r.stroke_id for r in rows))


def progress_frame(points: Sequence[ProgressPoint]) -> pd.DataFrame:
    """One row per session (oldest first): time, session number, mean score, mean speed
    ratio (NaN when unknown), repetitions, reference, source."""
    columns = ["session", "session_id", "started_at", "when", "mean_score",
               "mean_speed_ratio", "repetitions", "reference", "source"]  # fmt: skip
    rows = [
        {
            "session": k + 1,
            "session_id": p.session_id,
            "started_at": p.started_at,
            "when": local_time(p.started_at),
            "mean_score": finite_or_none(p.mean_score),
            "mean_speed_ratio": finite_or_none(p.mean_speed_ratio),
            "repetitions": p.repetitions,
            "reference": p.reference,
            "source": SOURCE_WORDS.get(p.source, p.source),
        }
        for k, p in enumerate(points)
    ]
    return pd.DataFrame(rows, columns=columns)


def flag_frame(points: Sequence[ProgressPoint]) -> pd.DataFrame:
    """Long table of how often each flag came up per session: ``count`` repetitions with
    the flag and ``share`` of the session's repetitions (0..1). Only flags that came up at
    least once are listed."""
    columns = ["session", "when", "code", "flag", "count", "share"]
    used = [c for c in FLAG_CODES if any(p.flags.get(c, 0) for p in points)]
    rows = [
        {
            "session": k + 1,
            "when": local_time(p.started_at),
            "code": code,
            "flag": FLAG_LABEL.get(code, code),
            "count": int(p.flags.get(code, 0)),
            "share": p.flags.get(code, 0) / p.repetitions if p.repetitions else 0.0,
        }
        for k, p in enumerate(points)
        for code in used
    ]
    return pd.DataFrame(rows, columns=columns)


def sessions_table(rows: Sequence[SessionRow], names: Mapping[str, str]) -> pd.DataFrame:
    """The sessions as the page lists them (newest first)."""
    return pd.DataFrame(
        [
            {
                "When": local_time(r.started_at),
                "Stroke": stroke_label(r.stroke_id, names),
                "Reference": r.reference,
                "Source": SOURCE_WORDS.get(r.source, r.source),
                "Repetitions": r.repetition_count,
                "Score": r.score,
                "Status": STATUS_WORDS.get(r.status, r.status),
            }
            for r in rows
        ],
        columns=["When", "Stroke", "Reference", "Source", "Repetitions", "Score", "Status"],
    )


def session_label(row: SessionRow, names: Mapping[str, str]) -> str:
    """'2025-05-01 10:00 · I Love You · 3 repetitions · score 85'."""
    reps = f"{row.repetition_count} repetition{'s' if row.repetition_count != 1 else ''}"
    score = f"score {row.score}" if row.score is not None else STATUS_WORDS.get(row.status, "")
    return f"{local_time(row.started_at)} · {stroke_label(row.stroke_id, names)} · {reps} · {score}"


# -- charts (Altair specs; Streamlit renders them) ------------------------------------------------


def score_chart(df: pd.DataFrame):
    """Mean repetition score per session over time (0-100)."""
    import altair as alt  # deferred: Altair

    base = alt.Chart(df).encode(
        x=alt.X("started_at:T", title="session"),
        y=alt.Y("mean_score:Q", title="mean score", scale=alt.Scale(domain=[0, 100])),
        tooltip=["when", "mean_score", "repetitions", "reference", "source"],
    )
    line = base.mark_line(color="#0072B2", strokeWidth=2)
    dots = base.mark_point(color="#0072B2", filled=True, size=70, shape="circle")
    return (line + dots).properties(height=240)


def pace_chart(df: pd.DataFrame, band: tuple[float, float]):
    """Mean speed ratio per session against the calm band (green) and the guide (1.0)."""
    import altair as alt  # deferred: Altair

    lo, hi = band
    known = df["mean_speed_ratio"].dropna()
    top = max(2.0, hi + 0.3, float(known.max()) * 1.1 if len(known) else 0.0)
    y_scale = alt.Scale(domain=[0, top])
    zone = alt.Chart(pd.DataFrame({"lo": [lo], "hi": [hi]})).mark_rect(
        color="#009E73", opacity=0.18
    )
    zone = zone.encode(y=alt.Y("lo:Q", scale=y_scale), y2="hi:Q")
    guide = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#E69F00", strokeDash=[6, 4])
    guide = guide.encode(y="y:Q")
    base = alt.Chart(df).encode(
        x=alt.X("started_at:T", title="session"),
        y=alt.Y("mean_speed_ratio:Q", title="speed / guide speed", scale=y_scale),
        tooltip=["when", "mean_speed_ratio", "repetitions"],
    )
    line = base.mark_line(color="#D55E00", strokeWidth=2)
    dots = base.mark_point(color="#D55E00", filled=True, size=70, shape="diamond")
    return (zone + guide + line + dots).properties(height=240)


def flags_chart(fdf: pd.DataFrame):
    """Stacked bars per session: how many repetitions had each flag."""
    import altair as alt  # deferred: Altair

    codes = list(dict.fromkeys(fdf["code"]))
    scale = alt.Scale(
        domain=[FLAG_LABEL.get(c, c) for c in codes], range=[FLAG_COLOURS[c] for c in codes]
    )
    return (
        alt.Chart(fdf)
        .mark_bar(stroke="#000000", strokeWidth=0.5)
        .encode(
            x=alt.X("session:O", title="session (oldest first)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("count:Q", title="repetitions with the flag", stack="zero"),
            color=alt.Color("flag:N", scale=scale, title="flag"),
            tooltip=["when", "flag", "count", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(height=240)
    )


# -- widgets ---------------------------------------------------------------------------------------

NEW_PROFILE = "Someone new…"
#: The name offered when there is no profile yet (so the first sessions are kept too).
DEFAULT_PROFILE = "Me"


def profile_picker(
    the_store: Store, *, key: str = "profile", label: str = "Who is practising?"
) -> str | None:
    """A profile chooser: the saved names, or a new one typed in (:data:`DEFAULT_PROFILE`
    offered when there is none yet). A valid choice is kept in ``st.session_state[key]``
    and returned; None (with a message saying why) while the typed name is not valid."""

    names = the_store.profiles()
    current = st.session_state.get(key)
    options = [*names, NEW_PROFILE]
    index = names.index(current) if current in names else 0
    choice = st.selectbox(label, options, index=index, key=f"{key}_choice")
    if choice != NEW_PROFILE:
        st.session_state[key] = choice
        return choice
    first = current if current and current not in names else ("" if names else DEFAULT_PROFILE)
    typed = st.text_input(
        "Name", value=first, key=f"{key}_new",
        placeholder="e.g. Sam", help="Letters, digits, spaces, '-' and '_' (up to 40).",
    )  # fmt: skip
    if not typed.strip():
        return None
    try:
        name = validate_profile_name(typed)
    except ValueError as exc:
        st.warning(md_text(exc))
        return None
    st.session_state[key] = name
    return name


# -- the page --------------------------------------------------------------------------------------


@st.cache_data(show_spinner="Drawing the report…", max_entries=16)
def _report_html(
    url: str, account: tuple, session_id: int, version: tuple, refs_dir: str
) -> tuple[str, str]:
    """(HTML, file name) of a stored session as ``account`` (``(id,)``; id None: the local
    account) may see it; ``version`` (status, repetitions) keys the cache so a session
    that grew is drawn again. The account is part of the key: a report drawn for one
    account is never handed to another."""
    from coach.services.session_report import session_report_html  # deferred: OpenCV

    view = _shared_store(url).for_account(account[0])
    return session_report_html(view, session_id, refs_dir=refs_dir)


def render_export(
    rows: Sequence[SessionRow], names: Mapping[str, str], key: str = "export"
) -> None:
    """Pick one of ``rows`` and download its self-contained HTML report."""
    if not rows:
        return
    by_id = {r.id: r for r in rows}
    sid = st.selectbox(
        "Session", list(by_id), format_func=lambda i: session_label(by_id[i], names),
        key=f"{key}_session",
    )  # fmt: skip
    row = by_id[sid]
    version = (row.status, row.repetition_count)
    ready = st.session_state.get(f"{key}_ready") == (sid, version)
    if not ready and st.button("Make the report", key=f"{key}_make"):
        st.session_state[f"{key}_ready"] = (sid, version)
        ready = True
    if ready:
        try:
            account = ui_account.current_account()
            if account is None:
                raise StoreError("sign in first")
            text, file_name = _report_html(
                database_url(), (account.id,), sid, version, str(paths.references_dir())
            )
        except (StoreError, StrokeError, ValueError) as exc:
            st.warning(md_text(f"This session's report cannot be made: {exc}"))
            return
        st.download_button(
            "Download the report (HTML)", text.encode("utf-8"), file_name, "text/html",
            key=f"{key}_html", type="primary",
            help="One file with the pictures inside: send it to your instructor.",
        )  # fmt: skip
    st.caption(
        "The report is a single web page (path over the reference, speed, flags, scores) "
        "that opens in any browser, even offline. It holds no video."
    )


def progress_page() -> None:
    """The whole Progress page (after sign-in, where the server needs it)."""
    ui_account.require_account(unscoped_store)
    ui_account.account_sidebar()
    st.title("Progress")
    try:
        the_store = store()
        profiles = the_store.profiles()
    except StoreError as exc:
        st.error(md_text(f"The session store cannot be opened: {exc}"))
        return
    if not profiles:
        st.info(NO_SESSIONS)
        render_shared_with_me(the_store, stroke_names())
        return
    current = st.session_state.get("profile")
    profile = st.selectbox(
        "Profile", profiles, index=profiles.index(current) if current in profiles else 0,
        key="progress_profile",
    )  # fmt: skip
    rows = the_store.sessions(profile=profile, limit=None)
    if not rows:
        st.info(f"No sessions yet for {md_text(profile)}. " + NO_SESSIONS.split(". ", 1)[1])
        return
    names = stroke_names()
    strokes = strokes_practised(rows)
    stroke_id = st.selectbox(
        "Stroke", strokes, format_func=lambda s: stroke_label(s, names), key="progress_stroke"
    )
    render_progress(the_store, profile, stroke_id, names)
    st.subheader("Last sessions")
    recent = [r for r in rows if r.stroke_id == stroke_id][:RECENT_SESSIONS]
    st.dataframe(sessions_table(recent, names), hide_index=True, width="stretch")
    st.subheader("Report for your instructor")
    render_export(recent, names, key="export")
    render_sharing(the_store, recent, names)
    render_shared_with_me(the_store, names)


def render_sharing(the_store: Store, rows: Sequence[SessionRow], names) -> None:
    """A signed-in trainee shows one session to an instructor account (or stops showing it)."""

    account = ui_account.current_account()
    if account is None or account.id is None or not rows:
        return
    try:
        teachers = [a.name for a in instructors(unscoped_store()) if a.id != account.id]
    except StoreError:
        return
    if not teachers:
        return
    with st.expander("Share a session with your instructor"):
        by_id = {r.id: r for r in rows}
        sid = st.selectbox(
            "Session", list(by_id), format_func=lambda i: session_label(by_id[i], names),
            key="share_session",
        )  # fmt: skip
        teacher = st.selectbox("Instructor", teachers, key="share_instructor")
        try:
            shared = the_store.shared_with(sid)
        except StoreError as exc:
            st.warning(md_text(exc))
            return
        if shared:
            st.caption(md_text("Shared with " + ", ".join(shared)))
        if teacher in shared:
            if st.button("Stop sharing it", key="share_stop"):
                the_store.unshare_session(sid, teacher)
                st.rerun()
        elif st.button("Share it", key="share_go"):
            try:
                the_store.share_session(sid, teacher)
            except StoreError as exc:
                st.warning(md_text(exc))
            else:
                st.rerun()


def render_shared_with_me(the_store: Store, names) -> None:
    """An instructor account: the sessions trainees shared with it, and their reports."""
    account = ui_account.current_account()
    if account is None or account.id is None or not account.is_instructor:
        return
    rows = the_store.shared_sessions()
    st.subheader("Shared with you")
    if not rows:
        st.caption("No trainee has shared a session with you yet.")
        return
    table = sessions_table(rows, names)
    table.insert(0, "Trainee", [md_text(r.owner or "") for r in rows])
    st.dataframe(table, hide_index=True, width="stretch")
    render_export(rows, names, key="shared_export")


def render_progress(the_store: Store, profile: str, stroke_id: str, names) -> None:
    """Summary numbers and the three charts of one profile's sessions of one stroke."""
    points = the_store.progress(profile, stroke_id)
    if not points:
        st.info("No scored repetition yet for this stroke: its sessions are listed below.")
        return
    df = progress_frame(points)
    scores = df["mean_score"].dropna()
    m1, m2, m3 = st.columns(3)
    m1.metric("Sessions", len(points))
    m2.metric("Repetitions", int(df["repetitions"].sum()))
    if len(scores):
        delta = None if len(scores) < 2 else f"{scores.iloc[-1] - scores.iloc[0]:+.0f} since first"
        m3.metric("Last mean score", f"{scores.iloc[-1]:.0f} / 100", delta)
    band = _band(stroke_id)
    left, right = st.columns(2)
    with left:
        st.markdown("**Score**")
        st.altair_chart(score_chart(df), width="stretch")
        st.caption("Mean score of the repetitions in each session (out of 100).")
    with right:
        st.markdown("**Pace**")
        st.altair_chart(pace_chart(df, band), width="stretch")
        st.caption(
            "Your speed over the guide dot's speed, averaged per session. Green band: a "
            "calm pace; orange dashes: exactly the guide dot."
        )
    st.markdown("**How often each flag comes up**")
    fdf = flag_frame(points)
    if fdf.empty:
        st.success("No flags in any of these sessions. Lovely work.")
    else:
        st.altair_chart(flags_chart(fdf), width="stretch")
        st.caption("Each bar: how many repetitions of that session had each flag.")


def _band(stroke_id: str) -> tuple[float, float]:
    """The calm speed band of a built-in stroke; the default pace bounds' band for any
    other id (a custom reference keeps the pace bounds of its built-in type)."""
    from coach.render.charts import pace_band  # deferred: OpenCV

    if stroke_id in builtin_ids():
        return pace_band(load_stroke(stroke_id))
    p = PaceBounds()
    return 1.0 / p.too_slow_above, 1.0 / p.too_fast_below
