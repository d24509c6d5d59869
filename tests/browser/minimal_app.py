"""Smallest streamlit-webrtc SENDRECV page: proves the browser -> server -> browser loop.

The server-side callback paints a magenta bar on each frame it receives and
records how many it saw in the JSON file named by ``MINIMAL_APP_STATUS``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

STATUS_PATH = os.environ.get("MINIMAL_APP_STATUS", "")

# streamlit-webrtc gives its loggers a NullHandler, so an error in its frame worker
# thread is swallowed: send its and aiortc's warnings to the server log instead.
for _name in ("streamlit_webrtc", "aiortc", "aioice"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(h, logging.StreamHandler) for h in _logger.handlers):
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        _logger.addHandler(_handler)
        _logger.setLevel(logging.WARNING)
_lock = threading.Lock()
_state = {"frames": 0, "first_s": None, "last_s": None, "shape": None}


def _record(shape: tuple[int, ...]) -> None:
    with _lock:
        now = time.time()
        _state["frames"] += 1
        _state["first_s"] = _state["first_s"] or now
        _state["last_s"] = now
        _state["shape"] = list(shape)
        if STATUS_PATH and _state["frames"] % 10 == 1:
            tmp = STATUS_PATH + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(_state, fh)
            os.replace(tmp, STATUS_PATH)


def callback(frame: av.VideoFrame) -> av.VideoFrame:
    img = frame.to_ndarray(format="rgb24")
    _record(img.shape)
    img[:40, :, :] = (255, 0, 255)
    return av.VideoFrame.from_ndarray(img, format="rgb24")


st.title("minimal webrtc")
webrtc_streamer(
    key="echo",
    mode=WebRtcMode.SENDRECV,
    rtc_configuration={"iceServers": []},
    media_stream_constraints={"video": True, "audio": False},
    video_frame_callback=callback,
)
