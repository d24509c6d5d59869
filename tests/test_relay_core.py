"""The class relay's rules on the in-memory backend, without a network.

Protocol checks (tables of good and bad messages, a hypothesis test throwing hostile
frames at the parser and at the relay), and the relay's rules: seats by secret token,
same-name parents on separate seats, rate limits, the instructor's key, who hears what.
A fake clock makes every rate limit hand-computable. The same rules over real
WebSockets and on Redis: tests/test_relay_server.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.relay import protocol as p
from coach.relay.hub import CLOSE, Bucket, Relay, RelayConfig
from coach.relay.state import MemoryState, digest


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def run(coro):
    return asyncio.run(coro)


def out(session) -> list[dict]:
    """Messages queued for a session (CLOSE shown as {"type": "<close>"})."""
    return [{"type": "<close>"} if m is CLOSE else json.loads(m) for m in session.pending()]


def make(config: RelayConfig | None = None, clock: Clock | None = None) -> tuple[Relay, Clock]:
    clock = clock or Clock()
    return Relay(MemoryState(clock=clock), config or RelayConfig(), clock=clock), clock


async def say(relay: Relay, s, **msg) -> list[dict]:
    await relay.handle(s, json.dumps(msg))
    return out(s)


async def open_class(relay: Relay, address: str = "10.0.0.1", name: str = "Mia"):
    s = relay.connect(address)
    got = await say(relay, s, type="open", name=name, stroke_id="i-love-you")
    assert [m["type"] for m in got] == ["opened", "welcome"], got
    return s, got[0]["code"], got[0]["key"]


async def join(relay: Relay, code: str, name: str, address: str = "10.0.1.1"):
    s = relay.connect(address)
    got = await say(relay, s, type="join", code=code, name=name)
    welcome = next(m for m in got if m["type"] == "welcome")
    return s, welcome


# -- protocol -------------------------------------------------------------------------------------


GOOD = [
    # (frame, record)
    ('{"type":"open","name":"  Mia  Lee ","stroke_id":"i-love-you"}',
     p.Open("Mia Lee", "i-love-you")),  # spaces trimmed and collapsed
    ('{"type":"join","code":"ab-c2d","name":"Ann"}', p.Join("ABC2D", "Ann")),  # code normalised
    ('{"type":"ping"}', p.Simple("ping")),
    ('{"type":"path","points":[[1.5,0.25,-0.5],[1.6,null,null]]}',
     p.Path(((1.5, 0.25, -0.5), (1.6, None, None)), None, "", 0)),  # a lift: no (u, v)
    ('{"type":"report","row":{"last_score":100,"flags":["too_fast"]}}',
     p.Report(None, None, None, 100, ("too_fast",), None)),
    (b'{"type":"stroke","stroke_id":"sun-moon"}', p.Stroke("sun-moon")),  # bytes frame
]  # fmt: skip


@pytest.mark.parametrize("frame,record", GOOD)
def test_good_messages_parse(frame, record) -> None:
    assert p.parse(frame) == record


BAD = [
    # (frame, words the one-line error must contain)
    ("not json", "not JSON"),
    ("[1,2]", "JSON object"),
    ('{"type":"fly"}', "expected a type among"),
    ('{"type":"join","code":"ABC0D","name":"Ann"}', "never 0, O"),  # 0 is not in the alphabet
    ('{"type":"join","code":"ABC2D","name":""}', "1..32 characters"),
    ('{"type":"join","code":"ABC2D","name":"A\\u001b[31m"}', "printable"),  # ESC
    ('{"type":"join","code":"ABC2D","name":"Ann","x":1}', "unexpected field"),
    ('{"type":"seat","code":"ABC2D","token":"short"}', "token the relay gave you"),
    ('{"type":"path","points":[[1,0,Infinity]]}', "finite"),
    ('{"type":"path","points":[[1,0,101]]}', "within"),  # far outside the tummy box
    ('{"type":"path","points":[[1,0]]}', "[t_s, u, v]"),
    ('{"type":"path","points":' + json.dumps([[i, 0, 0] for i in range(61)]) + "}", "at most 60"),
    ('{"type":"report","row":{"last_score":101}}', "0..100"),
    ('{"type":"report","row":{"last_score":true}}', "whole number"),
    ('{"type":"report","row":{"repetitions":' + "9" * 400 + "}}", "15 digits"),
    ('{"type":"ping","pad":"' + "x" * 9000 + '"}', "at most 8192 bytes"),
    ("[" * 5000 + "]" * 5000, "bytes"),  # deep nesting: over the size limit first
    ("[" * 3000 + "]" * 3000, "JSON"),  # deep nesting within the limit
    (b"\xff\xfe", "UTF-8"),
]


@pytest.mark.parametrize("frame,words", BAD)
def test_bad_messages_give_one_line(frame, words) -> None:
    with pytest.raises(p.ProtocolError) as err:
        p.parse(frame)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_a_wrong_secret_is_not_echoed() -> None:
    with pytest.raises(p.ProtocolError) as err:
        p.parse('{"type":"instructor","code":"ABC2D","key":"my secret key!"}')
    assert "secret" not in str(err.value)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda kids: (
        st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=12), kids, max_size=5)
    ),
    max_leaves=30,
)
FIELDS = st.sampled_from(
    ["type", "code", "name", "key", "token", "points", "row", "segment", "label", "stroke_id"]
)
TYPES = st.sampled_from(list(p.CLIENT_TYPES) + ["", "welcome", "path "])
HOSTILE = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    st.builds(
        lambda t, d: json.dumps({"type": t, **d}),
        TYPES,
        st.dictionaries(FIELDS, JSONISH, max_size=4),
    ),
    st.builds(lambda d: json.dumps(d), JSONISH),
)


@settings(max_examples=600, deadline=None)
@given(HOSTILE)
def test_hostile_frames_never_raise_anything_but_a_protocol_error(frame) -> None:
    try:
        p.parse(frame)
    except p.ProtocolError as exc:
        assert "\n" not in str(exc)


def _ends_something(frame) -> bool:
    """A well-formed close or leave (ends the class or the seat: not hostile)."""
    try:
        return p.parse(frame) in (p.Simple("close"), p.Simple("leave"))
    except p.ProtocolError:
        return False


@settings(max_examples=150, deadline=None)
@given(st.lists(HOSTILE, min_size=1, max_size=8))
def test_hostile_frames_never_break_the_relay(frames) -> None:
    async def go():
        relay, _ = make()
        s, code, key = await open_class(relay)
        parent, _ = await join(relay, code, "Ann")
        out(s)
        for f in frames:
            if _ends_something(f):
                continue
            await relay.handle(parent, f)
            await relay.handle(s, f)
        # Both still work afterwards.
        await relay.handle(s, json.dumps({"type": "ping"}))
        assert any(m["type"] == "board" for m in out(s))

    run(go())


# -- rate limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "steps,expected",
    [
        # (list of (seconds later, asked), granted each time); 60 a second, 60 saved at most
        ([(0, 60), (0, 1)], [60, 0]),  # the first second's worth at once, then nothing
        ([(0, 60), (0.5, 60)], [60, 30]),  # half a second refills 30
        ([(0, 10), (10, 100)], [10, 60]),  # never more than 60 saved
    ],
)
def test_bucket(steps, expected) -> None:
    clock = Clock(0)
    b = Bucket(60, 60, clock)
    got = []
    for dt, n in steps:
        clock.t += dt
        got.append(b.take(n))
    assert got == expected


def test_instructor_path_is_capped_at_60_points_a_second() -> None:
    async def go():
        relay, clock = make()
        s, code, _ = await open_class(relay)
        parent, _ = await join(relay, code, "Ann")
        out(parent)
        for i in range(3):  # 3 messages of 40 points at once: 60 pass, 60 dropped
            await say(relay, s, type="path", points=[[i + k / 100, 0.1, 0.2] for k in range(40)])
        got = [m for m in out(parent) if m["type"] == "path"]
        assert [len(m["points"]) for m in got] == [40, 20]
        assert s.points_dropped == 60
        clock.t += 0.5  # 30 more
        await say(relay, s, type="path", points=[[9 + k / 100, 0.1, 0.2] for k in range(40)])
        assert [len(m["points"]) for m in out(parent) if m["type"] == "path"] == [30]

    run(go())


def test_joins_are_limited_per_client_and_per_class() -> None:
    async def go():
        cfg = RelayConfig(joins_per_client=(3, 60.0), joins_per_class=(5, 60.0))
        relay, clock = make(cfg)
        _, code, _ = await open_class(relay)
        words = []
        for i in range(4):  # one client: 3 pass, the 4th is refused
            s = relay.connect("10.9.9.9")
            got = await say(relay, s, type="join", code=code, name=f"P{i}")
            words.append(got[0].get("error", got[0]["type"]))
        assert words == ["welcome", "welcome", "welcome", "rate_limited"]
        words = []
        for i in range(3):  # other clients: the class takes 5 a minute, 3 were used
            s = relay.connect(f"10.8.0.{i}")
            got = await say(relay, s, type="join", code=code, name=f"Q{i}")
            words.append(got[0].get("error", got[0]["type"]))
        assert words == ["welcome", "welcome", "rate_limited"]
        clock.t += 61  # a new window
        s = relay.connect("10.9.9.9")
        assert (await say(relay, s, type="join", code=code, name="Late"))[0]["type"] == "welcome"

    run(go())


def test_wrong_codes_are_limited_per_client() -> None:
    async def go():
        relay, _ = make(RelayConfig(joins_per_client=(10, 60.0)))
        words = []
        for _ in range(12):
            s = relay.connect("10.9.9.9")
            got = await say(relay, s, type="join", code="ZZZZZ", name="Eve")
            words.append(got[0]["error"])
        assert words == ["no_class"] * 10 + ["rate_limited"] * 2

    run(go())


def test_one_client_cannot_fill_the_relay_with_classes() -> None:
    async def go():
        relay, _ = make(RelayConfig(max_classes_per_client=2, max_classes=3))
        for _ in range(2):
            await open_class(relay, "10.0.0.1")
        s = relay.connect("10.0.0.1")
        got = await say(relay, s, type="open", name="Mia", stroke_id="i-love-you")
        assert got[0]["error"] == "full" and "2 classes" in got[0]["message"]
        await open_class(relay, "10.0.0.2")  # another instructor: the 3rd class
        s = relay.connect("10.0.0.3")
        got = await say(relay, s, type="open", name="Zoe", stroke_id="i-love-you")
        assert got[0]["error"] == "full" and "relay" in got[0]["message"]

    run(go())


def test_opens_are_rate_limited_per_client() -> None:
    async def go():
        relay, _ = make(RelayConfig(opens_per_client=(2, 600.0), max_classes_per_client=10))
        words = []
        for _ in range(3):
            s = relay.connect("10.0.0.1")
            got = await say(relay, s, type="open", name="Mia", stroke_id="i-love-you")
            words.append(got[0].get("error", got[0]["type"]))
        assert words == ["opened", "opened", "rate_limited"]

    run(go())


def test_messages_over_the_rate_are_dropped_with_one_warning_a_second() -> None:
    async def go():
        relay, clock = make(RelayConfig(messages_per_s=10, message_burst=10))
        s, code, _ = await open_class(relay)  # the open used 1 of 10
        for _ in range(12):
            await relay.handle(s, '{"type":"ping"}')
        got = out(s)
        assert [m["type"] for m in got].count("board") == 9
        assert [m.get("error") for m in got if m["type"] == "error"] == ["rate_limited"]

    run(go())


# -- seats and keys -------------------------------------------------------------------------------


def test_same_name_parents_get_separate_seats() -> None:
    async def go():
        relay, _ = make()
        teacher, code, _ = await open_class(relay)
        a1, w1 = await join(relay, code, "Ann")
        a2, w2 = await join(relay, code, "ann ")  # same name, other case: a new seat
        a3, w3 = await join(relay, code, "Ann", address="10.0.1.2")
        assert [w["seat"]["name"] for w in (w1, w2, w3)] == ["Ann", "ann (2)", "Ann (3)"]
        assert [w["seat"]["number"] for w in (w1, w2, w3)] == [1, 2, 3]
        assert len({w1["token"], w2["token"], w3["token"]}) == 3
        # The second Ann's report changes only her own row.
        out(teacher)
        await say(relay, a2, type="report", row={"last_score": 55})
        board = await say(relay, teacher, type="ping")
        scores = {r["name"]: r["last_score"] for r in board[-1]["rows"]}
        assert scores == {"Ann": None, "ann (2)": 55, "Ann (3)": None}

    run(go())


def test_a_seat_is_resumed_only_with_its_token() -> None:
    async def go():
        relay, _ = make()
        _, code, _ = await open_class(relay)
        ann, w = await join(relay, code, "Ann")
        await say(relay, ann, type="report", row={"last_score": 80, "repetitions": 2})
        await relay.disconnect(ann)
        back = relay.connect("10.0.1.1")
        got = await say(relay, back, type="seat", code=code, token=w["token"])
        welcome = got[0]
        assert welcome["rejoined"] and "token" not in welcome
        assert welcome["seat"]["number"] == 1 and welcome["seat"]["last_score"] == 80
        thief = relay.connect("10.0.1.9")
        got = await say(relay, thief, type="seat", code=code, token="x" * 32)
        assert got[0]["error"] == "seat_gone"
        # Joining with her name is a new seat, never hers.
        _, w2 = await join(relay, code, "Ann", address="10.0.1.9")
        assert w2["seat"]["number"] == 2 and w2["seat"]["last_score"] is None

    run(go())


def test_the_instructor_key_is_needed_to_come_back() -> None:
    async def go():
        relay, _ = make()
        _, code, key = await open_class(relay)
        s = relay.connect("10.0.0.1")
        assert (await say(relay, s, type="instructor", code=code, key="y" * 32))[0][
            "error"
        ] == "not_allowed"
        got = await say(relay, s, type="instructor", code=code, key=key)
        assert got[0]["type"] == "welcome" and got[0]["role"] == "instructor"

    run(go())


def test_no_secret_is_stored_as_given() -> None:
    async def go():
        relay, _ = make()
        _, code, key = await open_class(relay)
        _, w = await join(relay, code, "Ann")
        rec = await relay.state.get_class(code)
        assert rec.key_digest == digest(key) and key not in repr(rec)
        rows = await relay.state.rows(code)
        assert list(rows) == [digest(w["token"])]

    run(go())


# -- who hears what -------------------------------------------------------------------------------


def test_parents_hear_the_path_and_their_own_row_only() -> None:
    async def go():
        relay, _ = make()
        teacher, code, _ = await open_class(relay)
        ann, _ = await join(relay, code, "Ann")
        ben, _ = await join(relay, code, "Ben", address="10.0.1.2")
        for s in (teacher, ann, ben):
            out(s)
        report = {"type": "report", "row": {"status": "tracking", "last_score": 70}}
        await relay.handle(ann, json.dumps(report))
        path = {"type": "path", "points": [[1.0, 0.5, 0.5]], "segment": 1, "label": "L"}
        await relay.handle(teacher, json.dumps(path))
        got_ann, got_ben, got_teacher = out(ann), out(ben), out(teacher)
        assert [m["type"] for m in got_ann] == ["row", "path"]
        assert got_ann[0]["row"]["name"] == "Ann"
        assert [m["type"] for m in got_ben] == ["path"]  # not Ann's row
        assert got_ben[0]["points"] == [[1.0, 0.5, 0.5]] and got_ben[0]["label"] == "L"
        assert [m["type"] for m in got_teacher] == ["row"]  # the board, not its own path
        assert "seen_at" not in got_teacher[0]["row"]

    run(go())


@pytest.mark.parametrize(
    "who,message,error",
    [
        # a parent cannot act as the instructor ...
        ("parent", {"type": "path", "points": [[1, 0, 0]]}, "not_allowed"),
        ("parent", {"type": "stroke", "stroke_id": "sun-moon"}, "not_allowed"),
        ("parent", {"type": "close"}, "not_allowed"),
        # ... nor the instructor as a parent
        ("instructor", {"type": "report", "row": {"last_score": 1}}, "not_allowed"),
        # nothing before a hello
        ("nobody", {"type": "report", "row": {"last_score": 1}}, "bad_message"),
        # one hello a connection
        ("parent", {"type": "join", "code": "ABCDE", "name": "Zed"}, "bad_message"),
    ],
)
def test_roles(who, message, error) -> None:
    async def go():
        relay, _ = make()
        teacher, code, _ = await open_class(relay)
        parent, _ = await join(relay, code, "Ann")
        s = {"instructor": teacher, "parent": parent, "nobody": relay.connect("10.5.5.5")}[who]
        out(s)
        got = await say(relay, s, **message)
        assert got[0]["error"] == error

    run(go())


def test_closing_ends_the_class_for_everyone_and_the_code_says_so() -> None:
    async def go():
        relay, _ = make()
        teacher, code, _ = await open_class(relay)
        ann, w = await join(relay, code, "Ann")
        out(ann)
        await say(relay, teacher, type="close")
        assert [m["type"] for m in out(ann)] == ["ended", "<close>"]
        s = relay.connect("10.0.1.1")
        got = await say(relay, s, type="seat", code=code, token=w["token"])
        assert got[0]["error"] == "ended" and "closed by the instructor" in got[0]["message"]

    run(go())


def test_leaving_removes_the_row_and_tells_the_instructor() -> None:
    async def go():
        relay, _ = make()
        teacher, code, _ = await open_class(relay)
        ann, _ = await join(relay, code, "Ann")
        out(teacher)
        await say(relay, ann, type="leave")
        assert [m["type"] for m in out(teacher)] == ["gone"]
        assert (await say(relay, teacher, type="ping"))[-1]["rows"] == []

    run(go())


def test_a_disconnected_parent_shows_as_away_and_comes_back() -> None:
    async def go():
        relay, clock = make()
        teacher, code, _ = await open_class(relay)
        ann, w = await join(relay, code, "Ann")
        await relay.disconnect(ann)
        rows = (await say(relay, teacher, type="ping"))[-1]["rows"]
        assert rows[0]["status"] == "away" and not rows[0]["online"]
        back = relay.connect("10.0.1.1")
        await say(relay, back, type="seat", code=code, token=w["token"])
        rows = (await say(relay, teacher, type="ping"))[-1]["rows"]
        assert rows[0]["online"] and rows[0]["rejoins"] == 1

    run(go())


def test_a_silent_seat_shows_as_away_after_the_timeout() -> None:
    async def go():
        relay, clock = make(RelayConfig(away_after_s=15.0))
        teacher, code, _ = await open_class(relay)
        await join(relay, code, "Ann")
        clock.t += 14.0
        assert (await say(relay, teacher, type="ping"))[-1]["rows"][0]["online"]
        clock.t += 2.0  # 16 s since Ann was last heard from
        assert (await say(relay, teacher, type="ping"))[-1]["rows"][0]["status"] == "away"

    run(go())


def test_a_class_without_its_instructor_expires() -> None:
    async def go():
        relay, clock = make(RelayConfig(class_ttl_s=100.0))
        _, code, _ = await open_class(relay)
        clock.t += 101.0
        s = relay.connect("10.0.1.1")
        got = await say(relay, s, type="join", code=code, name="Ann")
        assert got[0]["error"] == "ended"

    run(go())


def test_a_seat_opened_again_ends_the_older_connection() -> None:
    async def go():
        relay, _ = make()
        teacher, code, key = await open_class(relay)
        ann, w = await join(relay, code, "Ann")
        again = relay.connect("10.0.1.1")  # a reloaded page
        got = await say(relay, again, type="seat", code=code, token=w["token"])
        assert got[0]["type"] == "welcome"
        assert [m["type"] for m in out(ann)][-2:] == ["ended", "<close>"]
        await relay.disconnect(ann)  # the old one going away leaves the seat online
        rows = (await say(relay, teacher, type="ping"))[-1]["rows"]
        assert rows[0]["online"]
        # The instructor too.
        t2 = relay.connect("10.0.0.1")
        await say(relay, t2, type="instructor", code=code, key=key)
        assert [m["type"] for m in out(teacher)][-2:] == ["ended", "<close>"]

    run(go())


@pytest.mark.parametrize(
    "report,later_s,status",
    [
        # (what the parent reported, seconds later the board is read, status shown)
        ({"status": "tracking"}, 1.0, "tracking"),  # fresh
        ({"status": "tracking"}, 5.0, "camera_off"),  # no video report for over 4 s
        ({"last_score": 50}, 5.0, "joined"),  # never started the video: still "joined"
    ],
)
def test_camera_off_when_status_reports_stop(report, later_s, status) -> None:
    async def go():
        relay, clock = make(RelayConfig(status_stale_s=4.0, away_after_s=15.0))
        teacher, code, _ = await open_class(relay)
        ann, _ = await join(relay, code, "Ann")
        await say(relay, ann, type="report", row=report)
        clock.t += later_s
        assert (await say(relay, teacher, type="ping"))[-1]["rows"][0]["status"] == status

    run(go())


def test_waiting_messages_go_out_as_one_batch() -> None:
    async def go():
        relay, _ = make()
        s = relay.connect("10.0.0.1")
        for i in range(3):
            s.send({"type": "pong", "i": i})
        one = json.loads(await s.take_batch())
        assert one == {"type": "batch", "messages": [{"type": "pong", "i": i} for i in range(3)]}
        s.send({"type": "pong"})
        assert json.loads(await s.take_batch()) == {"type": "pong"}  # alone: as it is
        for _ in range(3):
            s.send({"type": "pong", "pad": "x" * 100})
        first, second = [json.loads(await s.take_batch(max_bytes=300)) for _ in range(2)]
        assert len(first["messages"]) == 2  # a batch stays under its size (3 would be ~420)
        assert second["type"] == "pong"  # the rest, alone
        s.send({"type": "pong"})
        s.push(CLOSE)
        assert json.loads(await s.take_batch()) == {"type": "pong"}  # e.g. "ended" goes first
        assert await s.take_batch() is CLOSE  # then the close, never inside a batch

    run(go())
