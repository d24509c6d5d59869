"""Class mode core: the registry (codes, seats, rejoin, relay, board, expiry, threads),
the follow-me overlay and the live coach links (no model: the sample's own landmarks)."""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from coach import classroom as cr
from coach import ui_class
from coach.bodyframe import BodyFrame
from coach.synth import Sample
from coach.types import HandObservation


class Clock:
    """A wall clock the test moves by hand (seconds)."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def room(clock) -> cr.Classroom:
    return cr.Classroom(clock=clock)


def opened(room: cr.Classroom, stroke: str = "i-love-you") -> cr.ClassSession:
    return room.open("Maya", stroke)


# -- codes and names ------------------------------------------------------------------------------


def test_new_codes_use_the_unambiguous_alphabet() -> None:
    for _ in range(200):
        code = cr.new_code()
        assert len(code) == cr.CODE_LENGTH
        assert set(code) <= set(cr.CODE_ALPHABET)
    assert not set("01ILO") & set(cr.CODE_ALPHABET)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ABC23", "ABC23"),  # as shown
        ("abc23", "ABC23"),  # case doesn't matter
        (" ab c-23 ", "ABC23"),  # spaces and dashes typed around it are ignored
        ("xyz98", "XYZ98"),  # every letter of the alphabet part
    ],
)
def test_codes_are_normalised(text, want) -> None:
    assert cr.normalise_code(text) == want


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "found nothing"),  # empty
        ("   ", "found nothing"),  # blanks only
        ("ABC2", "expected 5 characters, found 4"),  # too short
        ("ABC234", "found 6"),  # too long
        ("AB0C2", "never use 0, O, 1, I or L"),  # a zero: lookalikes are explained
        ("ABIL2", "'IL'"),  # the offending characters are named
        ("AB?C2", "'?'"),  # punctuation
        (12345, "expected text, found int"),  # not text at all
    ],
)
def test_bad_codes_get_clear_messages(text, words) -> None:
    with pytest.raises(cr.BadCode, match="Class code") as err:
        cr.normalise_code(text)
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Ann", "Ann"),  # plain
        ("  Ann   Lee ", "Ann Lee"),  # spaces trimmed and collapsed
        ("Zoë", "Zoë"),  # any script
        ("x" * cr.NAME_MAX_CHARS, "x" * cr.NAME_MAX_CHARS),  # the longest allowed
    ],
)
def test_names_are_normalised(text, want) -> None:
    assert cr.normalise_name(text) == want


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "found nothing"),  # empty
        ("\t \n", "found nothing"),  # whitespace only
        ("x" * (cr.NAME_MAX_CHARS + 1), "at most 32"),  # too long
        ("Ann\x00", "printable"),  # a control character
        (None, "expected text"),  # not text
    ],
)
def test_bad_names_rejected(text, words) -> None:
    with pytest.raises(cr.BadName, match=words):
        cr.normalise_name(text)


# -- open, join, board -----------------------------------------------------------------------------


def test_open_join_and_board(room) -> None:
    cls = opened(room)
    assert room.is_open(cls.code) and room.is_open(cls.code.lower())
    ann = room.join(cls.code.lower(), "Ann")
    ben = room.join(cls.code, "Ben")
    assert (ann.number, ben.number) == (1, 2)
    assert ann.token != ben.token and not ann.rejoined
    rows = room.board(cls.code)
    assert [(r.number, r.name, r.status, r.stroke_id) for r in rows] == [
        (1, "Ann", "joined", "i-love-you"),
        (2, "Ben", "joined", "i-love-you"),
    ]
    assert all(r.online and r.last_score is None and r.repetitions == 0 for r in rows)


def test_rejoin_keeps_the_seat_and_the_board_row(room) -> None:
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    room.join(cls.code, "Ben")
    room.report_parent(cls.code, ann.token, status="tracking", last_score=81,
                       flags=("too_fast",), repetitions=3)  # fmt: skip
    # A page reload: the same name (any case) and code come back to the same seat.
    again = room.join(cls.code, "  ann ")
    assert (again.token, again.number, again.rejoined) == (ann.token, 1, True)
    by_token = room.rejoin(cls.code, ann.token)
    by_name = room.rejoin(cls.code, "ANN")
    assert by_token.number == by_name.number == 1
    rows = room.board(cls.code)
    assert [r.name for r in rows] == ["Ann", "Ben"]
    assert (rows[0].last_score, rows[0].flags, rows[0].repetitions) == (81, ("too_fast",), 3)
    assert rows[0].rejoins == 3


def test_rejoin_without_a_seat_says_so(room) -> None:
    cls = opened(room)
    with pytest.raises(cr.SeatNotFound, match="no seat for 'Cleo'"):
        room.rejoin(cls.code, "Cleo")


def test_leave_removes_the_row_and_a_new_join_gets_a_new_seat(room) -> None:
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    room.join(cls.code, "Ben")
    room.leave(cls.code, ann.token)
    assert [r.name for r in room.board(cls.code)] == ["Ben"]
    assert room.join(cls.code, "Ann").number == 3
    with pytest.raises(cr.NotAllowed):
        room.leave(cls.code, ann.token)  # that seat is gone


def test_unknown_and_malformed_codes(room) -> None:
    opened(room)
    with pytest.raises(cr.ClassNotFound, match="No open class has the code 22222"):
        room.join("22222", "Ann")
    with pytest.raises(cr.BadCode):
        room.join("hello world", "Ann")
    assert not room.is_open("nope")


def test_closing_a_class(room) -> None:
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    with pytest.raises(cr.NotAllowed, match="only its instructor"):
        room.close(cls.code, ann.token)  # a parent can't close it
    room.close(cls.code, cls.token)
    assert not room.is_open(cls.code)
    for call in (
        lambda: room.join(cls.code, "Ben"),
        lambda: room.guide(cls.code),
        lambda: room.board(cls.code),
        lambda: room.report_parent(cls.code, ann.token, status="tracking"),
        lambda: room.publish_instructor_point(cls.code, cls.token, (0.5, 0.5), 1.0),
    ):
        with pytest.raises(cr.ClassEnded, match="has ended .closed by the instructor"):
            call()


def test_instructor_resumes_with_the_key(room) -> None:
    cls = opened(room)
    assert room.resume(cls.code.lower(), cls.token) == cls
    with pytest.raises(cr.NotAllowed):
        room.resume(cls.code, "guess")
    with pytest.raises(cr.NotAllowed):
        room.resume(cls.code, None)  # type: ignore[arg-type]


def test_only_the_instructor_publishes_and_changes_the_stroke(room) -> None:
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    with pytest.raises(cr.NotAllowed):
        room.publish_instructor_point(cls.code, ann.token, (0.5, 0.5), 1.0)
    with pytest.raises(cr.NotAllowed):
        room.set_stroke(cls.code, ann.token, "sun")
    room.publish_instructor_point(cls.code, cls.token, (0.5, 0.5), 1.0)
    room.set_stroke(cls.code, cls.token, "sun")
    g = room.guide(cls.code)
    assert g.stroke_id == "sun" and len(g.points) == 0  # the old stroke's path is gone


def test_full_class_and_full_server(clock) -> None:
    room = cr.Classroom(cr.ClassConfig(max_seats=2, max_classes=1), clock=clock)
    cls = opened(room)
    room.join(cls.code, "Ann")
    room.join(cls.code, "Ben")
    assert room.join(cls.code, "ben").number == 2  # rejoining is fine when full
    with pytest.raises(cr.ClassFull, match="full"):
        room.join(cls.code, "Cleo")
    with pytest.raises(cr.ClassFull, match="already runs 1 classes"):
        opened(room)


# -- relay -----------------------------------------------------------------------------------------


def test_published_points_reach_trace_and_guide(room, clock) -> None:
    cls = opened(room)
    g0 = room.guide(cls.code)
    assert (g0.status, g0.serial, len(g0.points), g0.instructor) == ("waiting", 0, 0, "Maya")
    for i in range(10):
        room.publish_instructor_point(
            cls.code, cls.token, (0.1 * i, 0.5), 0.5 * i, segment=1, label="L", repetition=2
        )
    clock.t += 0.25
    trace = room.instructor_trace(cls.code)
    assert trace.shape == (10, 3)
    np.testing.assert_allclose(trace[:, 0], 0.5 * np.arange(10))
    np.testing.assert_allclose(trace[-1, 1:], (0.9, 0.5))
    assert room.instructor_trace(cls.code, since_t=3.0).shape == (3, 3)  # t 3.5, 4.0, 4.5
    g = room.guide(cls.code, window_s=1.0)  # newest t 4.5: keeps 3.5, 4.0, 4.5
    assert g.points.shape == (3, 3) and not g.points.flags.writeable
    assert (g.segment, g.label, g.repetition, g.status, g.serial) == (1, "L", 2, "tracking", 10)
    assert g.idle_s == pytest.approx(0.25)
    np.testing.assert_allclose(g.latest_uv, (0.9, 0.5))


def test_trace_is_a_bounded_window(clock) -> None:
    room = cr.Classroom(cr.ClassConfig(trace_window_s=2.0, max_points=15), clock=clock)
    cls = opened(room)
    for i in range(100):  # 10 points per second of the instructor's clock
        room.publish_instructor_point(cls.code, cls.token, (0.5, 0.5), 0.1 * i)
    trace = room.instructor_trace(cls.code)
    assert len(trace) == 15  # the count bound (2 s would be 21 points)
    assert trace[-1, 0] == pytest.approx(9.9)
    assert room.guide(cls.code).serial == 100


def test_out_of_order_points_ignored_and_a_restart_starts_over(room) -> None:
    cls = opened(room)
    pub = lambda t: room.publish_instructor_point(cls.code, cls.token, (0.5, 0.5), t)  # noqa: E731
    assert pub(10.0) and pub(10.1)
    assert not pub(10.1)  # the same frame again
    assert not pub(9.5)  # a little back in time: ignored
    assert pub(0.2)  # far back: the instructor's stream restarted
    np.testing.assert_allclose(room.instructor_trace(cls.code)[:, 0], [0.2])


def test_a_lost_hand_sets_searching_without_a_point(room) -> None:
    cls = opened(room)
    room.publish_instructor_point(cls.code, cls.token, (0.5, 0.5), 1.0)
    room.publish_instructor_point(cls.code, cls.token, None, 1.1)
    g = room.guide(cls.code)
    assert (g.status, len(g.points), g.serial) == ("searching", 1, 1)


@pytest.mark.parametrize(
    ("uv", "t", "kw", "words"),
    [
        ((np.nan, 0.5), 1.0, {}, "finite .u, v. pair"),  # NaN coordinate
        ((0.5, 0.5, 0.5), 1.0, {}, "finite .u, v. pair"),  # three numbers
        ((1e6, 0.5), 1.0, {}, "tummy-box units"),  # absurdly far away
        ((0.5, 0.5), float("inf"), {}, "finite number"),  # infinite time
        ((0.5, 0.5), "soon", {}, "expected a number"),  # not a time
        ((0.5, 0.5), 1.0, {"segment": -1}, "segment"),  # negative segment index
    ],
)
def test_bad_instructor_points_rejected(room, uv, t, kw, words) -> None:
    cls = opened(room)
    with pytest.raises(cr.ClassError, match=words):
        room.publish_instructor_point(cls.code, cls.token, uv, t, **kw)


# -- parents' reports ------------------------------------------------------------------------------


def test_report_updates_only_what_is_given(room) -> None:
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    room.report_parent(cls.code, ann.token, status="tracking", position="Rep 1 - Letter I (1/3)")
    room.report_parent(cls.code, ann.token, last_score=np.int64(72), flags=["off_path"],
                       repetitions=1)  # fmt: skip
    room.report_parent(cls.code, ann.token, status="searching")
    (row,) = room.board(cls.code)
    assert (row.status, row.position, row.last_score, row.flags, row.repetitions) == (
        "searching", "Rep 1 - Letter I (1/3)", 72, ("off_path",), 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"last_score": 101}, "0..100"),  # above the scale
        ({"last_score": True}, "whole number"),  # a bool is not a score
        ({"last_score": 80.5}, "whole number"),  # a fraction
        ({"flags": ["Too Fast"]}, "flag"),  # not a flag code
        ({"flags": ["jerky"] * 17}, "at most 16"),  # too many
        ({"status": "<b>x</b>"}, "status"),  # markup as a status
        ({"stroke_id": "../etc"}, "stroke id"),  # path trick as a stroke id
        ({"repetitions": -1}, "repetitions"),  # negative count
    ],
)
def test_bad_reports_rejected(room, kw, words) -> None:
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    with pytest.raises(cr.ClassError, match=words):
        room.report_parent(cls.code, ann.token, **kw)
    assert room.board(cls.code)[0].last_score is None  # nothing changed


def test_reports_need_a_seat_key(room) -> None:
    cls = opened(room)
    with pytest.raises(cr.SeatNotFound, match="join again"):
        room.report_parent(cls.code, "not-a-seat", status="tracking")
    with pytest.raises(cr.SeatNotFound):
        room.report_parent(cls.code, cls.token, status="tracking")  # the instructor has no seat


def test_only_small_summaries_are_shared(room) -> None:
    # The registry takes no pictures: unknown fields are refused, rows hold words and numbers.
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    with pytest.raises(TypeError):
        room.report_parent(cls.code, ann.token, image=np.zeros((480, 640, 3), np.uint8))
    room.report_parent(cls.code, ann.token, status="tracking", last_score=90, flags=("jerky",))
    for value in vars(room.board(cls.code)[0]).values():
        assert isinstance(value, str | int | float | bool | tuple | type(None))


# -- expiry ----------------------------------------------------------------------------------------


def test_quiet_parent_shows_camera_off_then_away_then_is_dropped(clock) -> None:
    cfg = cr.ClassConfig(status_stale_s=4, away_after_s=10, seat_expiry_s=60, expire_every_s=0)
    room = cr.Classroom(cfg, clock=clock)
    cls = opened(room)
    ann = room.join(cls.code, "Ann")
    room.report_parent(cls.code, ann.token, status="tracking")
    clock.t += 5  # no video report for 5 s, but the page still answers
    room.heartbeat(cls.code, ann.token)
    assert room.board(cls.code)[0].status == "camera_off"
    clock.t += 11  # nothing at all for 11 s
    room.heartbeat(cls.code, cls.token)  # the instructor is there
    (row,) = room.board(cls.code)
    assert (row.status, row.online) == ("away", False)
    assert room.rejoin(cls.code, "Ann").number == 1  # still there to come back to
    clock.t += 61
    room.heartbeat(cls.code, cls.token)
    assert room.board(cls.code) == []
    assert room.join(cls.code, "Ann").number == 2  # a new seat


def test_idle_class_expires(clock) -> None:
    room = cr.Classroom(cr.ClassConfig(class_expiry_s=100, expire_every_s=0), clock=clock)
    cls = opened(room)
    clock.t += 90
    room.heartbeat(cls.code, cls.token)
    clock.t += 90
    assert room.is_open(cls.code)
    clock.t += 20
    assert room.expire() == 1
    with pytest.raises(cr.ClassEnded, match="no sign of the instructor"):
        room.join(cls.code, "Ann")


def test_heartbeat_needs_a_key_of_the_class(room) -> None:
    cls = opened(room)
    with pytest.raises(cr.NotAllowed):
        room.heartbeat(cls.code, "stranger")


# -- threads ---------------------------------------------------------------------------------------


def test_threads_hammering_publish_report_guide_and_board() -> None:
    room = cr.Classroom()
    cls = room.open("Maya", "i-love-you")
    seats = [room.join(cls.code, f"P{i}") for i in range(4)]
    errors: list[BaseException] = []
    n_points = 3000
    start = threading.Barrier(1 + len(seats) + 2)

    def guarded(fn):
        def run():
            try:
                start.wait()
                fn()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        return threading.Thread(target=run)

    def instructor():
        for i in range(n_points):
            room.publish_instructor_point(cls.code, cls.token, (i % 100 / 100, 0.5), i / 30)

    def parent(seat):
        def run():
            for i in range(800):
                g = room.guide(cls.code)
                assert g.points.shape[1] == 3
                assert np.all(np.diff(g.points[:, 0]) > 0)  # never a torn, unordered copy
                room.report_parent(cls.code, seat.token, status="tracking", last_score=i % 101,
                                   repetitions=i)  # fmt: skip
                if i % 100 == 0:
                    room.join(cls.code, seat.name)  # reloads in between

        return run

    def board():
        for _ in range(800):
            numbers = [r.number for r in room.board(cls.code)]
            assert numbers[:4] == [1, 2, 3, 4] and len(numbers) <= 5  # a guest may sit in
            assert numbers == sorted(numbers)

    def joiner():
        for i in range(50):
            s = room.join(cls.code, f"Guest{i}")
            room.leave(cls.code, s.token)

    threads = [guarded(instructor), guarded(board), guarded(joiner)]
    threads += [guarded(parent(s)) for s in seats]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert room.guide(cls.code).serial == n_points
    rows = room.board(cls.code)
    assert [(r.name, r.repetitions, r.last_score) for r in rows] == [
        (f"P{i}", 799, 799 % 101) for i in range(4)
    ]


# -- follow-me overlay -----------------------------------------------------------------------------

W, H = 320, 240


def green_mask(img: np.ndarray) -> np.ndarray:
    return np.abs(img.astype(int) - np.array(cr.FollowStyle().colour)).max(axis=2) <= 30


def guide_of(points, idle_s: float = 0.1) -> cr.Guide:
    arr = np.array(points, dtype=np.float64).reshape(-1, 3)
    return cr.Guide("ABCDE", "Maya", "i-love-you", arr, 0, "I", 0, "tracking", idle_s, len(arr))


def test_follow_me_goes_through_the_parents_body_frame() -> None:
    # Instructor's path: a vertical line down the middle of the tummy (u = 0.5).
    pts = [(0.1 * i, 0.5, 0.1 + 0.08 * i) for i in range(10)]
    # The parent's doll lies with its head to the right, tummy box in the left half.
    parent = BodyFrame.from_box((0.1, 0.2, 0.5, 0.8), head="right")
    img = np.full((H, W, 3), 90, np.uint8)
    out = cr.draw_follow_me(img, guide_of(pts), parent)
    assert (img == 90).all()  # the input is untouched
    ys, xs = np.nonzero(green_mask(out))
    assert len(xs) > 100
    # Head to the right: the tummy's v runs right to left along the image, at mid height.
    assert abs(np.median(ys) / H - 0.5) < 0.08
    assert xs.min() / W > 0.08 and xs.max() / W < 0.6
    mirrored = cr.draw_follow_me(img, guide_of(pts), parent, mirror=True)
    _, mxs = np.nonzero(green_mask(mirrored))
    assert abs(np.median(mxs) - (W - 1 - np.median(xs))) < 8  # flipped with the preview


@pytest.mark.parametrize(
    ("points", "idle_s", "body_frame"),
    [
        ([], 0.1, True),  # nothing published yet
        ([(0.0, 0.5, 0.2), (0.1, 0.5, 0.3)], 5.0, True),  # the instructor went quiet
        ([(0.0, 0.5, 0.2), (0.1, 0.5, 0.3)], 0.1, False),  # the parent is not calibrated
    ],
)
def test_follow_me_draws_nothing_when_it_should_not(points, idle_s, body_frame) -> None:
    img = np.full((H, W, 3), 90, np.uint8)
    bf = BodyFrame.from_box((0.3, 0.3, 0.7, 0.7)) if body_frame else None
    out = cr.draw_follow_me(img, guide_of(points, idle_s), bf)
    assert (out == img).all() and out is not img


def test_follow_me_does_not_join_across_a_lift() -> None:
    bf = BodyFrame.from_box((0.0, 0.0, 1.0, 1.0))
    img = np.zeros((H, W, 3), np.uint8)
    # Two strokes 1 s apart (a lift): left column then right column, no line between.
    pts = [(0.05 * i, 0.2, 0.2 + 0.05 * i) for i in range(8)]
    pts += [(1.4 + 0.05 * i, 0.8, 0.2 + 0.05 * i) for i in range(8)]
    out = cr.draw_follow_me(img, guide_of(pts, idle_s=2.0), bf)  # no marker: lines only
    mid = green_mask(out)[:, int(0.4 * W) : int(0.6 * W)]
    assert not mid.any()


# -- links on the live coach (the sample's own landmarks stand in for the model) ------------------


class TruthLandmarker:
    """The sample's hand landmarks for the frame at ``timestamp_s`` (no model)."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample

    def detect(self, frame) -> HandObservation | None:
        index = int(round(frame.timestamp_s * self.sample.fps)) % self.sample.n_frames
        hands = [h for h in self.sample.hand_landmarks(index) if h is not None]
        if not hands:
            return None
        lm = np.concatenate([np.array(hands), np.zeros((len(hands), 21, 1))], axis=2)
        return HandObservation(
            frame.timestamp_s, lm, np.ones(len(hands)), (frame.width, frame.height)
        )

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def sample() -> Sample:
    return Sample("i-love-you", repetitions=2, size=(W, H), fps=10.0)


