"""Streamlit pieces of the live page: the WebRTC streamer, the hint, score cards,
statistics, spoken hints. The per-frame work is :class:`coach.services.live.LiveCoach`.

``webrtc_streamer`` cannot run under Streamlit's ``AppTest``; the page asks
:func:`webrtc_enabled` first, and tests switch it off with ``NO_WEBRTC_KEY``.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from fractions import Fraction

import cv2
import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from coach.render.text import card_markdown, md_text, score_card, stats_line
from coach.services.events import LiveView
from coach.services.live import LiveCoach

#: Set ``st.session_state[NO_WEBRTC_KEY] = True`` to render the page without WebRTC.
NO_WEBRTC_KEY = "coach_no_webrtc"
#: Local use: no STUN/TURN servers (and nothing fetched from the network).
RTC_CONFIGURATION = {"iceServers": []}
CAMERA_CONSTRAINTS = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False}
VIDEO_ATTRS = {"autoPlay": True, "controls": False, "muted": True, "style": {"width": "100%"}}


def webrtc_enabled() -> bool:
    if st.session_state.get(NO_WEBRTC_KEY, False):
        return False
    try:
        import streamlit_webrtc  # noqa: F401
    except ImportError:
        return False
    return True


def keep_only_latest_frames() -> None:
    """Make aiortc hand over only the newest decoded video frame (idempotent).

    aiortc queues decoded frames without bound; whenever the send-back loop (encode +
    process) is slower than the camera for a moment, frames pile up and the delay grows
    for good. With this, each ``recv()`` skips to the newest frame: frames are dropped,
    not queued. Counted by :func:`stale_frames_dropped`.
    """

    from aiortc.rtcrtpreceiver import RemoteStreamTrack  # deferred: aiortc

    if getattr(RemoteStreamTrack.recv, "_coach_latest_only", False):
        return
    original = RemoteStreamTrack.recv

    async def recv(self):
        frame = await original(self)
        if self.kind != "video":
            return frame
        while True:
            try:
                newer = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return frame
            if newer is None:  # end of stream: leave the marker for the next call
                self._queue.put_nowait(None)
                return frame
            frame = newer
            _STALE[0] += 1

    recv._coach_latest_only = True  # type: ignore[attr-defined]
    RemoteStreamTrack.recv = recv  # type: ignore[method-assign]


_STALE = [0]


def stale_frames_dropped() -> int:
    """Camera frames skipped because a newer one was already waiting (all sessions)."""
    return _STALE[0]


def encoder_frame(image_rgb: np.ndarray):
    """``image_rgb`` as the frame the VP8 encoder takes (yuv420p), converted with OpenCV.

    aiortc would otherwise convert RGB to YUV itself with swscale, at about 2 ms a
    640x480 frame against 0.35 ms here, on a thread that holds the GIL. Frames with an
    odd width or height (no 4:2:0 layout) stay RGB and are left to aiortc.
    """
    import av  # deferred: PyAV

    height, width = image_rgb.shape[:2]
    if height % 2 or width % 2:
        return av.VideoFrame.from_ndarray(image_rgb, format="rgb24")
    yuv = cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2YUV_I420)
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p")


def frame_callback(live: LiveCoach):
    """The WebRTC video callback for one session: decode, ``live.process``, encode."""
    import av  # deferred: PyAV

    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        image = frame.to_ndarray(format="rgb24")
        t = frame.time if frame.time is not None else time.monotonic()
        out = live.process(image, float(t))
        return encoder_frame(out)

    return callback


def camera_streamer(key: str, live: LiveCoach):
    """SENDRECV: the browser's webcam in, annotated frames back."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer  # deferred: streamlit-webrtc

    keep_only_latest_frames()
    return webrtc_streamer(
        key=key,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints=CAMERA_CONSTRAINTS,
        video_frame_callback=frame_callback(live),
        async_processing=True,
        video_html_attrs=VIDEO_ATTRS,
    )


class SampleCamera:
    """A player for streamlit-webrtc (``.video``, ``.audio``) that acts like a webcam
    filming the built-in sample: frames are rendered on demand at the clip's rate,
    in real time, looping. A consumer that falls behind skips frames (the frame for
    *now* is rendered), so nothing queues up."""

    def __init__(self, sample) -> None:
        self.audio = None
        self.video = _sample_track(sample)


