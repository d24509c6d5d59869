"""Class mode: an instructor teaches parents live, each on their own laptop, through a relay.

Every participant runs Stroke Coach on their own computer: the webcam goes to their own
``localhost``, tracking and scoring run there, video never leaves the machine. A class
relay (:mod:`coach.relay`) joins them with small messages only:

- the instructor's tracked contact point in the body frame (``uv``, tummy-box units,
  strokes.md section 1) with the instructor's stream timestamps, the current segment,
  repetition and stroke id: each parent's page draws it over the parent's own doll
  through the parent's own body frame (``body_frame.to_xy``);
- per parent a board row: status, stroke, where they are, last score, flags.

The relay is a standalone ``coach relay`` (an address such as ``wss://relay.example/class``)
or, by default, one embedded in this Stroke Coach (:func:`embedded_relay_url`, loopback).
:func:`open_class`, :func:`join_class`, :func:`resume_instructor` and :func:`resume_seat`
connect a :class:`coach.relay.client.RelayClient` (reconnects with backoff, resumes by
key or token). :class:`ClassLiveCoach` is a :class:`coach.services.live.LiveCoach` that, after
every processed frame, hands the result to an :class:`InstructorLink` (sends the point)
or a :class:`ParentLink` (draws the "follow me" trail, reports the parent's summaries).
While the relay is unreachable the coach goes on locally; the links just wait.

Seats belong to whoever holds their token: a parent gets a new seat with a secret token
at every join (never matched by name; a second "Ann" is shown as "Ann (2)"); coming back
needs the token. The instructor's key and the tokens are kept in the records below
(hidden from ``repr``), never put in an address or a log. No streamlit here.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from coach.core.types import Guide, LiveStatus
from coach.relay import protocol
from coach.relay.client import CONNECTED, ENDED, FAILED, RelayClient, Snapshot
from coach.render import draw as overlay
from coach.render.follow_me import FollowStyle, draw_follow_me
from coach.services.live import LiveCoach

CODE_ALPHABET = protocol.CODE_ALPHABET
CODE_LENGTH = protocol.CODE_LENGTH
NAME_MAX_CHARS = protocol.NAME_MAX_CHARS
RELAY_ADDRESS_MAX_CHARS = 200
CONNECT_TIMEOUT_S = 10.0
SETTINGS_FILE = "class-relay.json"
#: The relay address that means: the relay built into this Stroke Coach, open to the other
#: computers of this network (an explicit choice; the built-in relay is loopback only).
NETWORK = "network"
#: The port the built-in relay listens on when it is open to the network (parents type it
#: once); a free one when that is taken.
NETWORK_PORT = 8765


# =================================================================================================
# Errors and validation
# =================================================================================================


class ClassError(ValueError):
    """Base of every class-mode error; the message is meant for the page as is."""


class BadCode(ClassError):
    """The text is not a well-formed class code."""


class BadName(ClassError):
    """A name is empty, too long or has characters that can't be shown."""


class BadRelayAddress(ClassError):
    """A relay address that is not a ws:// or wss:// address."""


class ClassNotFound(ClassError):
    """No open class has this code."""


class ClassEnded(ClassNotFound):
    """The class with this code was closed by its instructor or expired."""


class ClassFull(ClassError):
    """No more seats in the class, or no more classes for this instructor or relay."""


class SeatNotFound(ClassError):
    """The relay has no seat for this token."""


class NotAllowed(ClassError):
    """The key does not belong to this class's instructor."""


class TooManyAttempts(ClassError):
    """The relay's rate limit: wait a minute."""


class RelayUnreachable(ClassError):
    """The relay cannot be reached."""


_ERRORS = {
    "no_class": ClassNotFound, "ended": ClassEnded, "full": ClassFull, "seat_gone": SeatNotFound,
    "not_allowed": NotAllowed, "rate_limited": TooManyAttempts,
}  # fmt: skip