def class_coach(sample: Sample, body_frame: BodyFrame, link) -> cr.ClassLiveCoach:
    lm = TruthLandmarker(sample)
    return cr.ClassLiveCoach(sample.stroke, body_frame, landmarker_factory=lambda n: lm, link=link)


def test_instructor_and_two_parents_through_the_live_coach(sample) -> None:
    room = cr.Classroom()
    cls = room.open("Maya", sample.stroke.id)
    bf = sample.truth.body_frame()
    teacher_link = cr.InstructorLink(room, cls)
    teacher = class_coach(sample, bf, teacher_link)
    parents = []
    for name in ("Ann", "Ben"):
        link = cr.ParentLink(room, room.join(cls.code, name), report_every_s=0.0)
        parents.append((class_coach(sample, bf, link), link))
    img = np.full((H, W, 3), 90, np.uint8)
    greens = []
    for i in range(sample.n_frames):
        t = sample.timestamp(i)
        teacher.process(img, t)
        for coach, _link in parents:
            greens.append(green_mask(coach.process(img, t)).sum())
    g = room.guide(cls.code)
    assert teacher_link.published == g.serial > 0.5 * sample.n_frames
    assert teacher_link.errors == 0
    # The published points are the instructor's tracked uv: close to the true contact point.
    trace = room.instructor_trace(cls.code)
    idx = np.rint(trace[:, 0] * sample.fps).astype(int)
    truth = sample.truth.contact_uv[idx, 0]
    ok = np.isfinite(truth).all(axis=1)
    assert np.median(np.linalg.norm(trace[ok, 1:] - truth[ok], axis=1)) < 0.08
    for _coach, link in parents:
        assert link.relayed == g.serial and link.errors == 0
    assert max(greens) > 100  # the follow-me path was drawn on the parents' frames
    rows = room.board(cls.code)
    assert [r.name for r in rows] == ["Ann", "Ben"]
    for row, (coach, link) in zip(rows, parents, strict=True):
        reps = coach.session().repetitions
        assert row.repetitions == link.repetitions == len(reps) >= 1
        assert row.last_score == reps[-1].score and row.flags == tuple(reps[-1].flags)
        assert row.status in ("tracking", "bridged", "searching", "no_hand")
        assert row.stroke_id == "i-love-you"