def _sample_track(sample):
    import av  # deferred: PyAV
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # deferred: aiortc

    class SampleTrack(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self._background = sample.scene.background()
            self._start: float | None = None
            self._last = -1

        async def recv(self) -> av.VideoFrame:
            if self.readyState != "live":
                raise MediaStreamError
            now = time.monotonic()
            if self._start is None:
                self._start = now
            tick = max(self._last + 1, int((now - self._start) * sample.fps))
            await asyncio.sleep(max(0.0, self._start + tick / sample.fps - now))
            self._last = tick
            loop = asyncio.get_running_loop()
            image = await loop.run_in_executor(
                None, sample.render, tick % sample.n_frames, self._background
            )
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = tick
            frame.time_base = Fraction(1, round(sample.fps))
            return frame

    return SampleTrack()


def sample_streamer(key: str, live: LiveCoach, sample):
    """RECVONLY: the built-in sample, filmed by :class:`SampleCamera` on the server and
    coached by the same pipeline as the webcam."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer  # deferred: streamlit-webrtc

    return webrtc_streamer(
        key=key,
        mode=WebRtcMode.RECVONLY,
        rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints={"video": True, "audio": False},
        player_factory=lambda: SampleCamera(sample),
        video_frame_callback=frame_callback(live),
        async_processing=True,
        video_html_attrs=VIDEO_ATTRS,
    )


# -- rendering of the live view ------------------------------------------------------------------

HINT_STYLE = (
    "font-size:2rem;line-height:1.3;padding:0.9rem 1.2rem;border-radius:14px;"
    "background:#EAF5FB;color:#0B3954;border-left:10px solid #56B4E9;min-height:4.5rem"
)
IDLE_HINT = "Follow the orange dot along the blue path, calm and slow."


def hand_calibration_buttons(live: LiveCoach) -> None:
    """ "Calibrate with my hand" and, while it runs, "Cancel" (the practice and class pages)."""
    c1, c2 = st.columns(2)
    if c1.button("Calibrate with my hand", disabled=live.calibrating):
        live.start_calibration()
        st.rerun()
    if live.calibrating and c2.button("Cancel"):
        live.cancel_calibration()
        st.rerun()


def hint_html(hint) -> str:
    """The hint, large and calm. ``data-coach-hint`` carries the code (empty when idle)."""
    code = "" if hint is None else html.escape(hint.code)
    text = IDLE_HINT if hint is None else hint.text
    return f'<div data-coach-hint="{code}" style="{HINT_STYLE}">{html.escape(text)}</div>'


def render_hint(container, hint) -> None:
    container.markdown(hint_html(hint), unsafe_allow_html=True)


def render_cards(container, repetitions, newest_first: bool = True, limit: int = 6) -> None:
    """Per-repetition score cards: score, a verdict, what went well, what to change."""
    reps = list(repetitions)[::-1] if newest_first else list(repetitions)
    with container.container():
        # A fixed layout (one caption, then ``limit`` slots of one element each), so that
        # a redraw replaces every element in place: Streamlit would leave the surplus
        # elements of an earlier, longer render on screen while the live run goes on.
        st.caption("" if reps else "Score cards appear here after each repetition.")
        for i in range(limit):
            if i < len(reps):
                st.container(border=True).markdown(card_markdown(score_card(reps[i])))
            else:
                st.empty()


def render_status(container, view: LiveView) -> None:
    parts = []
    if view.calibration is not None:
        parts.append(
            f"Calibrating: {view.calibration.message} ({round(100 * view.calibration.fraction)}%)"
        )
    if view.stats is not None:
        parts.append(
            f"{stats_line(view.stats)} · stale camera frames skipped {stale_frames_dropped()}"
        )
    text = "  \n".join(parts) if parts else "Waiting for video..."
    if view.error:  # the coach failed on the video: say so, never a frozen silence
        container.warning(md_text(view.error) + "  \n" + text)
    else:
        container.caption(text)


def js_string(text: str) -> str:
    """``text`` as a JavaScript string literal that is safe inside an HTML ``<script>``:
    JSON, with ``<``, ``>``, ``&`` and the line separators U+2028/U+2029 as ``\\u``
    escapes, so no text can close the script or start an HTML comment."""
    out = json.dumps(str(text), ensure_ascii=True)
    for ch in "<>&\u2028\u2029":
        out = out.replace(ch, f"\\u{ord(ch):04x}")
    return out


def speech_script(text: str, serial: int) -> str:
    """The ``<script>`` that says ``text`` with the browser's speech synthesis, unless it is
    already speaking. The text (a hint, maybe a reference's finish text) is data: it only
    ever appears as an escaped string literal (:func:`js_string`)."""
    return f"""<script>
      // hint #{int(serial)}
      const synth = window.parent.speechSynthesis || window.speechSynthesis;
      if (synth && !synth.speaking && !synth.pending) {{
        const u = new SpeechSynthesisUtterance({js_string(text)});
        u.rate = 0.9;
        synth.speak(u);
      }}
    </script>"""


def speak(container, text: str, serial: int) -> None:
    """Say ``text`` with the browser's speech synthesis, unless it is already speaking
    (never more than one hint at a time)."""

    with container:
        components.html(speech_script(text, serial), height=0)
