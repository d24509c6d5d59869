"""Streamlit pieces of the class page (``pages/4_Class.py``).

An instructor opens a class and shares its code; parents join with the code and
their name. Each browser session runs its own :class:`coach.classroom.ClassLiveCoach`
on its own webcam (the same pipeline as the main page). Between sessions only
small things travel, through :data:`coach.classroom.CLASSROOM`: the instructor's
tracked point (body frame) to the parents, each parent's status and last score to
the instructor's board. Never video.

A reload keeps you in the class: the page writes ``?role=parent&class=CODE&name=NAME``
(or ``?role=instructor&class=CODE&key=KEY``) into the address and, in a fresh browser
session, joins again with it (same seat, same board row).

The live parts refresh with ``st.fragment(run_every=...)``; ``webrtc_streamer``
cannot run under ``AppTest``, so, like the main page, the page asks
:func:`coach.ui_live.webrtc_enabled` first.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
from pathlib import Path

import streamlit as st

from coach import classroom as cr
from coach import live as live_mod
from coach import ui_live
from coach.bodyframe import BodyFrame
from coach.strokes import StrokeError, list_strokes, load_stroke
from coach.ui_text import FLAG_LABEL, SAFETY_NOTES

PARENT, INSTRUCTOR = "I'm a parent joining a class", "I'm the instructor"
REFRESH_S = 1.0  # board and follow-me panel refresh period
DEFAULT_BOX = (0.3, 0.3, 0.7, 0.7)  # display coordinates, as on the main page
FOLLOW_HEX = "#{:02X}{:02X}{:02X}".format(*cr.FollowStyle().colour)

#: Session-state keys.
SESSION = "class_session"  # coach.classroom.ClassSession of the instructor
SEAT = "class_seat"  # coach.classroom.Seat of a parent
LIVE = "class_live"  # this browser session's ClassLiveCoach
VIEW = "class_view"  # coach.live.LiveView folded from its events
NOTICE = "class_notice"  # a message for the lobby (class ended, bad address)

STATUS_WORDS = {
    "joined": "joined, camera not started",
    "tracking": "practising",
    "bridged": "practising",
    "searching": "looking for the hand",
    "no_hand": "hand not in view",
    "calibrate": "needs calibrating",
    "calibrating": "calibrating",
    "camera_off": "camera off",
    "away": "away",
}


# -- settings shared with the main page -----------------------------------------------------------


def data_dir() -> Path:
    """Where the main page keeps its settings (same rule as app.py)."""
    env = os.environ.get("COACH_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stroke-coach"


def settings() -> live_mod.LiveSettings:
    if "class_settings" not in st.session_state:
        st.session_state.class_settings = live_mod.load_settings(data_dir())
    return st.session_state.class_settings


def camera_body_frame() -> BodyFrame:
    """The main page's saved calibration, or the default box in the middle of the picture."""
    s = settings()
    saved = s.calibration()
    if saved is not None:
        return saved
    return live_mod.body_frame_from_display_box(
        s.box or DEFAULT_BOX, s.head, mirror_preview=s.mirror_preview,
        camera_mirrored=s.camera_mirrored,
    )  # fmt: skip


@st.cache_resource(show_spinner=False)
def strokes() -> dict:
    return {s.id: s for s in list_strokes()}


def stroke_named(stroke_id: str):
    known = strokes().get(stroke_id)
    if known is not None:
        return known
    try:
        return load_stroke(stroke_id)
    except StrokeError:
        return load_stroke("i-love-you")


def registry() -> cr.Classroom:
    return cr.CLASSROOM


# -- the page -------------------------------------------------------------------------------------


def page() -> None:
    st.title("Class")
    st.caption(
        "Practise together with an instructor: the instructor's hand path appears over your "
        'own doll as a green "follow me" line. Only that path and your scores are shared, '
        "never anyone's video."
    )
    restore_from_address()
    if st.session_state.get(SESSION) is not None:
        instructor_view(st.session_state[SESSION])
    elif st.session_state.get(SEAT) is not None:
        parent_view(st.session_state[SEAT])
    else:
        lobby()