def test_a_failing_link_never_breaks_the_video(sample) -> None:
    class Broken:
        errors, last_error = 0, ""

        def after_frame(self, coach, out, t):
            raise RuntimeError("boom")

    link = Broken()
    coach = class_coach(sample, sample.truth.body_frame(), link)
    img = np.full((H, W, 3), 90, np.uint8)
    out = coach.process(img, 0.0)
    assert out.shape == img.shape
    assert link.errors == 1 and "boom" in link.last_error


def test_links_stop_when_the_class_closes(sample) -> None:
    room = cr.Classroom()
    cls = room.open("Maya", sample.stroke.id)
    seat = room.join(cls.code, "Ann")
    teacher_link, parent_link = cr.InstructorLink(room, cls), cr.ParentLink(room, seat)
    bf = sample.truth.body_frame()
    teacher, parent = class_coach(sample, bf, teacher_link), class_coach(sample, bf, parent_link)
    img = np.full((H, W, 3), 90, np.uint8)
    for i in range(20):
        teacher.process(img, sample.timestamp(i))
        parent.process(img, sample.timestamp(i))
    room.close(cls.code, cls.token)
    for i in range(20, 25):
        teacher.process(img, sample.timestamp(i))
        parent.process(img, sample.timestamp(i))
    assert teacher_link.ended and parent_link.ended
    assert teacher_link.errors == parent_link.errors == 0


