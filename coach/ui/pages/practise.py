"""Stroke Coach: the "Practise" page (live coach and scoring a video). `coach app` or
`make run` start it (coach/ui_pages/app.py, the navigation; app.py in a checkout).

Live mode: the browser's webcam goes to the server over WebRTC (streamlit-webrtc,
SENDRECV); each frame runs through the same per-frame pipeline as `coach score`
(coach.services.live.LiveCoach, one per browser session) and comes back annotated. Hints,
score cards and statistics reach the page through a bounded queue polled with a
timeout. No webcam? The built-in sample clip plays through the same coach.
Upload mode scores a recorded video with a progress bar and shows the report.

Settings (stroke, mirroring, calibration, spoken hints) are remembered in a small
JSON file in the data folder (coach.storage.paths.data_dir: COACH_DATA_DIR, else the user's
per-platform data folder).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import streamlit as st

from coach.core.bodyframe import DEFAULT_TUMMY_BOX, HEAD_DIRECTIONS, BodyFrame
from coach.core.strokes import list_strokes, load_stroke
from coach.references.format import ReferenceFileError
from coach.references.library import save_reference, scan_references
from coach.references.recording import DemonstrationError, record_reference
from coach.render import charts as ui_charts
from coach.render.draw import draw
from coach.render.text import SAFETY_NOTES, card_markdown, md_text, score_card, summary_lines
from coach.samples.synth import Sample
from coach.services import calibration, recorder
from coach.services.events import LiveView, apply_events
from coach.services.live import LiveCoach
from coach.services.offline import (
    UPLOADS_TMP_DIR,
    OfflineResult,
    UploadLimits,
    UploadRefused,
    clean_upload_leftovers,
    sample_video,
    score_file,
    temporary_upload,
)
from coach.storage import paths
from coach.storage import settings as live_settings
from coach.storage.settings import LiveSettings
from coach.storage.store import StoreError
from coach.ui import account as ui_account
from coach.ui import live as ui_live
from coach.ui import progress as ui_progress
from coach.vision.video import VideoError, read_info

DEFAULT_BOX = DEFAULT_TUMMY_BOX  # display coordinates: the middle of the picture
HEAD_WORDS = {"up": "Top", "down": "Bottom", "left": "Left", "right": "Right"}
SOURCES = ("Webcam", "Sample clip")


# -- state ----------------------------------------------------------------------------------------


def data_dir() -> Path:
    return paths.data_dir()


def settings_dir() -> Path:
    """This account's settings folder: the data folder for the local account (a server
    only this computer reaches), a folder of its own for a signed-in account."""
    return ui_account.settings_dir(data_dir())


def settings() -> LiveSettings:
    if "settings" not in st.session_state:
        st.session_state.settings = live_settings.load_settings(settings_dir())
    return st.session_state.settings


def update_settings(**changes) -> LiveSettings:
    new = live_settings.with_updates(settings(), **changes)
    if new != st.session_state.settings:
        st.session_state.settings = new
        try:
            live_settings.save_settings(settings_dir(), new)
        except OSError as exc:
            st.toast(f"Could not save your settings ({exc}); they last until you close the page.")
    return new


def references_dir() -> Path:
    return paths.references_dir()


def strokes() -> dict:
    """Built-in strokes, then the references saved here (an instructor's own pace)."""

    found = {s.id: s for s in list_strokes()}
    refs, problems = scan_references(references_dir())
    for ref in refs:
        found.setdefault(ref.id, ref.stroke)
    st.session_state["reference_problems"] = problems  # shown in the sidebar, never fatal
    return found


def current_stroke():
    all_strokes = strokes()
    sid = settings().stroke_id
    return all_strokes.get(sid) or load_stroke("i-love-you")


def camera_body_frame() -> BodyFrame:
    """The saved calibration, or the default box in the middle of the picture."""
    s = settings()
    saved = s.calibration()
    if saved is not None:
        return saved
    return calibration.body_frame_from_display_box(
        s.box or DEFAULT_BOX,
        s.head,
        mirror_preview=s.mirror_preview,
        camera_mirrored=s.camera_mirrored,
    )


def live_coach(source: str) -> LiveCoach:
    """One LiveCoach per browser session and source (kept in the session state)."""
    key = f"live_{source}"
    if key not in st.session_state:
        s = settings()
        body_frame = camera_body_frame() if source == "camera" else None
        st.session_state[key] = LiveCoach(
            current_stroke(),
            body_frame,
            mirror_preview=s.mirror_preview,
            camera_mirrored=s.camera_mirrored,
        )
    return st.session_state[key]


def view(source: str) -> LiveView:
    return st.session_state.get(f"view_{source}", LiveView())


def set_view(source: str, v: LiveView) -> None:
    st.session_state[f"view_{source}"] = v


# -- sidebar --------------------------------------------------------------------------------------


def sidebar() -> None:
    s = settings()
    all_strokes = strokes()
    ids = list(all_strokes)
    with st.sidebar:
        st.header("Practice")
        sid = st.selectbox(
            "Stroke",
            ids,
            index=ids.index(s.stroke_id) if s.stroke_id in ids else 0,
            format_func=lambda i: all_strokes[i].name,
        )
        if sid != s.stroke_id:
            update_settings(stroke_id=sid)
            for key in ("live_camera", "live_sample"):
                if key in st.session_state:
                    st.session_state[key].set_stroke(all_strokes[sid])
        st.caption(md_text(all_strokes[sid].description))
        for problem in st.session_state.get("reference_problems", []):
            st.warning(md_text(f"Skipped a broken reference file: {problem}"))
        try:
            st.session_state.practice_profile = ui_progress.profile_picker(ui_progress.store())
        except StoreError as exc:
            st.session_state.practice_profile = None
            st.caption(md_text(f"Sessions are not being saved: {exc}"))
        mirror = st.toggle("Mirror the preview (like a selfie)", value=s.mirror_preview)
        spoken = st.toggle("Speak hints aloud", value=s.spoken_hints)
        with st.expander("Advanced"):
            cam_mirrored = st.toggle(
                "My camera itself flips the picture",
                value=s.camera_mirrored,
                help="Only for cameras or virtual cameras that send a mirrored picture. "
                "The preview setting above never changes the verdicts.",
            )
            if ui_account.current_account() == ui_account.LOCAL:  # a server path: local only
                st.caption(md_text(f"Settings are saved in {settings_dir()}"))
        if (mirror, spoken, cam_mirrored) != (s.mirror_preview, s.spoken_hints, s.camera_mirrored):
            update_settings(
                mirror_preview=mirror, spoken_hints=spoken, camera_mirrored=cam_mirrored
            )
            for key in ("live_camera", "live_sample"):
                if key in st.session_state:
                    st.session_state[key].set_mirror(
                        mirror_preview=mirror, camera_mirrored=cam_mirrored
                    )
        with st.expander("Safety notes"):
            for note in SAFETY_NOTES:
                st.markdown(f"- {note}")


# -- safety ---------------------------------------------------------------------------------------


def safety_gate() -> bool:
    """Before the first session: the safety notes, acknowledged once. True when seen."""
    if settings().safety_seen:
        return True
    with st.container(border=True):
        st.subheader("Before you start")
        st.markdown("A few things to know before massaging a baby (this is not medical advice):")
        for note in SAFETY_NOTES:
            st.markdown(f"- {note}")
        if st.button("I've read this, let's start", type="primary"):
            update_settings(safety_seen=True)
            st.rerun()
    return False


# -- live -----------------------------------------------------------------------------------------


def live_tab() -> None:
    s = settings()
    source_word = st.radio(
        "Video source", SOURCES, horizontal=True, key="source",
        help="No webcam, or the browser can't find one? Pick Sample clip to watch the coach "
        "follow a built-in demonstration.",
    )  # fmt: skip
    source = "camera" if source_word == SOURCES[0] else "sample"
    if source == "camera":
        st.caption(
            "No webcam, or the browser says it can't find one? Choose **Sample clip** above: "
            "the coach follows a built-in demonstration instead."
        )
    live = live_coach(source)
    left, right = st.columns([3, 2], gap="large")
    ctx = None
    with left:
        if not ui_live.webrtc_enabled():
            st.info("Live video is not available here.")
        elif source == "camera":
            ctx = ui_live.camera_streamer("live-camera", live)
        else:
            sample = live_sample()
            if live.body_frame is None:
                live.set_body_frame(sample.truth.body_frame())
            ctx = ui_live.sample_streamer("live-sample", live, sample)
        if source == "camera":
            calibration_panel(live)
    with right:
        hint_slot = st.empty()
        status_slot = st.empty()
        speech_slot = st.empty()
        cards_slot = st.empty()
    v = view(source)
    playing = bool(ctx is not None and ctx.state.playing)
    was_playing = st.session_state.get(f"playing_{source}", False)
    if source == "camera" and playing and not was_playing:
        recorder_start(live)
    if was_playing and not playing:
        summary = live.finish()
        if source == "camera":
            recorder_finish(summary)
        st.session_state[f"summary_{source}"] = summary
        live.reset()
        set_view(source, LiveView())
        v = LiveView()
    st.session_state[f"playing_{source}"] = playing
    ui_live.render_hint(hint_slot, v.hint)
    ui_live.render_status(status_slot, v)
    ui_live.render_cards(cards_slot, v.repetitions)
    summary = st.session_state.get(f"summary_{source}")
    if summary is not None and not playing:
        with right:
            session_summary(summary)
    if playing:
        poll(source, live, ctx, hint_slot, status_slot, speech_slot, cards_slot, s.spoken_hints)


def poll(source, live, ctx, hint_slot, status_slot, speech_slot, cards_slot, spoken: bool) -> None:
    """While the video plays: drain the coach's queue (with a timeout) and refresh."""
    v = view(source)
    spoken_serial = v.hint_serial
    while ctx.state.playing:
        # As in the streamlit-webrtc examples: wait on the queue with a timeout, then call
        # Streamlit on every turn (even with no news) so a stop or a rerun of the page is
        # noticed at once instead of when the next event arrives.
        events = live.events.drain(timeout_s=0.5)
        new = apply_events(v, events)
        if new is not v:
            if new.hint_serial != v.hint_serial:
                ui_live.render_hint(hint_slot, new.hint)
                if spoken and new.hint is not None and new.hint_serial != spoken_serial:
                    ui_live.speak(speech_slot, new.hint.text, new.hint_serial)
                    spoken_serial = new.hint_serial
            if new.repetitions != v.repetitions:
                ui_live.render_cards(cards_slot, new.repetitions)
                if source == "camera" and st.session_state.get("recorder") is not None:
                    st.session_state.recorder.add(new.repetitions)
            if new.calibrated is not None and new.calibrated is not v.calibrated:
                update_settings(body_frame=new.calibrated.to_dict())
                st.toast("Calibrated: the tummy box now follows your hand's position.")
            v = new
            set_view(source, v)
        ui_live.render_status(status_slot, v)


def recorder_start(live) -> None:
    """Keep this camera session in the store (Progress page), repetition by repetition."""
    profile = st.session_state.get("practice_profile")
    try:
        st.session_state.recorder = (
            None
            if profile is None
            else recorder.SessionRecorder(
                ui_progress.store(), profile, live.stroke.id, live.stroke.id, "live"
            )
        )
    except StoreError as exc:
        st.session_state.recorder = None
        st.toast(md_text(f"This session won't be saved: {exc}"))


def recorder_finish(summary) -> None:
    rec = st.session_state.pop("recorder", None)
    if rec is not None and (rec.finish(summary) or rec.error):
        st.toast(rec.error or "Saved: see the Progress page.")


def session_summary(summary) -> None:
    with st.container(border=True):
        st.subheader("Session summary")
        for line in summary_lines(summary):
            st.markdown(line)
        if summary.hints:
            with st.expander(f"What the coach said ({len(summary.hints)})"):
                for h in summary.hints:
                    st.markdown(f"- {h.timestamp_s:.0f} s: {md_text(h.text)}")


def calibration_panel(live: LiveCoach) -> None:
    s = settings()
    calibrated = s.body_frame is not None
    with st.expander("Calibrate the tummy box", expanded=not calibrated):
        if not calibrated:
            st.markdown("Until you calibrate, the coach assumes the tummy is in the purple box "
                        "in the middle of the picture.")  # fmt: skip
        hand, box = st.tabs(["Hand on tummy", "Drag a box"])
        with hand:
            st.markdown(
                "Start the video, lay **one flat hand** on the tummy with your **fingers towards "
                "the baby's head**, and hold still for about 2 seconds. A green ring fills up; "
                "when it is full the box is set."
            )
            ui_live.hand_calibration_buttons(live)
        with box:
            drag_a_box(live)
        if calibrated and st.button("Forget the calibration"):
            update_settings(body_frame=None, box=None)
            live.set_body_frame(camera_body_frame())
            st.rerun()


def drag_a_box(live: LiveCoach) -> None:
    s = settings()
    x0, y0, x1, y1 = s.box or DEFAULT_BOX
    xs = st.slider("Box left and right edges", 0.0, 1.0, (float(x0), float(x1)), 0.01, key="box_x")
    ys = st.slider("Box top and bottom edges", 0.0, 1.0, (float(y0), float(y1)), 0.01, key="box_y")
    head = st.radio(
        "Where is the baby's head in the preview?", HEAD_DIRECTIONS, horizontal=True,
        index=HEAD_DIRECTIONS.index(s.head), format_func=HEAD_WORDS.get, key="box_head",
    )  # fmt: skip
    box = (xs[0], ys[0], xs[1], ys[1])
    if box[2] - box[0] < 0.05 or box[3] - box[1] < 0.05:
        st.warning("The box is too small: drag the edges further apart.")
        return
    snap = live.snapshot()
    size = (640, 480) if snap is None else (snap.shape[1], snap.shape[0])
    bf = calibration.body_frame_from_display_box(
        box,
        head,
        mirror_preview=s.mirror_preview,
        camera_mirrored=s.camera_mirrored,
        image_size=size,
    )
    if snap is None:
        snap = np.full((size[1], size[0], 3), 60, np.uint8)
        st.caption("Start the video to see a snapshot here.")
    preview = draw(snap, None, stroke=live.stroke, body_frame=bf, mirror=s.mirror_preview,
                   status="calibrating", detail="drag a box")  # fmt: skip
    st.image(preview, width="stretch")
    if st.button("Use this box", type="primary"):
        update_settings(body_frame=bf.to_dict(), box=box, head=head)
        live.set_body_frame(bf)
        st.success("Saved: the coach now uses this box.")


# -- sample clip ----------------------------------------------------------------------------------


def live_sample():
    """The built-in sample of the current stroke, rendered frame by frame as it plays."""

    stroke = current_stroke()
    key = f"live_sample_{stroke.id}"
    if key not in st.session_state:
        st.session_state[key] = Sample(stroke, repetitions=2)
    return st.session_state[key]


def sample_clip():
    """The built-in sample (rendered once per machine, with a progress bar)."""
    stroke_id = current_stroke().id
    key = f"sample_{stroke_id}"
    if key not in st.session_state:
        text = "Preparing the sample clip (once per machine)..."
        bar = st.progress(0.0, text=text)
        st.session_state[key] = sample_video(
            data_dir(), stroke_id, on_progress=lambda f: bar.progress(f, text=text)
        )
        bar.empty()
    return st.session_state[key]


# -- upload ---------------------------------------------------------------------------------------


def upload_tab() -> None:
    stroke = current_stroke()
    st.markdown(
        f"Score a recorded practice of **{md_text(stroke.name)}**: "
        "pace and direction, repetition by repetition."
    )
    up = st.file_uploader("Practice video", type=["mp4", "mov", "webm", "avi", "mkv", "y4m"])
    c1, c2 = st.columns([2, 1])
    with c1:
        xs = st.slider(
            "Tummy box left and right edges",
            0.0,
            1.0,
            (DEFAULT_BOX[0], DEFAULT_BOX[2]),
            0.01,
            key="up_x",
        )
        ys = st.slider(
            "Tummy box top and bottom edges",
            0.0,
            1.0,
            (DEFAULT_BOX[1], DEFAULT_BOX[3]),
            0.01,
            key="up_y",
        )
    with c2:
        head = st.radio(
            "Baby's head in the video", HEAD_DIRECTIONS, format_func=HEAD_WORDS.get, key="up_head"
        )
        mirrored = st.checkbox("The video is mirrored (selfie)", key="up_mirrored")
    box = (xs[0], ys[0], xs[1], ys[1])
    run = st.button("Score this video", type="primary", disabled=up is None)
    st.caption("No video at hand? Try the coach on the built-in sample clip.")
    run_sample = st.button("Score the sample clip")
    result: OfflineResult | None = None
    if run and up is not None:
        result = score_upload(up, stroke, box, head, mirrored)
        if result is not None and st.session_state.get("practice_profile"):
            _, err = recorder.save_upload(
                ui_progress.store(), st.session_state.practice_profile, result.session, stroke.id
            )
            st.toast(err or "Saved: see the Progress page.")
    elif run_sample:
        result = score_sample(stroke)
    if result is not None:
        st.session_state.upload_result = (stroke.id, result)
    kept = st.session_state.get("upload_result")
    if kept is not None and kept[0] == stroke.id:
        show_report(stroke, kept[1])
    account = ui_account.current_account()
    if up is not None and account is not None and account.is_instructor:
        # saved references are shared by every account of a server: instructors only
        # (the implicit local account of a server at home is one)
        reference_recorder(up, stroke, box, head, mirrored)


def reference_recorder(up, stroke, box, head, mirrored) -> None:
    """Instructors: turn the uploaded demonstration into a named reference to practise with."""

    with st.expander("Instructors: save this video as a reference"):
        st.caption(
            "Demonstrate the stroke a few times on the doll, calmly and at your own pace. "
            "Practice is then scored against your path and your pace."
        )
        name = st.text_input("Reference name", key="ref_name", placeholder="e.g. Anna's slow sun")
        if not st.button("Save reference", disabled=not name):
            return
        based_on = getattr(stroke, "based_on", None) or stroke.id
        with contextlib.ExitStack() as stack:
            try:
                path, on_progress = stack.enter_context(
                    uploaded_video(up, "demonstration", "Following the demonstration", "Following")
                )
                upload_limits().check_info(read_info(path))
                ref = record_reference(
                    path,
                    name,
                    lambda size: BodyFrame.from_box(box, head, mirrored, size),
                    based_on if based_on in {s.id for s in list_strokes()} else None,
                    on_progress=on_progress,
                )
                saved = save_reference(ref, references_dir())
            except (DemonstrationError, ReferenceFileError, VideoError, ValueError) as exc:
                # UploadRefused is a ValueError: over the size, frame or duration limit
                st.error(md_text(f"No reference saved: {exc}"))
                return
        st.success(
            md_text(f"Saved “{ref.name}” ({saved.name}). Pick it in the stroke list to practise.")
        )


def score_upload(up, stroke, box, head, mirrored):
    try:
        with uploaded_video(up, "upload", "Scoring", "Scoring") as (path, on_progress):
            return score_file(
                path,
                stroke,
                lambda size: BodyFrame.from_box(box, head, mirrored, size),
                on_progress=on_progress,
                limits=upload_limits(),
            )
    except UploadRefused as exc:
        st.error(md_text(f"That video is too large for this page: {exc}"))
    except VideoError as exc:
        st.error(md_text(f"That video can't be read: {exc}"))
    except Exception as exc:  # noqa: BLE001 - show it, don't crash the page
        st.error(md_text(f"Scoring failed: {exc}"))
    return None


def upload_limits() -> UploadLimits:
    """Size, frame size and duration limits of uploaded videos (COACH_UPLOAD_* variables,
    see :class:`coach.services.offline.UploadLimits`; defaults when unset or invalid)."""
    try:
        return UploadLimits.from_env(paths.environment())
    except ValueError:
        return UploadLimits()


def uploads_tmp_dir() -> Path:
    return data_dir() / UPLOADS_TMP_DIR


@st.cache_resource(show_spinner=False)
def _clean_uploads_once(folder: str) -> int:
    """At server start: remove the copies of uploads a killed server left behind."""
    return len(clean_upload_leftovers(folder))


@contextlib.contextmanager
def uploaded_video(up, stem: str, starting: str, busy: str):
    """An uploaded video checked against :func:`upload_limits` (size), written to a private
    temporary file in :func:`uploads_tmp_dir` (deleted afterwards; left-overs of a crash
    are removed at the next start) and a progress bar (removed afterwards). Yields
    ``(path, on_progress(fraction))``; raises UploadRefused for a file over the limit."""
    upload_limits().check_size(int(getattr(up, "size", 0) or len(up.getbuffer())))
    with temporary_upload(uploads_tmp_dir(), up.getbuffer(), Path(up.name).suffix) as path:
        bar = st.progress(0.0, text=f"{starting}...")
        try:
            yield path, lambda f: bar.progress(f, text=f"{busy}... {round(100 * f)}%")
        finally:
            bar.empty()


def score_sample(stroke):
    path, truth = sample_clip()
    bar = st.progress(0.0, text="Scoring the sample...")
    try:
        return score_file(
            path,
            stroke,
            lambda size: truth.body_frame(),
            on_progress=lambda f: bar.progress(f, text=f"Scoring the sample... {round(100 * f)}%"),
        )
    except Exception as exc:  # noqa: BLE001
        st.error(md_text(f"Scoring failed: {exc}"))
        return None
    finally:
        bar.empty()


def show_report(stroke, result) -> None:
    report = result.report
    summary = report["summary"]
    m1, m2, m3 = st.columns(3)
    m1.metric("Overall score", f"{summary['score']} / 100")
    m2.metric("Repetitions", summary["repetitions"])
    m3.metric("Hand seen", f"{round(100 * report['tracking']['detection_rate'])}%")
    for line in summary_lines(result.session):
        st.markdown(line)
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Your path over the reference**")
        picture = ui_charts.path_image(stroke, result.traces.uv, result.traces.in_segment)
        st.image(picture, width="stretch")
        st.caption(
            "Blue: the reference, arrows show the direction. Orange-red: your hand on the "
            "path. Grey: your hand moving between letters (not judged)."
        )
    with right:
        st.markdown("**Speed against the guide dot**")
        df = ui_charts.speed_frame(result.traces.t_s, result.traces.speed_ratio)
        st.altair_chart(ui_charts.speed_chart(df, stroke), width="stretch")
        st.caption("Green band: a calm pace. 1.0 is exactly the guide dot's speed.")
        st.markdown("**Repetitions and hints over time**")
        st.altair_chart(ui_charts.timeline_chart(report), width="stretch")
        st.caption("Bars: repetitions (darker is a higher score), with their flags. "
                   "Orange ticks: hints the coach gave (hover for the words).")  # fmt: skip
    for rep in result.session.repetitions:
        st.container(border=True).markdown(card_markdown(score_card(rep)))

    st.download_button(
        "Download the report (JSON)",
        json.dumps(report, indent=2),
        "report.json",
        "application/json",
    )


# -- page -----------------------------------------------------------------------------------------


def main() -> None:
    ui_account.require_account(ui_progress.unscoped_store)  # a sign-in form, then stop
    ui_account.account_sidebar()
    st.title("Stroke Coach")
    st.caption("Practise infant-massage strokes on a doll: the coach watches your hand and "
               "helps with pace and direction.")  # fmt: skip
    _clean_uploads_once(str(uploads_tmp_dir()))
    sidebar()
    if not safety_gate():
        return
    live_tab_, upload_tab_ = st.tabs(["Live coach", "Score a video"])
    with upload_tab_:
        upload_tab()
    with live_tab_:
        live_tab()  # last: while the video plays it keeps polling