def restore_from_address() -> None:
    """A fresh browser session with class details in the address: join again."""
    if st.session_state.get(SESSION) is not None or st.session_state.get(SEAT) is not None:
        return
    if st.session_state.get("class_restored"):
        return
    st.session_state.class_restored = True
    qp = st.query_params
    role, code = qp.get("role"), qp.get("class")
    if not code or role not in ("parent", "instructor"):
        return
    try:
        if role == "instructor":
            enter_as_instructor(registry().resume(code, qp.get("key", "")))
        else:
            enter_as_parent(registry().join(code, qp.get("name", "")))
    except cr.ClassError as exc:
        st.session_state[NOTICE] = str(exc)
        st.session_state.class_code_prefill = code if role == "parent" else ""
        st.query_params.clear()


def enter_as_instructor(session: cr.ClassSession) -> None:
    st.session_state[SESSION] = session
    st.query_params.update({"role": "instructor", "class": session.code, "key": session.token})


def enter_as_parent(seat: cr.Seat) -> None:
    st.session_state[SEAT] = seat
    st.query_params.update({"role": "parent", "class": seat.code, "name": seat.name})


def leave_class() -> None:
    live = st.session_state.pop(LIVE, None)
    if live is not None:
        live.link = None
        live.close()  # frees the hand landmarker; a late frame just passes through
    for key in (SESSION, SEAT, VIEW):
        st.session_state.pop(key, None)
    st.query_params.clear()


def lobby() -> None:
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(notice)
    role = st.radio("Who are you?", (PARENT, INSTRUCTOR), horizontal=True, key="class_role")
    if role == PARENT:
        join_form()
    else:
        open_form()
    with st.expander("Before you start: safety notes"):
        for note in SAFETY_NOTES:
            st.markdown(f"- {note}")


def join_form() -> None:
    with st.form("class_join"):
        code = st.text_input(
            "Class code", value=st.session_state.get("class_code_prefill", ""), max_chars=12,
            placeholder="e.g. K7QX3", help="The code your instructor shows; capitals or not.",
        )  # fmt: skip
        name = st.text_input(
            "Your name", max_chars=cr.NAME_MAX_CHARS,
            help="Join again with the same name to get your place back.",
        )  # fmt: skip
        go = st.form_submit_button("Join the class", type="primary")
    if go:
        try:
            seat = registry().join(code, name)
        except cr.ClassError as exc:
            st.error(str(exc))
            return
        enter_as_parent(seat)
        st.rerun()


def open_form() -> None:
    all_strokes = strokes()
    ids = list(all_strokes)
    with st.form("class_open"):
        name = st.text_input("Your name", max_chars=cr.NAME_MAX_CHARS, key="class_teacher_name")
        sid = st.selectbox("Stroke to teach", ids, format_func=lambda i: all_strokes[i].name)
        go = st.form_submit_button("Open a class", type="primary")
    if go:
        try:
            session = registry().open(name, sid)
        except cr.ClassError as exc:
            st.error(str(exc))
            return
        enter_as_instructor(session)
        st.rerun()


# -- instructor -----------------------------------------------------------------------------------