def test_parent_link_sits_down_again_after_its_seat_expired(sample, clock) -> None:
    room = cr.Classroom(cr.ClassConfig(seat_expiry_s=5, expire_every_s=0), clock=clock)
    cls = room.open("Maya", sample.stroke.id)
    link = cr.ParentLink(room, room.join(cls.code, "Ann"), report_every_s=0.0, clock=clock)
    coach = class_coach(sample, sample.truth.body_frame(), link)
    img = np.full((H, W, 3), 90, np.uint8)
    coach.process(img, 0.0)
    clock.t += 10
    room.heartbeat(cls.code, cls.token)  # housekeeping drops Ann's seat
    assert room.board(cls.code) == []
    coach.process(img, 0.1)
    coach.process(img, 0.2)
    assert [r.name for r in room.board(cls.code)] == ["Ann"]
    assert link.errors == 0


# -- the page (AppTest: no browser, no WebRTC) ----------------------------------------------------

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "4_Class.py")


@pytest.fixture()
def server(tmp_path, monkeypatch) -> cr.Classroom:
    """A fresh server registry and settings folder for the page."""
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    room = cr.Classroom()
    monkeypatch.setattr(cr, "CLASSROOM", room)
    return room


def browser(**query) -> AppTest:
    """A new browser session on the class page (``query``: the address's parameters)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["coach_no_webrtc"] = True  # webrtc_streamer cannot run under AppTest
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def html_of(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def messages(at: AppTest) -> str:
    return "\n".join([e.value for e in at.error] + [w.value for w in at.warning])


def open_class(at: AppTest, name: str = "Maya") -> str:
    at.radio(key="class_role").set_value(ui_class.INSTRUCTOR).run()
    at.text_input(key="class_teacher_name").input(name)
    at.button[0].click().run()
    assert not at.exception
    (code,) = re.findall(r'data-coach-class-code="(\w+)"', html_of(at))
    return code


def join_class(at: AppTest, code: str, name: str) -> AppTest:
    at.text_input[0].input(code)
    at.text_input[1].input(name)
    return at.button[0].click().run()


def board_rows(at: AppTest) -> list[tuple[str, str]]:
    """(seat, status) of every row of the instructor's board."""
    at.run()
    return re.findall(r'data-coach-seat="(\d+)" data-coach-status="(\w+)"', html_of(at))


