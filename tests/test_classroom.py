"""Class mode on the page's side: codes and names, the relay address setting, the
follow-me overlay, the live coach links through a real relay (in this process, real
WebSockets on loopback; the sample's own landmarks stand in for the model), and the
class page under AppTest (no browser, no WebRTC). The relay's own rules:
tests/test_relay_core.py and tests/test_relay_server.py."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from coach.core.bodyframe import BodyFrame
from coach.core.types import FRAME_STATUSES, Guide, HandObservation
from coach.relay.client import Snapshot
from coach.relay.hub import RelayConfig, new_code
from coach.relay.server import EmbeddedRelay
from coach.render.follow_me import FollowStyle, draw_follow_me
from coach.samples.synth import Sample
from coach.services import classroom as cr
from coach.ui import class_page as ui_class

OPEN_LIMITS = RelayConfig(
    joins_per_client=(10_000, 60.0), joins_per_class=(10_000, 60.0),
    hellos_per_client=(10_000, 60.0), opens_per_client=(10_000, 60.0),
    max_classes_per_client=10_000,
    # The clip is played as fast as the machine goes, not at 30 frames/s: an idle machine
    # sent its 182nd point within 3 s, past the 60 points/s an instructor may send.
    path_points_per_s=10_000.0, messages_per_s=10_000.0, message_burst=10_000,
)  # fmt: skip


@pytest.fixture(scope="module")
def relay():
    """A relay on loopback in this process (in-memory classes), limits opened for tests."""
    r = EmbeddedRelay(config=OPEN_LIMITS).start()
    yield r
    r.stop()


def wait_for(what, timeout_s: float = 10.0, label: str = "", state=None):
    """``what()`` once it is truthy; after ``timeout_s`` an AssertionError naming ``label``
    and, if given, ``state()`` (what the clients saw: a lost point or a reconnect)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.02)
    seen = "" if state is None else f"; {state()}"
    raise AssertionError(f"timed out waiting for {label or what}{seen}")


# -- codes and names ------------------------------------------------------------------------------


def test_new_codes_use_the_unambiguous_alphabet() -> None:
    for _ in range(200):
        code = new_code()  # the relay makes the codes
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