def normalise_code(text: object) -> str:
    """``" ab-c2d "`` -> ``"ABC2D"``; raises :class:`BadCode` saying what is expected."""
    if not isinstance(text, str):
        raise BadCode(f"Class code: expected text, found {type(text).__name__}")
    code = re.sub(r"[\s-]+", "", text).upper()
    if not code:
        raise BadCode("Class code: expected the code from your instructor, found nothing")
    bad = sorted({c for c in code if c not in CODE_ALPHABET})
    if bad:
        lookalike = {"0": "O", "O": "0", "1": "I/L", "I": "1", "L": "1"}
        hint = " (codes never use 0, O, 1, I or L)" if any(c in lookalike for c in bad) else ""
        raise BadCode(
            f"Class code: expected {CODE_LENGTH} characters from {CODE_ALPHABET}{hint}, "
            f"found {text.strip()[:20]!r} with {''.join(bad)[:10]!r}"
        )
    if len(code) != CODE_LENGTH:
        raise BadCode(
            f"Class code: expected {CODE_LENGTH} characters, found {len(code)} in "
            f"{text.strip()[:20]!r}"
        )
    return code


def normalise_name(text: object, what: str = "Name") -> str:
    """Trim and collapse spaces; 1..NAME_MAX_CHARS printable characters, else :class:`BadName`."""
    if not isinstance(text, str):
        raise BadName(f"{what}: expected text, found {type(text).__name__}")
    name = " ".join(text.split())
    if not name:
        raise BadName(f"{what}: expected a name people will recognise, found nothing")
    if len(name) > NAME_MAX_CHARS:
        raise BadName(f"{what}: expected at most {NAME_MAX_CHARS} characters, found {len(name)}")
    try:
        return protocol.normalise_name(name, what)
    except protocol.ProtocolError:
        raise BadName(f"{what}: expected printable characters only, found {name!r}") from None