def test_lobby_offers_both_roles_and_the_safety_notes(server) -> None:
    at = browser()
    assert not at.exception
    assert at.radio(key="class_role").options == [ui_class.PARENT, ui_class.INSTRUCTOR]
    assert [t.label for t in at.text_input] == ["Class code", "Your name"]
    assert "umbilical cord" in html_of(at)


@pytest.mark.parametrize(
    ("code", "name", "words"),
    [
        ("AB1", "Ann", "Class code: expected 5 characters"),  # malformed code
        ("22222", "Ann", "No open class has the code 22222"),  # nobody opened it
        ("", "Ann", "found nothing"),  # no code
    ],
)
def test_joining_with_a_bad_code_explains(server, code, name, words) -> None:
    at = join_class(browser(), code, name)
    assert not at.exception
    assert words in messages(at)
    assert server.codes() == [] and dict(at.query_params) == {}


def test_instructor_opens_parents_join_and_the_board_lists_them(server) -> None:
    teacher = browser()
    code = open_class(teacher)
    assert server.codes() == [code]
    assert teacher.query_params["role"] == "instructor" and teacher.query_params["class"] == code
    assert 'data-coach-board="0"' in html_of(teacher)
    ann = join_class(browser(), code.lower(), "Ann")
    ben = join_class(browser(), code, "Ben")
    for at, seat in ((ann, 1), (ben, 2)):
        assert not at.exception
        assert f"class **{code}** with **Maya**, seat {seat}" in html_of(at)
        assert 'data-coach-relayed="0"' in html_of(at)
        assert "hasn't started their camera" in html_of(at)
    assert dict(ann.query_params) == {"role": "parent", "class": code, "name": "Ann"}
    assert board_rows(teacher) == [("1", "joined"), ("2", "joined")]