# -- the relay address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", ""),  # empty: the relay built into this Stroke Coach
        ("  ", ""),  # blanks: the same
        ("wss://relay.example.org/class", "wss://relay.example.org/class"),  # as given
        ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/class"),  # the usual path added
        ("ws://[::1]:8765/class", "ws://[::1]:8765/class"),  # IPv6
        ("network", "network"),  # the built-in relay, open to this network
        (" Network ", "network"),  # ... in any case
    ],
)
def test_relay_addresses(text, want) -> None:
    assert cr.check_relay_address(text) == want


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("http://relay.example.org", "ws://HOST:PORT"),  # not a WebSocket address
        ("relay.example.org", "ws://HOST:PORT"),  # no scheme
        ("wss://u:pw@relay.example.org/class", "no user, password"),  # a secret in it
        ("wss://relay.example.org/class?key=abc", "no user, password or ?query"),  # a query
        ("ws://host:99999/class", "host[:port]"),  # a port out of range
        ("wss://" + "a" * 300, "expected an address like"),  # far too long
        ("wss://relay\n.example", "expected an address like"),  # a control character
        (42, "expected text"),  # not text
    ],
)
def test_bad_relay_addresses(text, words) -> None:
    with pytest.raises(cr.BadRelayAddress) as err:
        cr.check_relay_address(text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_relay_address_is_remembered(tmp_path) -> None:
    assert cr.load_relay_address(tmp_path) == ""  # nothing saved
    assert cr.save_relay_address(tmp_path, "ws://10.0.0.5:8765") == "ws://10.0.0.5:8765/class"
    assert cr.load_relay_address(tmp_path) == "ws://10.0.0.5:8765/class"
    (tmp_path / cr.SETTINGS_FILE).write_text('{"relay_address": "http://evil"}')
    assert cr.load_relay_address(tmp_path) == ""  # a bad saved value is ignored
    (tmp_path / cr.SETTINGS_FILE).write_text("not json")
    assert cr.load_relay_address(tmp_path) == ""


# -- what the parent's overlay gets from the client -----------------------------------------------


def snapshot(points, idle_s: float = 0.1, relayed: int | None = None) -> Snapshot:
    n = sum(1 for p in points if p[1] is not None) if relayed is None else relayed
    return Snapshot("connected", "parent", "ABCDE", "Maya", "i-love-you", None, (),
                    tuple(points), 1, "L", 2, idle_s, n, 1, "", "", "")  # fmt: skip


@pytest.mark.parametrize(
    ("points", "status", "kept"),
    [
        # (points received, status, times kept in the guide)
        ([], "waiting", []),  # nothing yet
        ([(1.0, 0.1, 0.2), (1.1, 0.2, 0.2)], "tracking", [1.0, 1.1]),  # a hand on the doll
        ([(1.0, 0.1, 0.2), (1.1, None, None)], "searching", [1.0]),  # the hand went away
        ([(1.0, 0.1, 0.2), (5.0, 0.2, 0.2)], "tracking", [5.0]),  # only the last 3 s
        ([(9.0, 0.1, 0.2), (2.0, 0.2, 0.2)], "tracking", [2.0]),  # the stream restarted
    ],
)
def test_guide_from_a_snapshot(points, status, kept) -> None:
    g = cr.guide_from(snapshot(points), window_s=3.0)
    assert g.status == status and list(g.points[:, 0]) == kept
    assert g.instructor == "Maya" and g.label == "L" and g.repetition == 2
    assert not g.points.flags.writeable
    assert (g.idle_s == math.inf) == (not points)


# -- follow-me overlay -----------------------------------------------------------------------------

W, H = 320, 240


def green_mask(img: np.ndarray) -> np.ndarray:
    return np.abs(img.astype(int) - np.array(FollowStyle().colour)).max(axis=2) <= 30


def guide_of(points, idle_s: float = 0.1) -> Guide:
    arr = np.array(points, dtype=np.float64).reshape(-1, 3)
    return Guide("ABCDE", "Maya", "i-love-you", arr, 0, "I", 0, "tracking", idle_s, len(arr))


def test_follow_me_goes_through_the_parents_body_frame() -> None:
    # Instructor's path: a vertical line down the middle of the tummy (u = 0.5).
    pts = [(0.1 * i, 0.5, 0.1 + 0.08 * i) for i in range(10)]
    # The parent's doll lies with its head to the right, tummy box in the left half.
    parent = BodyFrame.from_box((0.1, 0.2, 0.5, 0.8), head="right")
    img = np.full((H, W, 3), 90, np.uint8)
    out = draw_follow_me(img, guide_of(pts), parent)
    assert (img == 90).all()  # the input is untouched
    ys, xs = np.nonzero(green_mask(out))
    assert len(xs) > 100
    # Head to the right: the tummy's v runs right to left along the image, at mid height.
    assert abs(np.median(ys) / H - 0.5) < 0.08
    assert xs.min() / W > 0.08 and xs.max() / W < 0.6
    mirrored = draw_follow_me(img, guide_of(pts), parent, mirror=True)
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
    out = draw_follow_me(img, guide_of(points, idle_s), bf)
    assert (out == img).all() and out is not img


def test_follow_me_does_not_join_across_a_lift() -> None:
    bf = BodyFrame.from_box((0.0, 0.0, 1.0, 1.0))
    img = np.zeros((H, W, 3), np.uint8)
    # Two strokes 1 s apart (a lift): left column then right column, no line between.
    pts = [(0.05 * i, 0.2, 0.2 + 0.05 * i) for i in range(8)]
    pts += [(1.4 + 0.05 * i, 0.8, 0.2 + 0.05 * i) for i in range(8)]
    out = draw_follow_me(img, guide_of(pts, idle_s=2.0), bf)  # no marker: lines only
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


def _links_state(teacher_link, parent_links) -> str:
    """Published and relayed counts and each client's connects and last error (for a
    failure message: a point lost on a reconnect reads differently from a slow relay)."""
    out = [f"published {teacher_link.published}"]
    for who, link in [("instructor", teacher_link)] + [
        (f"parent {i}", lk) for i, lk in enumerate(parent_links)
    ]:
        snap = link.client.snapshot()
        out.append(f"{who}: relayed {snap.relayed}, connects {snap.connects}, "
                   f"state {link.client.state}, last error {snap.last_error!r}")  # fmt: skip
    return "; ".join(out)


def test_instructor_and_two_parents_through_a_relay(sample, relay) -> None:
    session, tclient = cr.open_class(relay.url, "Maya", sample.stroke.id)
    bf = sample.truth.body_frame()
    teacher_link = cr.InstructorLink(tclient)
    teacher = class_coach(sample, bf, teacher_link)
    parents, clients = [], [tclient]
    for name in ("Ann", "Ben"):
        seat, pclient = cr.join_class(relay.url, session.code.lower(), name)
        clients.append(pclient)
        link = cr.ParentLink(pclient, report_every_s=0.0)
        parents.append((class_coach(sample, bf, link), link))
    try:
        img = np.full((H, W, 3), 90, np.uint8)
        greens = []
        for i in range(sample.n_frames):
            t = sample.timestamp(i)
            teacher.process(img, t)
            published = teacher_link.published
            # (generous: a loaded 2-core machine has delayed the relay by seconds)
            wait_for(
                lambda p=published: all(lk.relayed >= p for _, lk in parents), 20, "points",
                state=lambda: _links_state(teacher_link, [lk for _, lk in parents]),
            )  # fmt: skip
            for coach, _link in parents:
                greens.append(green_mask(coach.process(img, t)).sum())
        assert teacher_link.published > 0.5 * sample.n_frames and teacher_link.errors == 0
        # The points that reached a parent are the instructor's tracked uv: close to the truth.
        g = cr.guide_from(parents[0][1].client.snapshot(), window_s=1e9)
        trace = np.array([p for p in parents[0][1].client.snapshot().points if p[1] is not None])
        idx = np.rint(trace[:, 0] * sample.fps).astype(int)
        truth = sample.truth.contact_uv[idx, 0]
        ok = np.isfinite(truth).all(axis=1)
        assert np.median(np.linalg.norm(trace[ok, 1:] - truth[ok], axis=1)) < 0.08
        for _coach, link in parents:
            assert link.relayed == teacher_link.published == g.serial and link.errors == 0
        assert max(greens) > 100  # the follow-me path was drawn on the parents' frames

        def board_done():
            rows = cr.board(tclient)
            want = [len(c.session().repetitions) for c, _ in parents]
            return rows if [r.repetitions for r in rows] == want else None

        rows = wait_for(board_done, 30, "board rows")
        assert [r.name for r in rows] == ["Ann", "Ben"]
        for row, (coach, link) in zip(rows, parents, strict=True):
            reps = coach.session().repetitions
            assert row.repetitions == link.repetitions == len(reps) >= 1
            assert row.last_score == reps[-1].score and row.flags == tuple(reps[-1].flags)
            assert row.status in FRAME_STATUSES
            assert row.stroke_id == "i-love-you"
    finally:
        for c in clients:
            c.stop()


def test_links_stop_when_the_class_closes(sample, relay) -> None:
    session, tclient = cr.open_class(relay.url, "Maya", sample.stroke.id)
    _, pclient = cr.join_class(relay.url, session.code, "Ann")
    teacher_link, parent_link = cr.InstructorLink(tclient), cr.ParentLink(pclient)
    bf = sample.truth.body_frame()
    teacher, parent = class_coach(sample, bf, teacher_link), class_coach(sample, bf, parent_link)
    img = np.full((H, W, 3), 90, np.uint8)
    try:
        for i in range(10):
            teacher.process(img, sample.timestamp(i))
            parent.process(img, sample.timestamp(i))
        tclient.close_class()
        wait_for(lambda: parent_link.ended, 10, "the parent sees the end")
        for i in range(10, 15):
            out = parent.process(img, sample.timestamp(i))
            assert out.shape == img.shape  # the video goes on
        assert "closed by the instructor" in pclient.snapshot().ended_why
        assert teacher_link.errors == parent_link.errors == 0
    finally:
        tclient.stop()
        pclient.stop()


def test_the_coach_goes_on_while_the_relay_is_gone(sample) -> None:
    r = EmbeddedRelay(config=OPEN_LIMITS).start()
    session, tclient = cr.open_class(r.url, "Maya", sample.stroke.id)
    link = cr.InstructorLink(tclient)
    coach = class_coach(sample, sample.truth.body_frame(), link)
    img = np.full((H, W, 3), 90, np.uint8)
    try:
        r.stop()
        wait_for(lambda: tclient.state == "reconnecting", 10, "the loss is noticed")
        for i in range(20):
            assert coach.process(img, sample.timestamp(i)).shape == img.shape
        assert link.errors == 0 and not link.ended
        assert "reconnecting" in ui_class.relay_html(tclient.state)
    finally:
        tclient.stop()


def test_same_name_parents_get_separate_seats(relay) -> None:
    session, tclient = cr.open_class(relay.url, "Maya", "i-love-you")
    a1, c1 = cr.join_class(relay.url, session.code, "Ann")
    a2, c2 = cr.join_class(relay.url, session.code, "ann")
    try:
        assert (a1.name, a1.number) == ("Ann", 1) and (a2.name, a2.number) == ("ann (2)", 2)
        assert a1.token != a2.token and a1.token not in repr(a1)
        assert session.token not in repr(session)
        back, c3 = cr.resume_seat(relay.url, session.code, a1.token, "Ann")
        assert (back.name, back.number) == ("Ann", 1)
        c3.stop()
        with pytest.raises(cr.SeatNotFound):
            cr.resume_seat(relay.url, session.code, "x" * 32)
        with pytest.raises(cr.NotAllowed):
            cr.resume_instructor(relay.url, session.code, "y" * 32)
    finally:
        for c in (tclient, c1, c2):
            c.stop()


def test_an_unreachable_relay_is_said_in_one_line() -> None:
    from coach.relay.server import free_port

    old = cr.CONNECT_TIMEOUT_S
    cr.CONNECT_TIMEOUT_S = 1.0
    try:
        with pytest.raises(cr.RelayUnreachable) as err:
            cr.join_class(f"ws://127.0.0.1:{free_port()}/class", "ABCDE", "Ann")
    finally:
        cr.CONNECT_TIMEOUT_S = old
    assert "did not answer" in str(err.value) and "\n" not in str(err.value)


# -- the page (AppTest: no browser, no WebRTC) ----------------------------------------------------

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "4_Class.py")


