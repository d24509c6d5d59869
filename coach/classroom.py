"""Class mode: an instructor teaches several parents live on one Stroke Coach server.

The instructor opens a class and gets a short code; parents join with the code and
their name. What is shared between browser sessions is small and never video:

- the instructor's tracked contact point in the body frame (``uv``, tummy-box
  units, strokes.md section 1) with the instructor's stream timestamps, the
  current segment, repetition and stroke id: each parent's page draws it over the
  parent's own doll through the parent's own body frame (``body_frame.to_xy``);
- per parent a board row: status, stroke, where they are, last score, flags.

:class:`Classroom` is the thread-safe in-process registry (one lock; WebRTC frame
callbacks call it from worker threads). :data:`CLASSROOM` is the server's registry.
:class:`ClassLiveCoach` is a :class:`coach.live.LiveCoach` that, after every
processed frame, hands the result to an :class:`InstructorLink` (publishes the
point) or a :class:`ParentLink` (draws the "follow me" trail, reports the
parent's summaries after each repetition). No streamlit, no environment here.

Codes: :data:`CODE_LENGTH` characters from :data:`CODE_ALPHABET` (no I, L, O, 0, 1),
case-insensitive; spaces and dashes are ignored. Names: 1..:data:`NAME_MAX_CHARS`
printable characters; seats are matched by name case-insensitively, so a parent who
reloads the page and joins again with the same name and code gets the same seat.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from coach import draw as overlay
from coach.live import LiveCoach

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 5
NAME_MAX_CHARS = 32
_STROKE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WORD_RE = re.compile(r"^[a-z][a-z_]{0,31}$")
MAX_FLAGS = 16
POSITION_MAX_CHARS = 60


# =================================================================================================
# Errors and validation
# =================================================================================================


class ClassError(ValueError):
    """Base of every class-mode error; the message is meant for the page as is."""


class BadCode(ClassError):
    """The text is not a well-formed class code."""


class BadName(ClassError):
    """A name is empty, too long or has characters that can't be shown."""


class ClassNotFound(ClassError):
    """No open class has this code."""


class ClassEnded(ClassNotFound):
    """The class with this code was closed by its instructor or expired."""


class ClassFull(ClassError):
    """No more seats in the class, or no more classes on this server."""


class SeatNotFound(ClassError):
    """No seat with this name or key in the class."""