def test_a_reloaded_parent_page_rejoins_the_same_seat(server) -> None:
    teacher = browser()
    code = open_class(teacher)
    ann = join_class(browser(), code, "Ann")
    join_class(browser(), code, "Ben")
    seat = ann.session_state[ui_class.SEAT]
    server.report_parent(code, seat.token, status="tracking", last_score=77, repetitions=2)
    # The reload: a fresh browser session with the same address.
    again = browser(**dict(ann.query_params))
    assert not again.exception
    assert f"**Welcome back, Ann**: class **{code}** with **Maya**, seat 1." in html_of(again)
    assert again.session_state[ui_class.SEAT].token == seat.token
    assert [r[0] for r in board_rows(teacher)] == ["1", "2"]
    assert 'data-coach-score="77"' in html_of(teacher)  # the row kept its score


def test_a_reloaded_instructor_page_resumes_the_class(server) -> None:
    teacher = browser()
    code = open_class(teacher)
    join_class(browser(), code, "Ann")
    again = browser(**dict(teacher.query_params))
    assert not again.exception
    assert f'data-coach-class-code="{code}"' in html_of(again)
    assert board_rows(again) == [("1", "joined")]
    stranger = browser(role="instructor", **{"class": code, "key": "guess"})
    assert "only its instructor" in messages(stranger)
    assert dict(stranger.query_params) == {}