@pytest.fixture()
def server(tmp_path, monkeypatch, relay) -> EmbeddedRelay:
    """A settings folder for the page and the relay it uses (COACH_RELAY_URL)."""
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COACH_RELAY_URL", relay.url)
    opened: list = []
    yield opened
    for at in opened:
        try:
            client = at.session_state[ui_class.CLIENT]
        except KeyError:
            continue
        if client is not None:
            client.stop(1.0)


def browser(server, **query) -> AppTest:
    """A new browser session on the class page (``query``: the address's parameters)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["coach_no_webrtc"] = True  # webrtc_streamer cannot run under AppTest
    for key, value in query.items():
        at.query_params[key] = value
    server.append(at)
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


def board_rows(at: AppTest, want: int | None = None) -> list[tuple[str, str]]:
    """(seat, status) of every row of the instructor's board (waits for ``want`` rows)."""

    def rows():
        at.run()
        found = re.findall(r'data-coach-seat="(\d+)" data-coach-status="(\w+)"', html_of(at))
        return found if want is None or len(found) == want else None

    return wait_for(rows, 10, f"{want} rows") if want is not None else rows()


def test_lobby_offers_both_roles_the_relay_and_the_safety_notes(server) -> None:
    at = browser(server)
    assert not at.exception
    assert at.radio(key="class_role").options == [ui_class.PARENT, ui_class.INSTRUCTOR]
    assert [t.label for t in at.text_input] == ["Class code", "Your name", "Relay address"]
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
    at = join_class(browser(server), code, name)
    assert not at.exception
    assert words in messages(at)
    assert dict(at.query_params) == {}