def instructor_view(session: cr.ClassSession) -> None:
    st.markdown(code_html(session.code), unsafe_allow_html=True)
    st.caption(
        "Parents open the **Class** page of this Stroke Coach and join with this code. "
        "Start your camera: your hand's path (not your video) goes to every parent."
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        live = class_coach(
            "instructor", session.stroke_id, lambda: cr.InstructorLink(registry(), session)
        )
        camera("class-instructor", live)
        stroke_picker(session, live)
        calibration_controls(live)
    with right:
        instructor_panel()
        if st.button("Close the class"):
            with contextlib.suppress(cr.ClassError):
                registry().close(session.code, session.token)
            leave_class()
            st.session_state[NOTICE] = f"Class {session.code} is closed."
            st.rerun()


def stroke_picker(session: cr.ClassSession, live: cr.ClassLiveCoach) -> None:
    all_strokes = strokes()
    ids = list(all_strokes)
    current = live.stroke.id if live.stroke.id in ids else ids[0]
    sid = st.selectbox("Stroke", ids, index=ids.index(current),
                       format_func=lambda i: all_strokes[i].name, key="class_stroke")  # fmt: skip
    if sid != live.stroke.id:
        try:
            registry().set_stroke(session.code, session.token, sid)
        except cr.ClassError as exc:
            st.error(str(exc))
            return
        live.set_stroke(all_strokes[sid])
        st.session_state[SESSION] = cr.ClassSession(
            session.code, session.instructor, sid, session.token
        )


@st.fragment(run_every=REFRESH_S)
def instructor_panel() -> None:
    session: cr.ClassSession | None = st.session_state.get(SESSION)
    live = st.session_state.get(LIVE)
    if session is None or live is None:
        return
    reg = registry()
    try:
        reg.heartbeat(session.code, session.token)
        rows = reg.board(session.code)
    except cr.ClassNotFound as exc:
        leave_class()
        st.session_state[NOTICE] = str(exc)
        st.rerun(scope="app")
        return
    st.subheader(f"Parents ({len(rows)})")
    st.markdown(board_html(rows), unsafe_allow_html=True)
    link = live.link
    published = getattr(link, "published", 0)
    st.markdown(
        f'<p style="font-size:0.9rem">Your path points shared with the class: '
        f'<span data-coach-published="{published}">{published}</span></p>',
        unsafe_allow_html=True,
    )
    v = fold_events(live)
    ui_live.render_hint(st.empty(), v.hint)
    ui_live.render_status(st.empty(), v)


# -- parent ---------------------------------------------------------------------------------------


def parent_view(seat: cr.Seat) -> None:
    reg = registry()
    try:
        guide = reg.guide(seat.code)
    except cr.ClassNotFound as exc:
        leave_class()
        st.session_state[NOTICE] = str(exc)
        st.rerun()
        return
    welcome = "Welcome back" if seat.rejoined else "Welcome"
    st.markdown(f"**{welcome}, {html.escape(seat.name)}**: class **{seat.code}** with "
                f"**{html.escape(guide.instructor)}**, seat {seat.number}.")  # fmt: skip
    left, right = st.columns([3, 2], gap="large")
    with left:
        live = class_coach("parent", guide.stroke_id, lambda: cr.ParentLink(registry(), seat))
        camera("class-parent", live)
        st.markdown(legend_html(), unsafe_allow_html=True)
        calibration_controls(live)
    with right:
        parent_panel()
        if st.button("Leave the class"):
            with contextlib.suppress(cr.ClassError):
                reg.leave(seat.code, seat.token)
            leave_class()
            st.rerun()


@st.fragment(run_every=REFRESH_S)
def parent_panel() -> None:
    seat: cr.Seat | None = st.session_state.get(SEAT)
    live = st.session_state.get(LIVE)
    if seat is None or live is None:
        return
    reg = registry()
    try:
        reg.heartbeat(seat.code, seat.token)
        guide = reg.guide(seat.code)
    except cr.SeatNotFound:
        seat = reg.join(seat.code, seat.name)  # the seat expired while away: sit down again
        enter_as_parent(seat)
        if live.link is not None:
            live.link.seat = seat
        guide = reg.guide(seat.code)
    except cr.ClassNotFound as exc:
        leave_class()
        st.session_state[NOTICE] = str(exc)
        st.rerun(scope="app")
        return
    if guide.stroke_id != live.stroke.id:
        live.set_stroke(stroke_named(guide.stroke_id))
    relayed = getattr(live.link, "relayed", 0)
    st.markdown(follow_html(guide, relayed), unsafe_allow_html=True)
    v = fold_events(live)
    ui_live.render_hint(st.empty(), v.hint)
    ui_live.render_status(st.empty(), v)
    ui_live.render_cards(st.empty(), v.repetitions, limit=3)


# -- shared pieces --------------------------------------------------------------------------------


def class_coach(role: str, stroke_id: str, make_link) -> cr.ClassLiveCoach:
    """This browser session's coach (kept in the session state) with its class link."""
    live = st.session_state.get(LIVE)
    if live is None or st.session_state.get("class_live_role") != role:
        s = settings()
        live = cr.ClassLiveCoach(
            stroke_named(stroke_id), camera_body_frame(), mirror_preview=s.mirror_preview,
            camera_mirrored=s.camera_mirrored,
        )  # fmt: skip
        st.session_state[LIVE] = live
        st.session_state.class_live_role = role
    if live.link is None:
        live.link = make_link()
    return live


def camera(key: str, live: cr.ClassLiveCoach):
    if not ui_live.webrtc_enabled():
        st.info("Live video is not available here.")
        return None
    return ui_live.camera_streamer(key, live)


def fold_events(live: cr.ClassLiveCoach) -> live_mod.LiveView:
    """Fold the coach's waiting events into this session's view (no waiting)."""
    v = st.session_state.get(VIEW, live_mod.LiveView())
    new = live_mod.apply_events(v, live.events.drain())
    if new.calibrated is not None and new.calibrated is not v.calibrated:
        st.toast("Calibrated: the tummy box now follows your hand's position.")
    st.session_state[VIEW] = new
    return new


def calibration_controls(live: cr.ClassLiveCoach) -> None:
    with st.expander("Calibrate the tummy box"):
        st.markdown(
            "The coach uses the calibration saved on the main page, or a box in the middle "
            "of the picture. To set it here: start the video, lay **one flat hand** on the "
            "tummy with your **fingers towards the baby's head** and hold still for about "
            "2 seconds. (Kept for this visit only.)"
        )
        c1, c2 = st.columns(2)
        if c1.button("Calibrate with my hand", disabled=live.calibrating):
            live.start_calibration()
            st.rerun()
        if live.calibrating and c2.button("Cancel"):
            live.cancel_calibration()
            st.rerun()


# -- html (pure) ----------------------------------------------------------------------------------


CODE_STYLE = (
    "font-size:2.6rem;font-weight:700;letter-spacing:0.35rem;font-family:monospace;"
    "padding:0.4rem 1rem;border-radius:12px;background:#EAF5FB;color:#0B3954;display:inline-block"
)


def code_html(code: str) -> str:
    c = html.escape(code)
    return f'<div>Class code</div><div data-coach-class-code="{c}" style="{CODE_STYLE}">{c}</div>'


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def board_html(rows: list[cr.Row]) -> str:
    """The instructor's board as an HTML table; every row carries ``data-coach-seat``,
    ``data-coach-status`` and ``data-coach-score`` (empty until the first repetition)."""
    if not rows:
        return (
            '<div data-coach-board="0">No parents yet: share the code. '
            "They appear here as they join.</div>"
        )
    cell = "padding:4px 6px;vertical-align:top"
    head = "".join(
        f'<th style="text-align:left;{cell}">{h}</th>'
        for h in ("#", "Parent", "Now", "Last repetition")
    )
    body = []
    for r in rows:
        score = "" if r.last_score is None else str(r.last_score)
        flags = ", ".join(FLAG_LABEL.get(f, f.replace("_", " ")) for f in r.flags)
        if r.last_score is not None and not r.flags:
            flags = "no flags"
        reps = f"{r.repetitions} rep{'s' if r.repetitions != 1 else ''}"
        last = f"<b>{score} / 100</b><br><small>{html.escape(flags)} · {reps}</small>"
        now = html.escape(status_words(r.status))
        if r.position and r.online:
            now += f"<br><small>{html.escape(r.position)}</small>"
        cells = (str(r.number), html.escape(r.name), now, last if score else "")
        tds = "".join(f'<td style="{cell}">{c}</td>' for c in cells)
        colour = "#0B3954" if r.online else "#888"
        body.append(
            f'<tr data-coach-seat="{r.number}" data-coach-status="{html.escape(r.status)}" '
            f'data-coach-score="{score}" style="color:{colour}">{tds}</tr>'
        )
    return (
        f'<table data-coach-board="{len(rows)}" style="border-collapse:collapse;width:100%;'
        f'font-size:0.95rem"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def legend_html() -> str:
    """What the colours on the parent's video mean."""
    swatch = (
        f'<span style="display:inline-block;width:1.8em;height:0.5em;background:{FOLLOW_HEX};'
        'vertical-align:middle;border-radius:3px"></span>'
    )
    return (
        f'<p style="font-size:0.9rem">{swatch} the instructor\'s hand, drawn on your doll: '
        "follow it. Blue: the path. Orange dot: the calm pace. Yellow: your hand.</p>"
    )


def follow_html(guide: cr.Guide, relayed: int) -> str:
    """What the instructor is doing, and how many of their points reached this video."""
    who = html.escape(guide.instructor)
    if guide.status == "waiting":
        doing = f"{who} hasn't started their camera yet."
    elif guide.idle_s > 10 or not math.isfinite(guide.idle_s):
        doing = f"{who} has paused."
    elif guide.status == "searching":
        doing = f"{who}'s hand is off the doll."
    else:
        where = f"letter {guide.label}" if len(guide.label) == 1 else guide.label or "moving"
        doing = f"{who} is on {html.escape(where)} (repetition {guide.repetition + 1})."
    return (
        f'<div style="border-left:8px solid {FOLLOW_HEX};padding:0.3rem 0.8rem;'
        f'margin-bottom:0.6rem"><b>Follow me:</b> {doing}<br>'
        f'<small>Instructor points on your video: <span data-coach-relayed="{relayed}">'
        f"{relayed}</span></small></div>"
    )