def test_closing_the_class_sends_parents_back_to_the_lobby(server) -> None:
    teacher = browser()
    code = open_class(teacher)
    ann = join_class(browser(), code, "Ann")
    next(b for b in teacher.button if b.label == "Close the class").click().run()
    assert f"Class {code} is closed." in messages(teacher)
    assert server.codes() == []
    ann.run()
    assert "has ended" in messages(ann)
    assert [t.label for t in ann.text_input] == ["Class code", "Your name"]
    late = browser(role="parent", name="Ben", **{"class": code})
    assert "has ended" in messages(late)


def test_leaving_takes_the_row_off_the_board(server) -> None:
    teacher = browser()
    code = open_class(teacher)
    ann = join_class(browser(), code, "Ann")
    join_class(browser(), code, "Ben")
    next(b for b in ann.button if b.label == "Leave the class").click().run()
    assert dict(ann.query_params) == {}
    assert board_rows(teacher) == [("2", "joined")]


def test_the_instructor_changes_the_stroke_for_everyone(server) -> None:
    teacher = browser()
    code = open_class(teacher)
    ann = join_class(browser(), code, "Ann")
    assert ann.session_state[ui_class.LIVE].stroke.id == "i-love-you"
    teacher.selectbox(key="class_stroke").select("sun").run()
    assert not teacher.exception
    assert teacher.session_state[ui_class.LIVE].stroke.id == "sun"
    assert server.guide(code).stroke_id == "sun"
    ann.run()
    assert ann.session_state[ui_class.LIVE].stroke.id == "sun"