def test_instructor_opens_parents_join_and_the_board_lists_them(server) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    assert dict(teacher.query_params) == {"role": "instructor", "class": code}  # no key
    assert 'data-coach-board="0"' in html_of(teacher)
    assert 'data-coach-relay="connected"' in html_of(teacher)
    ann = join_class(browser(server), code.lower(), "Ann")
    ben = join_class(browser(server), code, "Ben")
    for at, seat in ((ann, 1), (ben, 2)):
        assert not at.exception
        assert f"class **{code}** with **Maya**, seat {seat}" in html_of(at)
        assert 'data-coach-relayed="0"' in html_of(at)
        assert "hasn't started their camera" in html_of(at)
    assert dict(ann.query_params) == {"role": "parent", "class": code}  # no name, no token
    assert board_rows(teacher, 2) == [("1", "joined"), ("2", "joined")]


def test_a_second_parent_with_the_same_name_gets_a_new_seat(server) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    join_class(browser(server), code, "Ann")
    again = join_class(browser(server), code, "Ann")
    assert "**Welcome, Ann (2)**" in html_of(again) and "seat 2" in html_of(again)
    assert [r[0] for r in board_rows(teacher, 2)] == ["1", "2"]


def test_a_reloaded_parent_page_resumes_its_seat_with_the_kept_token(server, monkeypatch) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    ann = join_class(browser(server), code, "Ann")
    join_class(browser(server), code, "Ben")
    seat = ann.session_state[ui_class.SEAT]
    ann.session_state[ui_class.CLIENT].report(status="tracking", last_score=77, repetitions=2)
    wait_for(lambda: 'data-coach-score="77"' in html_of(teacher.run()), 10, "Ann's score")
    # The reload: a fresh browser session with the same address and the cookie it kept.
    kept = ann.session_state["class_cookie"]
    assert kept["secret"] == seat.token and seat.token not in str(dict(ann.query_params))
    monkeypatch.setattr(ui_class, "remembered", lambda: dict(kept))
    again = browser(server, **dict(ann.query_params))
    assert not again.exception
    assert f"**Welcome back, Ann**: class **{code}** with **Maya**, seat 1." in html_of(again)
    assert again.session_state[ui_class.SEAT].token == seat.token
    assert [r[0] for r in board_rows(teacher, 2)] == ["1", "2"]
    assert 'data-coach-score="77"' in html_of(teacher)  # the row kept its score
    # The old page's connection was ended: one live connection a seat.
    wait_for(lambda: ann.session_state[ui_class.CLIENT].state == "ended", 10, "old page ended")