class NotAllowed(ClassError):
    """The key does not belong to this class's instructor or to this seat."""


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
            f"found {text.strip()!r} with {''.join(bad)!r}"
        )
    if len(code) != CODE_LENGTH:
        raise BadCode(
            f"Class code: expected {CODE_LENGTH} characters, found {len(code)} in {text.strip()!r}"
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
    if not name.isprintable():
        raise BadName(f"{what}: expected printable characters only, found {name!r}")
    return name


def new_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A random class code (``choice`` picks one character; injectable for tests)."""
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _check_stroke_id(stroke_id: object) -> str:
    if not isinstance(stroke_id, str) or not _STROKE_ID_RE.match(stroke_id):
        raise ClassError(
            f"stroke id: expected an identifier like 'i-love-you', found {stroke_id!r}"
        )
    return stroke_id


def _check_word(value: object, what: str) -> str:
    if not isinstance(value, str) or not _WORD_RE.match(value):
        raise ClassError(f"{what}: expected a lower-case code like 'tracking', found {value!r}")
    return value


def _check_finite(value: object, what: str) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ClassError(f"{what}: expected a number, found {value!r}") from None
    if not math.isfinite(x):
        raise ClassError(f"{what}: expected a finite number, found {value!r}")
    return x


def _same_key(given: object, kept: str) -> bool:
    """Constant-time key comparison that tolerates any input."""
    if not isinstance(given, str):
        return False
    return secrets.compare_digest(given.encode("utf-8", "replace"), kept.encode())


def _check_uv(uv: object) -> tuple[float, float]:
    arr = np.asarray(uv, dtype=np.float64)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)):
        raise ClassError(f"instructor point: expected a finite (u, v) pair, found {uv!r}")
    if np.any(np.abs(arr) > 100.0):
        raise ClassError(f"instructor point: expected (u, v) in tummy-box units, found {uv!r}")
    return float(arr[0]), float(arr[1])


# =================================================================================================
# Records handed out (frozen; only small numbers and words, never video)
# =================================================================================================


@dataclass(frozen=True)
class ClassConfig:
    """Limits and timings (seconds of wall clock unless said otherwise)."""

    trace_window_s: float = 8.0  # instructor points kept, seconds of the instructor's stream
    max_points: int = 600  # and never more than this many
    restart_gap_s: float = 1.0  # a timestamp this far back: the instructor's stream restarted
    away_after_s: float = 10.0  # no sign of a parent this long: shown as away
    status_stale_s: float = 4.0  # no video report this long: shown as camera off
    seat_expiry_s: float = 900.0  # an away seat is kept this long for a rejoin
    class_expiry_s: float = 7200.0  # no sign of the instructor this long: the class ends
    max_seats: int = 30
    max_classes: int = 200
    expire_every_s: float = 5.0  # housekeeping runs at most this often
    remember_ended: int = 1000  # ended codes remembered for a clear message


@dataclass(frozen=True)
class ClassSession:
    """What the instructor holds: the code to share and the key to run the class."""

    code: str
    instructor: str
    stroke_id: str
    token: str  # the instructor's key (publish, change stroke, close); keep it private


@dataclass(frozen=True)
class Seat:
    """What a parent holds. ``number`` is the seat's place on the board (kept on rejoin)."""

    code: str
    token: str  # the seat's key (report, leave)
    name: str
    number: int
    rejoined: bool = False  # this join came back to an existing seat


@dataclass(frozen=True)
class Row:
    """One parent on the instructor's board."""

    number: int
    name: str
    status: str  # last reported video status, "camera_off" or "away"
    stroke_id: str
    position: str  # where they are, e.g. "Rep 2 - Letter L (2/3)"
    last_score: int | None
    flags: tuple[str, ...]  # the last repetition's flags
    repetitions: int
    online: bool
    seen_ago_s: float
    rejoins: int


@dataclass(frozen=True)
class Guide:
    """The instructor's recent path for the parents' "follow me" overlay.

    ``points`` (n, 3) read-only: ``t_s`` (the instructor's stream clock), ``u``, ``v``;
    oldest first. ``idle_s``: wall seconds since the last point arrived (inf: none yet).
    ``serial``: points published since the class opened (parents count the relayed ones).
    """

    code: str
    instructor: str
    stroke_id: str
    points: np.ndarray
    segment: int | None
    label: str
    repetition: int
    status: str  # "waiting" (nothing yet), "tracking", "searching" (hand not seen)
    idle_s: float
    serial: int

    @property
    def latest_uv(self) -> np.ndarray | None:
        return None if len(self.points) == 0 else self.points[-1, 1:3]


# =================================================================================================
# The registry
# =================================================================================================


@dataclass
class _Seat:
    number: int
    name: str
    token: str
    seen_at: float
    status: str = "joined"
    status_at: float = -math.inf
    stroke_id: str = ""
    position: str = ""
    last_score: int | None = None
    flags: tuple[str, ...] = ()
    repetitions: int = 0
    rejoins: int = 0


@dataclass
class _Class:
    code: str
    instructor: str
    stroke_id: str
    token: str
    seen_at: float
    points: deque = field(default_factory=deque)  # (t_s, u, v)
    serial: int = 0
    point_at: float = -math.inf  # wall time of the last point
    last_t: float | None = None
    segment: int | None = None
    label: str = ""
    repetition: int = 0
    status: str = "waiting"
    seats: dict[str, _Seat] = field(default_factory=dict)  # token -> seat
    next_number: int = 1

    def seat_by_name(self, name: str) -> _Seat | None:
        key = name.casefold()
        return next((s for s in self.seats.values() if s.name.casefold() == key), None)


class Classroom:
    """Thread-safe registry of open classes. Every method takes the lock briefly.

    ``clock`` gives wall seconds (monotonic); tests pass a fake one.
    """

    def __init__(
        self, config: ClassConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or ClassConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._classes: dict[str, _Class] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()  # code -> why
        self._expired_at = -math.inf

    # -- instructor ------------------------------------------------------------------------------

    def open(self, instructor_name: str, stroke_id: str) -> ClassSession:
        """Open a class; returns its code and the instructor's key."""
        name = normalise_name(instructor_name, "Instructor's name")
        sid = _check_stroke_id(stroke_id)
        with self._lock:
            now = self._housekeeping(force=True)
            if len(self._classes) >= self.config.max_classes:
                raise ClassFull(
                    f"This server already runs {len(self._classes)} classes, the most it takes; "
                    "close one or try again later"
                )
            code = new_code()
            while code in self._classes or code in self._ended:
                code = new_code()
            token = secrets.token_urlsafe(16)
            self._classes[code] = _Class(code, name, sid, token, seen_at=now)
            return ClassSession(code, name, sid, token)

    def resume(self, code: str, token: str) -> ClassSession:
        """The instructor comes back (e.g. a page reload) with the code and key."""
        with self._lock:
            c = self._instructor(code, token)
            c.seen_at = self._clock()
            return ClassSession(c.code, c.instructor, c.stroke_id, c.token)

    def set_stroke(self, code: str, token: str, stroke_id: str) -> None:
        """The instructor switches the class to another stroke."""
        sid = _check_stroke_id(stroke_id)
        with self._lock:
            c = self._instructor(code, token)
            if sid != c.stroke_id:
                c.stroke_id = sid
                c.points.clear()
                c.last_t = None
                c.segment, c.label, c.repetition = None, "", 0
            c.seen_at = self._clock()

    def publish_instructor_point(
        self,
        code: str,
        token: str,
        uv: Sequence[float] | np.ndarray | None,
        t_s: float,
        *,
        segment: int | None = None,
        label: str = "",
        repetition: int = 0,
    ) -> bool:
        """One frame of the instructor's tracked contact point (``uv`` in the body frame;
        None when the hand is not seen). ``t_s`` is the instructor's stream clock: a
        point not after the previous one is ignored (returns False), one more than
        ``restart_gap_s`` before it means the stream restarted (the trace starts over)."""
        t = _check_finite(t_s, "instructor point time")
        point = None if uv is None else _check_uv(uv)
        if segment is not None and not (isinstance(segment, int) and 0 <= segment < 1000):
            raise ClassError(f"segment: expected an index 0..999 or None, found {segment!r}")
        with self._lock:
            c = self._instructor(code, token)
            now = self._clock()
            c.seen_at = now
            if c.last_t is not None and t <= c.last_t:
                if t >= c.last_t - self.config.restart_gap_s:
                    return False
                c.points.clear()  # the stream restarted
            c.last_t = t
            c.segment, c.label, c.repetition = segment, str(label)[:24], int(repetition)
            if point is None:
                c.status = "searching"
                return True
            c.status = "tracking"
            c.points.append((t, point[0], point[1]))
            c.serial += 1
            c.point_at = now
            while c.points and (
                len(c.points) > self.config.max_points
                or t - c.points[0][0] > self.config.trace_window_s
            ):
                c.points.popleft()
            return True

    def close(self, code: str, token: str) -> None:
        """End the class: parents see that it ended; the code is not reused."""
        with self._lock:
            c = self._instructor(code, token)
            self._end(c.code, "closed by the instructor")

    # -- parents ---------------------------------------------------------------------------------

    def join(self, code: str, parent_name: str) -> Seat:
        """Take a seat, or come back to the seat that has this name (a reload, a new tab)."""
        name = normalise_name(parent_name, "Your name")
        with self._lock:
            c = self._class(code)
            now = self._clock()
            seat = c.seat_by_name(name)
            if seat is not None:
                seat.seen_at = now
                seat.rejoins += 1
                return Seat(c.code, seat.token, seat.name, seat.number, rejoined=True)
            if len(c.seats) >= self.config.max_seats:
                raise ClassFull(f"Class {c.code} is full ({len(c.seats)} parents)")
            seat = _Seat(c.next_number, name, secrets.token_urlsafe(16), seen_at=now)
            seat.stroke_id = c.stroke_id
            c.next_number += 1
            c.seats[seat.token] = seat
            return Seat(c.code, seat.token, seat.name, seat.number)

    def rejoin(self, code: str, name_or_token: str) -> Seat:
        """Back to an existing seat by its key or its name; :class:`SeatNotFound` if none."""
        with self._lock:
            c = self._class(code)
            seat = c.seats.get(name_or_token) if isinstance(name_or_token, str) else None
            if seat is None:
                seat = c.seat_by_name(normalise_name(name_or_token, "Your name"))
            if seat is None:
                raise SeatNotFound(
                    f"Class {c.code} has no seat for {name_or_token!r}: join with your name"
                )
            seat.seen_at = self._clock()
            seat.rejoins += 1
            return Seat(c.code, seat.token, seat.name, seat.number, rejoined=True)

    def leave(self, code: str, token: str) -> None:
        """The parent leaves: the row goes from the board (joining again gives a new seat)."""
        with self._lock:
            c = self._class(code)
            if c.seats.pop(token, None) is None:
                raise NotAllowed(f"Class {c.code}: that seat key is not in this class")

    def report_parent(
        self,
        code: str,
        token: str,
        *,
        status: str | None = None,
        stroke_id: str | None = None,
        position: str | None = None,
        last_score: int | None = None,
        flags: Sequence[str] | None = None,
        repetitions: int | None = None,
    ) -> None:
        """A parent's summary for the board; arguments left None keep their value.

        ``status`` is the parent's video status (``tracking``, ``searching``, ...); a
        report with it also counts as a sign that the video runs."""
        status = None if status is None else _check_word(status, "status")
        stroke_id = None if stroke_id is None else _check_stroke_id(stroke_id)
        if position is not None:
            position = " ".join(str(position).split())[:POSITION_MAX_CHARS]
        if last_score is not None:
            if isinstance(last_score, bool) or not isinstance(last_score, int | np.integer):
                raise ClassError(f"last score: expected a whole number, found {last_score!r}")
            if not 0 <= int(last_score) <= 100:
                raise ClassError(f"last score: expected 0..100, found {last_score}")
        if flags is not None:
            flags = tuple(_check_word(f, "flag") for f in flags)
            if len(flags) > MAX_FLAGS:
                raise ClassError(f"flags: expected at most {MAX_FLAGS}, found {len(flags)}")
        if repetitions is not None and not (isinstance(repetitions, int) and repetitions >= 0):
            raise ClassError(f"repetitions: expected a count >= 0, found {repetitions!r}")
        with self._lock:
            seat = self._seat(code, token)
            now = self._clock()
            seat.seen_at = now
            if status is not None:
                seat.status, seat.status_at = status, now
            if stroke_id is not None:
                seat.stroke_id = stroke_id
            if position is not None:
                seat.position = position
            if last_score is not None:
                seat.last_score = int(last_score)
            if flags is not None:
                seat.flags = flags
            if repetitions is not None:
                seat.repetitions = repetitions

    # -- both ------------------------------------------------------------------------------------

    def heartbeat(self, code: str, token: str) -> None:
        """The instructor's or a parent's page is still open (keeps the class or seat alive)."""
        with self._lock:
            c = self._class(code)
            now = self._clock()
            if _same_key(token, c.token):
                c.seen_at = now
            elif token in c.seats:
                c.seats[token].seen_at = now
            else:
                raise NotAllowed(f"Class {c.code}: that key is not the instructor's or a seat's")

    def instructor_trace(self, code: str, since_t: float | None = None) -> np.ndarray:
        """The kept instructor points after ``since_t`` (instructor's clock): (n, 3) t_s, u, v."""
        with self._lock:
            c = self._class(code)
            pts = list(c.points)
        arr = np.array(pts, dtype=np.float64).reshape(-1, 3)
        if since_t is not None:
            arr = arr[arr[:, 0] > float(since_t)]
        return arr

    def guide(self, code: str, window_s: float = 3.0) -> Guide:
        """The instructor's last ``window_s`` seconds (their clock) for the overlay."""
        with self._lock:
            c = self._class(code)
            now = self._clock()
            if c.points:
                newest = c.points[-1][0]
                pts = [p for p in c.points if newest - p[0] <= window_s]
            else:
                pts = []
            info = (c.instructor, c.stroke_id, c.segment, c.label, c.repetition, c.status)
            idle, serial = now - c.point_at, c.serial
        arr = np.array(pts, dtype=np.float64).reshape(-1, 3)
        arr.setflags(write=False)
        instructor, stroke_id, segment, label, repetition, status = info
        return Guide(
            c.code, instructor, stroke_id, arr, segment, label, repetition, status, idle, serial
        )

    def board(self, code: str) -> list[Row]:
        """Every parent in the class, by seat number."""
        with self._lock:
            c = self._class(code)
            now = self._clock()
            return [self._row(s, now) for s in sorted(c.seats.values(), key=lambda s: s.number)]

    def is_open(self, code: str) -> bool:
        with self._lock:
            self._housekeeping()
            try:
                return normalise_code(code) in self._classes
            except BadCode:
                return False

    def codes(self) -> list[str]:
        with self._lock:
            self._housekeeping()
            return sorted(self._classes)

    def expire(self) -> int:
        """Drop idle classes and seats now; returns how many classes ended."""
        with self._lock:
            before = len(self._classes)
            self._housekeeping(force=True)
            return before - len(self._classes)

    # -- internals (lock held) -------------------------------------------------------------------

    def _row(self, s: _Seat, now: float) -> Row:
        ago = now - s.seen_at
        online = ago <= self.config.away_after_s
        status = s.status
        if not online:
            status = "away"
        elif now - s.status_at > self.config.status_stale_s and s.status != "joined":
            status = "camera_off"
        return Row(
            s.number, s.name, status, s.stroke_id, s.position, s.last_score, s.flags,
            s.repetitions, online, ago, s.rejoins,
        )  # fmt: skip

    def _class(self, code: str) -> _Class:
        key = normalise_code(code)
        self._housekeeping()
        c = self._classes.get(key)
        if c is not None:
            return c
        if key in self._ended:
            raise ClassEnded(f"Class {key} has ended ({self._ended[key]})")
        raise ClassNotFound(f"No open class has the code {key}: check it with your instructor")

    def _instructor(self, code: str, token: str) -> _Class:
        c = self._class(code)
        if not _same_key(token, c.token):
            raise NotAllowed(f"Class {c.code}: only its instructor can do that")
        return c

    def _seat(self, code: str, token: str) -> _Seat:
        c = self._class(code)
        seat = c.seats.get(token) if isinstance(token, str) else None
        if seat is None:
            raise SeatNotFound(f"Class {c.code}: that seat is no longer in the class; join again")
        return seat

    def _end(self, code: str, why: str) -> None:
        self._classes.pop(code, None)
        self._ended[code] = why
        while len(self._ended) > self.config.remember_ended:
            self._ended.popitem(last=False)

    def _housekeeping(self, force: bool = False) -> float:
        now = self._clock()
        if not force and now - self._expired_at < self.config.expire_every_s:
            return now
        self._expired_at = now
        for code, c in list(self._classes.items()):
            if now - c.seen_at > self.config.class_expiry_s:
                self._end(code, "no sign of the instructor for a long time")
                continue
            for token, s in list(c.seats.items()):
                if now - s.seen_at > self.config.seat_expiry_s:
                    del c.seats[token]
        return now


#: The server's registry: one Streamlit process, every browser session.
CLASSROOM = Classroom()


# =================================================================================================
# "Follow me": the instructor's path over the parent's doll
# =================================================================================================


@dataclass(frozen=True)
class FollowStyle:
    """Looks of the follow-me overlay; sizes are fractions of the image height."""

    colour: overlay.RGB = overlay.BLUISH_GREEN  # not used by the parent's own overlay
    outline: overlay.RGB = overlay.WHITE  # a light outline tells it apart from the own trace
    width: float = 1 / 90
    marker_radius: float = 1 / 28
    window_s: float = 3.0  # instructor seconds of path shown
    gap_s: float = 0.5  # a longer gap between points is a lift: not joined
    hide_after_s: float = 3.0  # instructor silent this long (wall): nothing drawn
    marker_fresh_s: float = 1.0  # the "follow me" marker only while points keep coming


def draw_follow_me(
    image: np.ndarray,
    guide: Guide,
    body_frame,
    mirror: bool = False,
    style: FollowStyle | None = None,
) -> np.ndarray:
    """A new image with the instructor's recent path drawn over the parent's doll.

    ``guide.points`` are in the body frame; ``body_frame`` is the parent's (it maps
    them onto the parent's tummy box); ``mirror`` as in :func:`coach.draw.draw`
    (``image`` is already shown mirrored). The input image is not modified.
    """
    style = style or FollowStyle()
    out = image.copy()
    pts = guide.points
    if body_frame is None or len(pts) == 0 or guide.idle_s > style.hide_after_s:
        return out
    pts = pts[pts[:, 0] >= pts[-1, 0] - style.window_s]
    h, w = out.shape[:2]
    proj = overlay.Projector(w, h, mirror)
    px = np.rint(proj.px(body_frame.to_xy(pts[:, 1:3]))).astype(np.int32)
    width = max(2, round(h * style.width))
    breaks = np.flatnonzero(np.diff(pts[:, 0]) > style.gap_s) + 1
    runs = [r.reshape(-1, 1, 2) for r in np.split(px, breaks) if len(r) >= 2]
    if runs:
        cv2.polylines(out, runs, False, style.outline, width + 3, cv2.LINE_AA)
        cv2.polylines(out, runs, False, style.colour, width, cv2.LINE_AA)
    if guide.idle_s <= style.marker_fresh_s:
        c = (int(px[-1][0]), int(px[-1][1]))
        r = max(5, round(h * style.marker_radius))
        cv2.circle(out, c, r + 2, style.outline, -1, cv2.LINE_AA)
        cv2.circle(out, c, r, style.colour, -1, cv2.LINE_AA)
        scale = max(0.4, h / 700)
        org = (c[0] + r + 4, c[1] + r // 2)
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(out, "follow", org, font, scale, overlay.BLACK, 4, cv2.LINE_AA)
        cv2.putText(out, "follow", org, font, scale, style.colour, 2, cv2.LINE_AA)
    return out


# =================================================================================================
# The live coach in a class (per browser session, frames on the worker thread)
# =================================================================================================


class ClassLiveCoach(LiveCoach):
    """A :class:`coach.live.LiveCoach` with a ``link`` that sees every processed frame.

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
    """Publishes the instructor's tracked point (body frame) for every processed frame."""

    def __init__(self, classroom: Classroom, session: ClassSession) -> None:
        self.classroom, self.session = classroom, session
        self.published = 0
        self.errors = 0
        self.last_error = ""
        self.ended = False
        self._last_t: float | None = None

    def after_frame(self, coach: LiveCoach, out: np.ndarray, t: float) -> np.ndarray:
        result = _new_result(coach, self._last_t)
        if result is None or self.ended:
            return out
        self._last_t = result.timestamp_s
        p = result.progress
        uv = None if result.track is None else result.track.uv
        try:
            sent = self.classroom.publish_instructor_point(
                self.session.code, self.session.token, uv, result.timestamp_s,
                segment=None if p is None else p.segment,
                label="" if p is None else p.label,
                repetition=0 if p is None else p.repetition,
            )  # fmt: skip
        except ClassNotFound:
            self.ended = True
            return out
        if sent and uv is not None:
            self.published += 1
        return out


class ParentLink:
    """Draws the instructor's "follow me" path over the parent's frames and reports the
    parent's summaries to the class: a status about once a second, and the score and
    flags after each repetition. Only these small summaries leave the session."""

    def __init__(
        self,
        classroom: Classroom,
        seat: Seat,
        style: FollowStyle | None = None,
        report_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.classroom, self.seat = classroom, seat
        self.style = style or FollowStyle()
        self.report_every_s = report_every_s
        self._clock = clock
        self.relayed = 0  # instructor points that reached this parent's overlay
        self.repetitions = 0
        self.errors = 0
        self.last_error = ""
        self.ended = False
        self.guide: Guide | None = None
        self._serial: int | None = None
        self._last_t: float | None = None
        self._reported_at = -math.inf
        self._last_status = ""

    def after_frame(self, coach: LiveCoach, out: np.ndarray, t: float) -> np.ndarray:
        if self.ended:
            return out
        try:
            guide = self.classroom.guide(self.seat.code, self.style.window_s)
        except ClassNotFound:
            self.ended = True
            return out
        if self._serial is None:
            self.relayed += len(guide.points)
        else:
            self.relayed += max(0, guide.serial - self._serial)
        self._serial, self.guide = guide.serial, guide
        self._report(coach)
        return draw_follow_me(out, guide, coach.body_frame, coach.mirror_preview, self.style)

    def _report(self, coach: LiveCoach) -> None:
        result = _new_result(coach, self._last_t)
        status = "calibrating" if coach.calibrating else None
        changes: dict = {}
        if result is not None:
            self._last_t = result.timestamp_s
            status = status or result.status
            changes["position"] = overlay.segment_label(coach.stroke, result.progress)
            if result.new_repetitions:
                rep = result.new_repetitions[-1]
                self.repetitions += len(result.new_repetitions)
                changes.update(
                    last_score=int(rep.score), flags=tuple(rep.flags), repetitions=self.repetitions
                )
        elif coach.body_frame is None and not coach.calibrating:
            status = "calibrate"
        now = self._clock()
        due = now - self._reported_at >= self.report_every_s
        if status is None or not (due or "last_score" in changes or status != self._last_status):
            return
        self._reported_at, self._last_status = now, status
        try:
            self.classroom.report_parent(
                self.seat.code, self.seat.token, status=status, stroke_id=coach.stroke.id, **changes
            )
        except SeatNotFound:
            # Dropped from the class (expired seat): sit down again under the same name.
            self.seat = self.classroom.join(self.seat.code, self.seat.name)