def test_board_html_rows_words_and_escaping() -> None:
    rows = [
        cr.Row(1, "Ann <b>", "tracking", "i-love-you", "Rep 2 - Letter L (2/3)", 81,
               ("too_fast", "jerky"), 2, True, 0.5, 0),
        cr.Row(2, "Ben", "away", "i-love-you", "", None, (), 0, False, 30.0, 1),
        cr.Row(3, "Cleo", "tracking", "i-love-you", "", 95, (), 1, True, 0.2, 0),
    ]  # fmt: skip
    out = ui_class.board_html(rows)
    assert 'data-coach-board="3"' in out
    assert '<td style="padding:4px 6px;vertical-align:top">Ann &lt;b&gt;</td>' in out
    assert 'data-coach-seat="1" data-coach-status="tracking" data-coach-score="81"' in out
    assert "81 / 100" in out and "too fast, not smooth · 2 reps" in out
    assert "practising<br><small>Rep 2 - Letter L (2/3)" in out
    assert 'data-coach-score=""' in out and ">away<" in out
    assert "no flags · 1 rep<" in out  # a clean repetition says so
    assert 'data-coach-board="0"' in ui_class.board_html([])


@pytest.mark.parametrize(
    ("status", "idle_s", "label", "words"),
    [
        ("waiting", math.inf, "", "hasn't started their camera"),  # nothing published yet
        ("tracking", 0.1, "L", "is on letter L (repetition 3)"),  # live, on a letter
        ("tracking", 0.1, "circle", "is on circle"),  # live, on a named segment
        ("searching", 0.1, "", "hand is off the doll"),  # the hand left the picture
        ("tracking", 30.0, "L", "has paused"),  # nothing for a while
    ],
)
def test_follow_html_says_what_the_instructor_does(status, idle_s, label, words) -> None:
    g = cr.Guide("ABCDE", "Maya", "i-love-you", np.zeros((0, 3)), 1, label, 2, status, idle_s, 5)
    out = ui_class.follow_html(g, 42)
    assert words in out and 'data-coach-relayed="42"' in out
