"""Streamlit pieces of the class page (``pages/4_Class.py``).

An instructor opens a class and shares its code; parents join with the code and
their name. Everyone runs this page on their own Stroke Coach: the webcam goes to
their own computer only, where their own :class:`coach.services.classroom.ClassLiveCoach`
tracks and scores. Between participants only small things travel, through a class
relay (:mod:`coach.relay`): the instructor's tracked point (body frame) to the
parents, each parent's status and last score to the instructor's board. Never video.

The relay address is a setting (remembered in the data folder); empty means the relay
built into this Stroke Coach (loopback). The page shows the connection state and keeps
coaching locally while the relay is away.

A reload keeps you in the class: the address holds only ``?role=...&class=CODE``; the
seat's token (or the instructor's key) is kept in a browser cookie of this Stroke Coach
(never in the address, never in a log), and a fresh browser session resumes with it.

The live parts refresh with ``st.fragment(run_every=...)``; ``webrtc_streamer``
cannot run under ``AppTest``, so, like the main page, the page asks
:func:`coach.ui.live.webrtc_enabled` first.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from urllib.parse import quote, unquote

import streamlit as st
import streamlit.components.v1 as components

from coach.core.bodyframe import DEFAULT_TUMMY_BOX, BodyFrame
from coach.core.strokes import StrokeError, list_strokes, load_stroke
from coach.core.types import Guide
from coach.relay.client import CONNECTED, ENDED, FAILED
from coach.render.follow_me import FollowStyle
from coach.render.text import FLAG_LABEL, SAFETY_NOTES
from coach.services import calibration
from coach.services import classroom as cr
from coach.services import events as live_events
from coach.storage import paths
from coach.storage import settings as live_settings
from coach.ui import account as ui_account
from coach.ui import live as ui_live
from coach.ui import progress as ui_progress

PARENT, INSTRUCTOR = "I'm a parent joining a class", "I'm the instructor"
REFRESH_S = 1.0  # board and follow-me panel refresh period
DEFAULT_BOX = DEFAULT_TUMMY_BOX  # display coordinates: the middle of the picture
FOLLOW_HEX = "#{:02X}{:02X}{:02X}".format(*FollowStyle().colour)

#: Session-state keys.
SESSION = "class_session"  # coach.services.classroom.ClassSession of the instructor
SEAT = "class_seat"  # coach.services.classroom.Seat of a parent
LIVE = "class_live"  # this browser session's ClassLiveCoach
CLIENT = "class_client"  # this browser session's coach.relay.client.RelayClient
COOKIE = "coach_class"  # browser cookie: role, code, key or token, name, relay address
VIEW = "class_view"  # coach.services.live.LiveView folded from its events
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
    """Where the main page keeps its settings (:func:`coach.storage.paths.data_dir`)."""
    return paths.data_dir()


def settings() -> live_settings.LiveSettings:
    if "class_settings" not in st.session_state:
        st.session_state.class_settings = live_settings.load_settings(data_dir())
    return st.session_state.class_settings


def camera_body_frame() -> BodyFrame:
    """The main page's saved calibration, or the default box in the middle of the picture."""
    s = settings()
    saved = s.calibration()
    if saved is not None:
        return saved
    return calibration.body_frame_from_display_box(
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


def saved_relay_address() -> str:
    """The relay address the user chose ("" = the built-in relay); COACH_RELAY_URL is the
    default when none was saved (a deployment's or a test harness's relay)."""
    saved = cr.load_relay_address(data_dir())
    if saved:
        return saved
    try:
        return cr.check_relay_address(paths.relay_url())
    except cr.ClassError:
        return ""


def relay_url(address: str | None = None) -> str:
    """The address to connect to: the chosen relay or the built-in one (open to this
    network when the chosen address is ``network``)."""
    address = saved_relay_address() if address is None else address
    if address == cr.NETWORK:
        return cr.network_relay_url()
    return address or cr.embedded_relay_url()


# -- the page -------------------------------------------------------------------------------------


def page() -> None:
    # A server others can reach asks every visitor to sign in first, as the other pages do.
    ui_account.require_account(ui_progress.unscoped_store)
    ui_account.account_sidebar()
    st.title("Class")
    st.caption(
        "Practise together with an instructor: the instructor's hand path appears over your "
        'own doll as a green "follow me" line. Only that path and your scores are shared '
        "through the class relay, never anyone's video: your camera stays on this computer."
    )
    restore_from_address()
    if st.session_state.get(SESSION) is not None:
        instructor_view(st.session_state[SESSION])
    elif st.session_state.get(SEAT) is not None:
        parent_view(st.session_state[SEAT])
    else:
        lobby()
    keep_cookie()  # last on the page: an element added above the camera would restart it


def remembered() -> dict:
    """The class this browser was in (the cookie written at join), or {}."""
    try:
        raw = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no cookies here (e.g. under AppTest)
        raw = None
    return parse_cookie(raw)


def cookie_value(data: dict) -> str:
    return quote(json.dumps(data, separators=(",", ":")), safe="")


def parse_cookie(raw: object) -> dict:
    """:func:`cookie_value` back to the dict; {} for anything else (it is the browser's
    data: never trusted, every field is checked again where it is used)."""
    if not isinstance(raw, str) or not raw or len(raw) > 2000:
        return {}
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def restore_from_address() -> None:
    """A fresh browser session with class details in the address: resume with the key or
    token this browser kept; without them, back to the lobby with the code filled in."""
    if st.session_state.get(SESSION) is not None or st.session_state.get(SEAT) is not None:
        return
    if st.session_state.get("class_restored"):
        return
    st.session_state.class_restored = True
    qp = st.query_params
    role, code = qp.get("role"), qp.get("class")
    if not code or role not in ("parent", "instructor"):
        return
    kept = remembered()
    try:
        same = kept.get("role") == role and cr.normalise_code(kept.get("code", "")) == (
            cr.normalise_code(code)
        )
        if not same:
            raise cr.SeatNotFound(
                f"Class {code[:8]}: this browser holds no seat in it; join with the code"
            )
        url = relay_url(cr.check_relay_address(kept.get("relay", "")))
        if role == "instructor":
            enter_as_instructor(*cr.resume_instructor(url, code, kept.get("secret", "")))
        else:
            enter_as_parent(*cr.resume_seat(url, code, kept.get("secret", ""),
                                            str(kept.get("name", ""))))  # fmt: skip
    except cr.ClassError as exc:
        st.session_state[NOTICE] = str(exc)
        st.session_state.class_code_prefill = code[:12] if role == "parent" else ""
        st.query_params.clear()


def remember_in_browser(data: dict | None) -> None:
    """Keep the class's key or token in a cookie of this Stroke Coach's address (a session
    cookie: gone when the browser closes); None forgets it."""

    if data is None:
        cookie = f"{COOKIE}=; path=/; max-age=0; SameSite=Strict"
    else:
        cookie = (
            f"{COOKIE}={quote(json.dumps(data, separators=(',', ':')))}; path=/; SameSite=Strict"
        )
    script = (
        "<script>try{window.parent.document.cookie=" + json.dumps(cookie) + "}"
        "catch(e){document.cookie=" + json.dumps(cookie) + "}</script>"
    )
    components.html(script, height=0)


def enter_as_instructor(session: cr.ClassSession, client) -> None:
    st.session_state[SESSION] = session
    st.session_state[CLIENT] = client
    st.session_state.class_cookie = {"role": "instructor", "code": session.code,
                                     "secret": session.token, "relay": session.relay}  # fmt: skip
    st.query_params.clear()
    st.query_params.update({"role": "instructor", "class": session.code})


def enter_as_parent(seat: cr.Seat, client) -> None:
    st.session_state[SEAT] = seat
    st.session_state[CLIENT] = client
    st.session_state.class_cookie = {"role": "parent", "code": seat.code, "secret": seat.token,
                                     "name": seat.joined_as, "relay": seat.relay}  # fmt: skip
    st.query_params.clear()
    st.query_params.update({"role": "parent", "class": seat.code})


def leave_class() -> None:
    live = st.session_state.pop(LIVE, None)
    if live is not None:
        live.link = None
        live.close()  # frees the hand landmarker; a late frame just passes through
    client = st.session_state.pop(CLIENT, None)
    if client is not None:
        client.stop(2.0)
    for key in (SESSION, SEAT, VIEW):
        st.session_state.pop(key, None)
    st.session_state.class_cookie = None
    st.query_params.clear()


def keep_cookie() -> None:
    """The class cookie as it should be (rendered on every run with the same content
    while nothing changes, so the browser runs its script only after a change)."""
    want = st.session_state.get("class_cookie", "unset")
    if want != "unset":
        remember_in_browser(want)


def lobby() -> None:
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(notice)
    role = st.radio("Who are you?", (PARENT, INSTRUCTOR), horizontal=True, key="class_role")
    if role == PARENT:
        join_form()
    else:
        open_form()
    relay_setting()
    with st.expander("Before you start: safety notes"):
        for note in SAFETY_NOTES:
            st.markdown(f"- {note}")


def relay_setting() -> None:
    with st.expander("Class relay"):
        st.markdown(
            "The class relay passes the instructor's path and the parents' scores between "
            "computers (never video). Leave it empty to use the relay built into this Stroke "
            "Coach (everyone on this computer). For a class across computers, everyone enters "
            "the address of the same relay, e.g. `wss://relay.example.org/class` "
            "(see docs/relay.md). An instructor whose parents are on the same home or "
            "office network can type `network`: the built-in relay then opens to that "
            "network, and this box shows the address the parents type."
        )
        shared = cr.network_relay_addresses()
        if shared:
            st.info("Parents on this network type: " + "  or  ".join(f"`{a}`" for a in shared))
        current = saved_relay_address()
        with st.form("class_relay_form"):
            text = st.text_input("Relay address", value=current, key="class_relay_address",
                                 max_chars=cr.RELAY_ADDRESS_MAX_CHARS,
                                 placeholder="empty: built into this Stroke Coach; "
                                             "network: the same, open to this network")  # fmt: skip
            go = st.form_submit_button("Use this relay")
        if go:
            try:
                kept = cr.save_relay_address(data_dir(), text)
            except (cr.ClassError, OSError) as exc:
                st.error(str(exc))
                return
            st.success(f"Class relay: {kept or 'built into this Stroke Coach'}")


def join_form() -> None:
    with st.form("class_join"):
        code = st.text_input(
            "Class code", value=st.session_state.get("class_code_prefill", ""), max_chars=12,
            placeholder="e.g. K7QX3", help="The code your instructor shows; capitals or not.",
        )  # fmt: skip
        name = st.text_input(
            "Your name", max_chars=cr.NAME_MAX_CHARS,
            help="Shown on the instructor's board. Your seat is yours on this browser.",
        )  # fmt: skip
        go = st.form_submit_button("Join the class", type="primary")
    if go:
        try:
            enter_as_parent(*cr.join_class(relay_url(), code, name))
        except cr.ClassError as exc:
            st.error(str(exc))
            return
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
            enter_as_instructor(*cr.open_class(relay_url(), name, sid))
        except cr.ClassError as exc:
            st.error(str(exc))
            return
        st.rerun()


def client_or_none():
    return st.session_state.get(CLIENT)


# -- instructor -----------------------------------------------------------------------------------


def instructor_view(session: cr.ClassSession) -> None:
    st.markdown(code_html(session.code), unsafe_allow_html=True)
    shared = cr.network_relay_addresses()
    if session.relay and shared and session.relay == cr.network_relay_url():
        where = "the relay " + " or ".join(f"<code>{html.escape(a)}</code>" for a in shared)
    elif session.relay and session.relay != cr.embedded_relay_running():
        where = f"the relay <code>{html.escape(session.relay)}</code>"
    else:
        where = "the relay built into this Stroke Coach (this computer only)"
    st.markdown(
        f"Parents open the <b>Class</b> page of their own Stroke Coach, set {where}, and join "
        "with this code. Start your camera: your hand's path (not your video) goes to every "
        "parent.",
        unsafe_allow_html=True,
    )
    left, right = st.columns([3, 2], gap="large")
    client = client_or_none()
    with left:
        live = class_coach("instructor", session.stroke_id, lambda: cr.InstructorLink(client))
        camera("class-instructor", live)
        stroke_picker(session, live)
        calibration_controls(live)
    with right:
        instructor_panel()
        if st.button("Close the class"):
            if client is not None:
                client.close_class()
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
        client = client_or_none()
        if client is not None:
            client.set_stroke(sid)
        live.set_stroke(all_strokes[sid])
        st.session_state[SESSION] = cr.ClassSession(
            session.code, session.instructor, sid, session.token, session.relay
        )


def class_ended(client) -> bool:
    """The class ended (closed, expired, or this browser's place in it is gone): back to
    the lobby with the reason."""
    if client is None or client.state not in (ENDED, FAILED):
        return False
    snap = client.snapshot()
    leave_class()
    st.session_state[NOTICE] = snap.ended_why or snap.last_error or "The class has ended."
    if "ended" not in st.session_state[NOTICE] and snap.ended_why:
        st.session_state[NOTICE] = f"The class has ended ({snap.ended_why})."
    return True


@st.fragment(run_every=REFRESH_S)
def instructor_panel() -> None:
    session: cr.ClassSession | None = st.session_state.get(SESSION)
    live = st.session_state.get(LIVE)
    client = client_or_none()
    if session is None or live is None or client is None:
        return
    if class_ended(client):
        st.rerun(scope="app")
        return
    st.markdown(relay_html(client.state), unsafe_allow_html=True)
    rows = cr.board(client)
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
    client = client_or_none()
    if client is None or class_ended(client):
        st.rerun()
        return
    snap = client.snapshot()
    welcome = "Welcome back" if seat.rejoined else "Welcome"
    st.markdown(f"**{welcome}, {html.escape(seat.name)}**: class **{seat.code}** with "
                f"**{html.escape(snap.instructor)}**, seat {seat.number}.")  # fmt: skip
    left, right = st.columns([3, 2], gap="large")
    with left:
        live = class_coach("parent", snap.stroke_id, lambda: cr.ParentLink(client))
        camera("class-parent", live)
        st.markdown(legend_html(), unsafe_allow_html=True)
        calibration_controls(live)
    with right:
        parent_panel()
        if st.button("Leave the class"):
            client.leave()
            leave_class()
            st.rerun()


@st.fragment(run_every=REFRESH_S)
def parent_panel() -> None:
    seat: cr.Seat | None = st.session_state.get(SEAT)
    live = st.session_state.get(LIVE)
    client = client_or_none()
    if seat is None or live is None or client is None:
        return
    if class_ended(client):
        st.rerun(scope="app")
        return
    snap = client.snapshot()
    st.markdown(relay_html(client.state), unsafe_allow_html=True)
    if snap.stroke_id and snap.stroke_id != live.stroke.id:
        live.set_stroke(stroke_named(snap.stroke_id))
    guide = cr.guide_from(snap)
    st.markdown(follow_html(guide, snap.relayed), unsafe_allow_html=True)
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


def fold_events(live: cr.ClassLiveCoach) -> live_events.LiveView:
    """Fold the coach's waiting events into this session's view (no waiting)."""
    v = st.session_state.get(VIEW, live_events.LiveView())
    new = live_events.apply_events(v, live.events.drain())
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
        ui_live.hand_calibration_buttons(live)


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


RELAY_WORDS = {
    CONNECTED: ("#1B7F3B", "Class relay: connected"),
    "connecting": ("#8A6D00", "Class relay: connecting..."),
    "reconnecting": ("#B34700", "Class relay: lost, reconnecting. Coaching goes on here; "
                                "the class picks up again when the relay is back."),
    ENDED: ("#888", "Class relay: the class has ended"),
    FAILED: ("#888", "Class relay: not in the class"),
}  # fmt: skip


def relay_html(state: str) -> str:
    colour, words = RELAY_WORDS.get(state, ("#888", f"Class relay: {state}"))
    return (
        f'<p data-coach-relay="{html.escape(state)}" style="font-size:0.9rem;color:{colour}">'
        f"{html.escape(words)}</p>"
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


def follow_html(guide: Guide, relayed: int) -> str:
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