def check_relay_address(text: object) -> str:
    """``""`` (the relay built into this Stroke Coach), ``"network"`` (the same, open to
    this network's computers) or a ``ws://`` / ``wss://`` address with a host; no user,
    password or query (secrets never go in an address)."""
    if not isinstance(text, str):
        raise BadRelayAddress(f"Relay address: expected text, found {type(text).__name__}")
    url = text.strip()
    if not url:
        return ""
    if url.lower() == NETWORK:
        return NETWORK
    if len(url) > RELAY_ADDRESS_MAX_CHARS or not url.isprintable() or " " in url:
        raise BadRelayAddress(
            f"Relay address: expected an address like wss://relay.example.org/class, "
            f"found {url[:40]!r}"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadRelayAddress(f"Relay address: expected host[:port], found {url[:40]!r}") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise BadRelayAddress(
            f"Relay address: expected ws://HOST:PORT/class or wss://HOST/class, found {url[:40]!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise BadRelayAddress(
            "Relay address: expected no user, password or ?query in it (keys never go in one)"
        )
    del port
    return url if parts.path else url.rstrip("/") + "/class"


def load_relay_address(folder: Path) -> str:
    """The remembered relay address ("" when none or unreadable)."""
    try:
        data = json.loads((Path(folder) / SETTINGS_FILE).read_text(encoding="utf-8"))
        return check_relay_address(data.get("relay_address", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def save_relay_address(folder: Path, address: str) -> str:
    """Remember ``address`` (checked first); returns it as kept."""
    url = check_relay_address(address)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (SETTINGS_FILE + ".tmp")
    tmp.write_text(json.dumps({"relay_address": url}), encoding="utf-8")
    tmp.replace(folder / SETTINGS_FILE)
    return url


# =================================================================================================
# The built-in relay
# =================================================================================================

_EMBEDDED = None
_EMBEDDED_LOCK = threading.Lock()


def embedded_relay_url() -> str:
    """The address of the relay built into this Stroke Coach (started on first use, on
    loopback only: parents on other computers need a standalone relay, docs/relay.md)."""
    global _EMBEDDED
    with _EMBEDDED_LOCK:
        if _EMBEDDED is None:
            from coach.relay.server import EmbeddedRelay  # deferred: Starlette

            try:
                _EMBEDDED = EmbeddedRelay().start()
            except OSError as exc:
                raise RelayUnreachable(f"The built-in class relay could not start: {exc}") from None
        return _EMBEDDED.url


def embedded_relay_running() -> str:
    """The built-in relay's address if it runs, else ""."""
    with _EMBEDDED_LOCK:
        return "" if _EMBEDDED is None else _EMBEDDED.url


_NETWORK_RELAY = None


def network_relay_url() -> str:
    """The built-in relay opened to the other computers of this network (the instructor's
    explicit choice, for a class in one home or one network with no set-up): it listens on
    every interface, on NETWORK_PORT when free. Returns the address this Stroke Coach
    itself uses (loopback); :func:`network_relay_addresses` gives the ones to share."""
    global _NETWORK_RELAY
    with _EMBEDDED_LOCK:
        if _NETWORK_RELAY is None:
            from coach.relay.server import EmbeddedRelay  # deferred: Starlette

            for port in (NETWORK_PORT, 0):
                try:
                    _NETWORK_RELAY = EmbeddedRelay(host="0.0.0.0", port=port).start()
                    break
                except OSError as exc:
                    if port == 0:
                        raise RelayUnreachable(
                            f"The built-in class relay could not open to the network: {exc}"
                        ) from None
        return f"ws://127.0.0.1:{_NETWORK_RELAY.port}/class"


def network_relay_addresses() -> list[str]:
    """The addresses parents on this network type to join the built-in relay opened to
    the network (this computer's IPv4 addresses, looked up without sending anything)."""

    with _EMBEDDED_LOCK:
        if _NETWORK_RELAY is None:
            return []
        port = _NETWORK_RELAY.port
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    hosts = sorted({i[4][0] for i in infos if not i[4][0].startswith("127.")})
    return [f"ws://{h}:{port}/class" for h in hosts] or [f"ws://<this computer>:{port}/class"]


# =================================================================================================
# Joining a class through a relay
# =================================================================================================


@dataclass(frozen=True)
class ClassSession:
    """What the instructor holds: the code to share and the key to run the class."""

    code: str
    instructor: str
    stroke_id: str
    token: str = field(repr=False)  # the instructor's key; keep it private
    relay: str = ""  # the relay's address


@dataclass(frozen=True)
class Seat:
    """What a parent holds. ``number`` is the seat's place on the board."""

    code: str
    token: str = field(repr=False)  # the seat's secret token
    name: str = ""  # as shown on the board, e.g. "Ann (2)"
    number: int = 0
    rejoined: bool = False
    relay: str = ""
    joined_as: str = ""  # the name typed at join (to sit down again if the relay lost the seat)


@dataclass(frozen=True)
class Row:
    """One parent on the instructor's board."""

    number: int
    name: str
    status: str  # last reported video status, "camera_off" or "away"
    stroke_id: str
    position: str  # where they are, e.g. "Rep 2 - Letter L (2/3)"
    last_score: int | None
    flags: tuple[str, ...]
    repetitions: int
    online: bool
    rejoins: int = 0


def row_from(d: dict) -> Row:
    """A board row as the relay sends it -> :class:`Row`."""
    score = d.get("last_score")
    return Row(
        int(d.get("number", 0)), str(d.get("name", "")), str(d.get("status", "")),
        str(d.get("stroke_id", "")), str(d.get("position", "")),
        None if score is None else int(score), tuple(str(f) for f in d.get("flags") or ()),
        int(d.get("repetitions", 0)), bool(d.get("online")), int(d.get("rejoins", 0)),
    )  # fmt: skip


def board(client: RelayClient) -> list[Row]:
    return [row_from(r) for r in client.snapshot().board]


def _connect(url: str, hello: dict, name: str = "") -> RelayClient:
    client = RelayClient(url, hello, name=name).start()
    if client.wait_connected(CONNECT_TIMEOUT_S):
        return client
    snap = client.snapshot()
    client.stop(2.0)
    error = _ERRORS.get(snap.error)
    if error is not None:
        raise error(snap.last_error or snap.ended_why)
    if snap.error:
        raise ClassError(snap.last_error)
    raise RelayUnreachable(
        f"The class relay at {url} did not answer in {CONNECT_TIMEOUT_S:g} s"
        f"{': ' + snap.last_error if snap.last_error else ''}; check the address"
    )


def open_class(url: str, instructor_name: str, stroke_id: str) -> tuple[ClassSession, RelayClient]:
    name = normalise_name(instructor_name, "Instructor's name")
    try:
        sid = protocol.stroke_id(stroke_id)
    except protocol.ProtocolError as exc:
        raise ClassError(str(exc)) from None
    client = _connect(url, {"type": "open", "name": name, "stroke_id": sid})
    snap = client.snapshot()
    return ClassSession(snap.code, snap.instructor, snap.stroke_id, client.key or "", url), client


def resume_instructor(url: str, code: str, key: str) -> tuple[ClassSession, RelayClient]:
    code = normalise_code(code)
    if not isinstance(key, str) or not 16 <= len(key) <= 64:
        raise NotAllowed(f"Class {code}: only its instructor can do that")
    client = _connect(url, {"type": "instructor", "code": code, "key": key})
    snap = client.snapshot()
    return ClassSession(snap.code, snap.instructor, snap.stroke_id, key, url), client


def _seat(client: RelayClient, url: str, joined_as: str) -> Seat:
    snap = client.snapshot()
    seat = snap.seat or {}
    return Seat(snap.code, client.token or "", str(seat.get("name", "")),
                int(seat.get("number", 0)), snap.connects > 0 and bool(seat.get("rejoins")),
                url, joined_as)  # fmt: skip


def join_class(url: str, code: str, parent_name: str) -> tuple[Seat, RelayClient]:
    """A new seat, always (same-name parents get separate seats)."""
    code = normalise_code(code)
    name = normalise_name(parent_name, "Your name")
    client = _connect(url, {"type": "join", "code": code, "name": name})
    return _seat(client, url, name), client


def resume_seat(url: str, code: str, token: str, name: str = "") -> tuple[Seat, RelayClient]:
    """Back to one's own seat with its token (a page reload)."""
    code = normalise_code(code)
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise SeatNotFound(f"Class {code}: that seat is no longer there; join again")
    client = _connect(url, {"type": "seat", "code": code, "token": token}, name=name)
    return _seat(client, url, name), client


# =================================================================================================
# What the instructor is doing, for the parent's overlay
# =================================================================================================


def guide_from(snap: Snapshot, window_s: float = 3.0, restart_gap_s: float = 1.0) -> Guide:
    """The client's view of the instructor -> :class:`Guide` (the last ``window_s`` seconds
    of the instructor's clock; a jump back of more than ``restart_gap_s``: the instructor's
    stream restarted, only what came after counts)."""
    raw = snap.points
    start = 0
    for i in range(1, len(raw)):
        if raw[i][0] < raw[i - 1][0] - restart_gap_s:
            start = i
    raw = raw[start:]
    seen = [p for p in raw if p[1] is not None]
    arr = np.array(seen, dtype=np.float64).reshape(-1, 3)
    if len(arr):
        arr = arr[arr[:, 0] >= arr[-1, 0] - window_s]
    arr.setflags(write=False)
    if not raw:
        status = "waiting"
    elif raw[-1][1] is None:
        status = "searching"
    else:
        status = "tracking"
    idle = snap.path_idle_s if raw else math.inf
    return Guide(snap.code, snap.instructor, snap.stroke_id, arr, snap.segment, snap.label,
                 snap.repetition, status, idle, snap.relayed)  # fmt: skip


# =================================================================================================
# The live coach in a class (per browser session, frames on the worker thread)
# =================================================================================================


class ClassLiveCoach(LiveCoach):
    """A :class:`coach.services.live.LiveCoach` with a ``link`` that sees every processed frame.

    ``link.after_frame(coach, annotated_rgb, timestamp_s) -> annotated_rgb`` runs on
    the video worker thread right after the pipeline; a failing link never breaks the
    video (the error is counted in ``link.errors`` and kept in ``link.last_error``).
    """

    def __init__(self, *args, link=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.link = link

    def process(self, frame_rgb: np.ndarray, timestamp_s: float) -> np.ndarray:
        out = super().process(frame_rgb, timestamp_s)
        link = self.link
        if link is None:
            return out
        try:
            return link.after_frame(self, out, float(timestamp_s))
        except Exception as exc:  # noqa: BLE001 - the video must go on
            link.errors += 1
            link.last_error = f"{type(exc).__name__}: {exc}"
            return out


def _new_result(coach: LiveCoach, last_t: float | None):
    """The coach's FrameResult if it is from a frame not seen before, else None."""
    result = getattr(coach, "last_result", None)
    if result is None or (last_t is not None and result.timestamp_s <= last_t):
        return None
    return result


class InstructorLink:
    """Sends the instructor's tracked point (body frame) for every processed frame."""

    def __init__(self, client: RelayClient) -> None:
        self.client = client
        self.published = 0  # points handed to the relay
        self.errors = 0
        self.last_error = ""
        self._last_t: float | None = None

    @property
    def ended(self) -> bool:
        return self.client.state in (ENDED, FAILED)

    def after_frame(self, coach: LiveCoach, out: np.ndarray, t: float) -> np.ndarray:
        result = _new_result(coach, self._last_t)
        if result is None or self.ended:
            return out
        self._last_t = result.timestamp_s
        p = result.progress
        uv = None if result.track is None else result.track.uv
        seg = None if p is None or p.segment is None else int(p.segment)
        sent = self.client.send_path(
            result.timestamp_s, uv, segment=seg, label="" if p is None else str(p.label),
            repetition=0 if p is None else int(p.repetition),
        )  # fmt: skip
        if sent and uv is not None:
            self.published += 1
        return out


class ParentLink:
    """Draws the instructor's "follow me" path over the parent's frames and reports the
    parent's summaries to the class: a status about once a second, and the score and
    flags after each repetition. Only these small summaries leave the computer."""

    def __init__(
        self,
        client: RelayClient,
        style: FollowStyle | None = None,
        report_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.style = style or FollowStyle()
        self.report_every_s = report_every_s
        self._clock = clock
        self.repetitions = 0
        self.errors = 0
        self.last_error = ""
        self.guide: Guide | None = None
        self._last_t: float | None = None
        self._reported_at = -math.inf
        self._last_status = ""

    @property
    def ended(self) -> bool:
        return self.client.state in (ENDED, FAILED)

    @property
    def relayed(self) -> int:
        """Instructor points that reached this parent."""
        return self.client.snapshot().relayed

    def after_frame(self, coach: LiveCoach, out: np.ndarray, t: float) -> np.ndarray:
        if self.ended:
            return out
        self.guide = guide = guide_from(self.client.snapshot(), self.style.window_s)
        self._report(coach)
        return draw_follow_me(out, guide, coach.body_frame, coach.mirror_preview, self.style)

    def _report(self, coach: LiveCoach) -> None:
        result = _new_result(coach, self._last_t)
        status: LiveStatus | None = "calibrating" if coach.calibrating else None
        changes: dict = {}
        if result is not None:
            self._last_t = result.timestamp_s
            status = status or result.status
            changes["position"] = overlay.segment_label(coach.stroke, result.progress)
            if result.new_repetitions:
                rep = result.new_repetitions[-1]
                self.repetitions += len(result.new_repetitions)
                changes.update(last_score=int(rep.score), flags=list(rep.flags),
                               repetitions=self.repetitions)  # fmt: skip
        elif coach.body_frame is None and not coach.calibrating:
            status = "calibrate"
        now = self._clock()
        due = now - self._reported_at >= self.report_every_s
        if status is None or not (due or "last_score" in changes or status != self._last_status):
            return
        self._reported_at, self._last_status = now, status
        stroke_id = coach.stroke.id if protocol.valid_stroke_id(coach.stroke.id) else None
        self.client.report(status=status, stroke_id=stroke_id, **changes)


def connected(client: RelayClient | None) -> bool:
    return client is not None and client.state == CONNECTED