def test_an_address_without_a_kept_token_gets_no_seat(server) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    join_class(browser(server), code, "Ann")
    stranger = browser(server, role="parent", **{"class": code})  # the address, no cookie
    assert "holds no seat" in messages(stranger)
    assert stranger.text_input[0].value == code  # the code is filled in to join
    assert dict(stranger.query_params) == {}
    assert board_rows(teacher, 1) == [("1", "joined")]


def test_a_reloaded_instructor_page_resumes_the_class(server, monkeypatch) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    join_class(browser(server), code, "Ann")
    kept = teacher.session_state["class_cookie"]
    monkeypatch.setattr(ui_class, "remembered", lambda: dict(kept))
    again = browser(server, **dict(teacher.query_params))
    assert not again.exception
    assert f'data-coach-class-code="{code}"' in html_of(again)
    assert board_rows(again, 1) == [("1", "joined")]
    monkeypatch.setattr(ui_class, "remembered", lambda: {**kept, "secret": "g" * 32})
    stranger = browser(server, role="instructor", **{"class": code})
    assert "not its instructor's key" in messages(stranger)
    assert dict(stranger.query_params) == {}


def test_closing_the_class_sends_parents_back_to_the_lobby(server) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    ann = join_class(browser(server), code, "Ann")
    next(b for b in teacher.button if b.label == "Close the class").click().run()
    assert f"Class {code} is closed." in messages(teacher)

    def ended():
        ann.run()
        return "has ended" in messages(ann)

    wait_for(ended, 10, "Ann sees the end")
    assert [t.label for t in ann.text_input][:2] == ["Class code", "Your name"]
    late = join_class(browser(server), code, "Ben")
    assert "has ended" in messages(late)


def test_leaving_takes_the_row_off_the_board(server) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    ann = join_class(browser(server), code, "Ann")
    join_class(browser(server), code, "Ben")
    board_rows(teacher, 2)
    next(b for b in ann.button if b.label == "Leave the class").click().run()
    assert dict(ann.query_params) == {}
    assert board_rows(teacher, 1) == [("2", "joined")]


def test_the_instructor_changes_the_stroke_for_everyone(server) -> None:
    teacher = browser(server)
    code = open_class(teacher)
    ann = join_class(browser(server), code, "Ann")
    assert ann.session_state[ui_class.LIVE].stroke.id == "i-love-you"
    teacher.selectbox(key="class_stroke").select("sun").run()
    assert not teacher.exception
    assert teacher.session_state[ui_class.LIVE].stroke.id == "sun"

    def switched():
        ann.run()
        return ann.session_state[ui_class.LIVE].stroke.id == "sun"

    wait_for(switched, 10, "Ann's stroke")


def test_the_relay_address_is_saved_from_the_lobby(server, tmp_path) -> None:
    at = browser(server)
    at.text_input(key="class_relay_address").input("http://nope")
    next(b for b in at.button if b.label == "Use this relay").click().run()
    assert "ws://HOST:PORT" in messages(at)
    at.text_input(key="class_relay_address").input("ws://127.0.0.1:9/class")
    next(b for b in at.button if b.label == "Use this relay").click().run()
    assert cr.load_relay_address(tmp_path / "data") == "ws://127.0.0.1:9/class"


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        # (cookie as the browser sends it, what the page reads)
        (ui_class.cookie_value({"role": "parent", "code": "ABCDE", "secret": "t" * 32}),
         {"role": "parent", "code": "ABCDE", "secret": "t" * 32}),  # what the page wrote
        (ui_class.cookie_value({"name": "Zoë; x=1"}), {"name": "Zoë; x=1"}),  # ; and non-ASCII
        ("%7Bnot json", {}),  # damaged
        ("%5B1%2C2%5D", {}),  # JSON, not an object
        ("x" * 3000, {}),  # far too long
        (None, {}),  # no cookie
    ],
)  # fmt: skip
def test_the_class_cookie_round_trip(raw, want) -> None:
    assert ui_class.parse_cookie(raw) == want
    assert ";" not in ui_class.cookie_value({"name": "a;b"})  # one cookie, whatever the name


def test_relay_html_says_the_connection_state() -> None:
    assert 'data-coach-relay="connected"' in ui_class.relay_html("connected")
    lost = ui_class.relay_html("reconnecting")
    assert "Coaching goes on here" in lost and 'data-coach-relay="reconnecting"' in lost


def test_board_html_rows_words_and_escaping() -> None:
    rows = [
        cr.Row(1, "Ann <b>", "tracking", "i-love-you", "Rep 2 - Letter L (2/3)", 81,
               ("too_fast", "jerky"), 2, True, 0),
        cr.Row(2, "Ben", "away", "i-love-you", "", None, (), 0, False, 1),
        cr.Row(3, "Cleo", "tracking", "i-love-you", "", 95, (), 1, True, 0),
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
    g = Guide("ABCDE", "Maya", "i-love-you", np.zeros((0, 3)), 1, label, 2, status, idle_s, 5)
    out = ui_class.follow_html(g, 42)
    assert words in out and 'data-coach-relayed="42"' in out


def test_the_built_in_relay_opens_to_the_network_only_when_asked() -> None:
    """'network' starts the built-in relay on every interface (parents on this network
    join it); the default built-in relay stays on loopback. Both serve a class."""
    import json as _json
    import urllib.request

    local = cr.embedded_relay_url()
    assert local.startswith("ws://127.0.0.1:")
    if cr._NETWORK_RELAY is None:
        assert cr.network_relay_addresses() == []  # nothing open to the network yet
    url = cr.network_relay_url()
    try:
        assert cr._NETWORK_RELAY.host == "0.0.0.0"  # every interface: the explicit choice
        assert cr._EMBEDDED.host == "127.0.0.1"  # the default one is untouched
        port = cr._NETWORK_RELAY.port
        assert url == f"ws://127.0.0.1:{port}/class"
        shared = cr.network_relay_addresses()
        assert shared and all(
            a.startswith("ws://") and a.endswith(f":{port}/class") for a in shared
        )
        assert not any("127." in a for a in shared)
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
        assert _json.loads(health)
        session, tclient = cr.open_class(url, "Maya", "sun")
        seat, pclient = cr.join_class(url, session.code, "Ann")
        assert seat.name == "Ann"
        tclient.stop()
        pclient.stop()
    finally:
        relay, cr._NETWORK_RELAY = cr._NETWORK_RELAY, None
        if relay is not None:
            relay.stop()
