"""The class relay over real WebSockets: real relay processes on loopback, on the in-memory
backend and on a private Redis (``backend`` fixture), with the real client
(:class:`coach.relay.client.RelayClient`: reconnect, backoff, resume by token).

Redis cases need Debian's ``redis-server`` (``make redis-deps``): without it they skip
and say why, except on CI (CI=true), where they fail. Fault tests: a relay killed
mid-class and started again, Redis restarted, a client's connection dropped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from coach.relay.client import CONNECTED, ENDED, RelayClient
from coach.relay.local_redis import LocalRedis, RedisUnavailable
from coach.relay.process import RelayProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis_server():
    try:
        server = LocalRedis().start()
    except RedisUnavailable as exc:
        if os.environ.get("CI") == "true":  # CI installs redis-server (make redis-deps)
            pytest.fail(f"Redis relay tests cannot run on CI: {exc}")
        pytest.skip(f"Redis relay tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def backend(request, tmp_path):
    """A factory of relay processes on one backend; all stopped after the test."""
    url = None
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        import redis

        redis.Redis.from_url(server.url).flushall()
        url = server.url
    started: list[RelayProcess] = []

    def start(port: int | None = None) -> RelayProcess:
        r = RelayProcess(url, port=port, log_path=tmp_path / f"relay-{len(started)}.log")
        started.append(r.start())
        return r

    start.name = request.param
    start.redis_url = url
    start.logs = lambda: "".join(p.read_text() for p in tmp_path.glob("relay-*.log"))
    yield start
    for r in started:
        r.stop()


def wait_for(what: Callable[[], object], timeout_s: float = 15.0, label: str = "") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {label or what}")


def clients_for_a_class(relay_url: str, parent_url: str | None = None, names=("Ann", "Ben")):
    teacher = RelayClient(relay_url, {"type": "open", "name": "Mia", "stroke_id": "i-love-you"},
                          ping_every_s=0.5).start()  # fmt: skip
    assert teacher.wait_connected(15), teacher.snapshot()
    code = teacher.snapshot().code
    parents = []
    for name in names:
        c = RelayClient(parent_url or relay_url, {"type": "join", "code": code, "name": name},
                        ping_every_s=0.5).start()  # fmt: skip
        assert c.wait_connected(15), c.snapshot()
        parents.append(c)
    return teacher, code, parents


def stop_all(*clients) -> None:
    for c in clients:
        c.stop()


def send_path_until(teacher: RelayClient, parents, label: str = "path") -> None:
    """The instructor sends points until every parent has more than before."""
    before = [p.snapshot().relayed for p in parents]
    t = time.time()

    def arrived():
        nonlocal t
        t += 0.05
        teacher.send_path(t, (0.1, 0.2), segment=0, label="I")
        time.sleep(0.05)
        return all(p.snapshot().relayed > b for p, b in zip(parents, before, strict=True))

    wait_for(arrived, label=label)


def first_message(raw: str) -> dict:
    """The first message of a frame (messages that queued up come as one batch)."""
    m = json.loads(raw)
    return m["messages"][0] if m.get("type") == "batch" else m


def board_scores(teacher: RelayClient) -> dict[str, int | None]:
    return {r["name"]: r["last_score"] for r in teacher.snapshot().board}


# -- the class over the network -------------------------------------------------------------------


def test_a_class_through_a_relay(backend) -> None:
    relay = backend()
    teacher, code, (ann, ben) = clients_for_a_class(relay.url)
    try:
        send_path_until(teacher, [ann, ben])
        snap = ann.snapshot()
        assert snap.points[-1][1:] == (0.1, 0.2) and snap.label == "I"
        assert snap.instructor == "Mia" and snap.seat["name"] == "Ann"
        ann.report(status="tracking", last_score=72, flags=["too_fast"], repetitions=1)
        wait_for(lambda: board_scores(teacher) == {"Ann": 72, "Ben": None}, label="board")
        time.sleep(0.3)
        assert ben.snapshot().seat["last_score"] is None  # Ben never hears Ann's row
        assert [r["number"] for r in teacher.snapshot().board] == [1, 2]
        assert teacher.snapshot().relayed == 0  # the instructor gets the board, not the path
    finally:
        stop_all(teacher, ann, ben)


def test_same_name_parents_get_two_seats_over_the_network(backend) -> None:
    relay = backend()
    teacher, code, (a1, a2) = clients_for_a_class(relay.url, names=("Ann", "Ann"))
    try:
        assert a1.snapshot().seat["name"] == "Ann" and a2.snapshot().seat["name"] == "Ann (2)"
        assert a1.token != a2.token
        wait_for(lambda: len(teacher.snapshot().board) == 2, label="two rows")
    finally:
        stop_all(teacher, a1, a2)


def test_a_dropped_connection_comes_back_to_the_same_seat(backend) -> None:
    relay = backend()
    teacher, code, (ann, ben) = clients_for_a_class(relay.url)
    try:
        ann.report(status="tracking", last_score=64, repetitions=2)
        wait_for(lambda: board_scores(teacher).get("Ann") == 64, label="Ann's score")
        token = ann.token
        ann.drop_connection()
        wait_for(lambda: ann.snapshot().connects >= 2 and ann.state == CONNECTED, label="resume")
        assert ann.token == token and ann.snapshot().seat["number"] == 1
        send_path_until(teacher, [ann, ben], "path after the drop")
        assert [r["name"] for r in teacher.snapshot().board] == ["Ann", "Ben"]
        assert board_scores(teacher)["Ann"] == 64
    finally:
        stop_all(teacher, ann, ben)


def test_joins_from_one_address_are_rate_limited(backend) -> None:
    from websockets.sync.client import connect

    relay = backend()
    teacher, code, _ = clients_for_a_class(relay.url, names=())
    words = []
    try:
        for i in range(12):  # the default: 10 joins a minute from one address
            with connect(relay.url) as ws:
                ws.send(json.dumps({"type": "join", "code": code, "name": f"P{i}"}))
                m = first_message(ws.recv(5))
                words.append(m.get("error", m["type"]))
        assert words == ["welcome"] * 10 + ["rate_limited"] * 2
    finally:
        stop_all(teacher)


def test_an_oversized_or_hostile_frame_is_refused_and_the_relay_goes_on(backend) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    relay = backend()
    with connect(relay.url) as ws:
        ws.send('{"type":"join","code":"ABCDE","name":"\\u001b[2J"}')
        m = first_message(ws.recv(5))
        assert m["error"] == "bad_message" and "printable" in m["message"]
        ws.send("x" * 100_000)  # over the frame limit: the relay closes the connection
        with pytest.raises(ConnectionClosed):
            for _ in range(3):
                ws.recv(5)
    assert relay.health()["ok"]


def test_health_and_logs_show_no_secret(backend) -> None:
    relay = backend()
    teacher, code, (ann,) = clients_for_a_class(relay.url, names=("Ann",))
    try:
        ann.drop_connection()
        wait_for(lambda: ann.snapshot().connects >= 2, label="resume")
        health = json.dumps(relay.health())
        assert code not in health and "Ann" not in health
    finally:
        stop_all(teacher, ann)
    relay.stop()
    logs = backend.logs()
    assert teacher.key not in logs and ann.token not in logs and code not in logs


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_a_killed_relay_restarted_with_redis_loses_no_one(backend) -> None:
    relay = backend()
    teacher, code, (ann, ben) = clients_for_a_class(relay.url)
    try:
        ann.report(status="tracking", last_score=81, repetitions=3)
        ben.report(status="tracking", last_score=47, repetitions=1)
        wait_for(lambda: board_scores(teacher) == {"Ann": 81, "Ben": 47}, label="scores")
        relay.kill()
        wait_for(lambda: teacher.state != CONNECTED and ann.state != CONNECTED, label="loss")
        backend(port=relay.port)  # the same address, a new process
        for c in (teacher, ann, ben):
            wait_for(lambda c=c: c.state == CONNECTED and c.snapshot().connects >= 2, 30, "back")
        assert board_scores(teacher) == {"Ann": 81, "Ben": 47}
        assert [r["number"] for r in teacher.snapshot().board] == [1, 2]
        send_path_until(teacher, [ann, ben], "path after the restart")
    finally:
        stop_all(teacher, ann, ben)


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_killed_relay_in_memory_ends_the_class_clearly(backend) -> None:
    relay = backend()
    teacher, code, (ann,) = clients_for_a_class(relay.url, names=("Ann",))
    try:
        relay.kill()
        backend(port=relay.port)
        wait_for(lambda: ann.state == ENDED and teacher.state == ENDED, 30, "ended")
        assert code in ann.snapshot().ended_why and "No open class" in ann.snapshot().ended_why
    finally:
        stop_all(teacher, ann)


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_redis_restarting_makes_relays_reconnect_not_crash(backend, redis_server) -> None:
    relay = backend()
    teacher, code, (ann, ben) = clients_for_a_class(relay.url)
    try:
        ann.report(status="tracking", last_score=90, repetitions=1)
        wait_for(lambda: board_scores(teacher).get("Ann") == 90, label="score")
        time.sleep(1.2)  # appendfsync everysec
        redis_server.restart(down_s=1.0)
        assert relay.proc.poll() is None, "the relay process ended"
        ben.report(status="tracking", last_score=55, repetitions=1)
        send_path_until(teacher, [ann, ben], "path after the Redis restart")
        wait_for(lambda: board_scores(teacher) == {"Ann": 90, "Ben": 55}, 20, "both rows")
    finally:
        stop_all(teacher, ann, ben)


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_two_relays_share_a_class_through_redis(backend) -> None:
    a, b = backend(), backend()
    teacher, code, (ann, ben) = clients_for_a_class(a.url, parent_url=b.url)
    try:
        send_path_until(teacher, [ann, ben], "path from relay A to parents on relay B")
        ann.report(status="tracking", last_score=77, repetitions=1)
        wait_for(lambda: board_scores(teacher).get("Ann") == 77, label="row from B to A")
        # Ann moves to relay A (a load balancer may send her anywhere): same seat.
        a.kill()
        wait_for(lambda: teacher.state != CONNECTED, label="teacher lost A")
        teacher2 = RelayClient(b.url, {"type": "instructor", "code": code, "key": teacher.key},
                               ping_every_s=0.5).start()  # fmt: skip
        assert teacher2.wait_connected(15)
        assert board_scores(teacher2) == {"Ann": 77, "Ben": None}
        send_path_until(teacher2, [ann, ben], "path through relay B alone")
        teacher2.stop()
    finally:
        stop_all(teacher, ann, ben)


# -- the command ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,status,words",
    [
        (["--port", "0"], 2, "--port"),  # out of range
        (["--host", "example.org"], 2, "IP address"),  # a name, not an address
        (["--certfile", "c.pem"], 2, "both or neither"),
        (["--redis-url", "http://x"], 2, "redis://"),
        (["--certfile", "/nonexistent/c.pem", "--keyfile", "/nonexistent/k.pem"], 1, "cannot read"),
        (["bench", "--parents", "0"], 2, "--parents"),
        (["bench", "--seconds", "999"], 2, "--seconds"),
    ],
)
def test_relay_command_usage_errors(args, status, words) -> None:
    proc = subprocess.run([sys.executable, "-m", "coach", "relay", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == status, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_the_redis_password_is_never_printed(tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "coach.relay", "--port", "1", "--redis-url",
         "redis://user:hunter2@127.0.0.1:9/0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert "hunter2" not in out and "127.0.0.1:9" in out


def test_tls_with_a_certificate(tmp_path) -> None:
    """--certfile/--keyfile: the relay speaks wss:// (a throwaway self-signed certificate)."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    relay = RelayProcess(extra_args=("--certfile", str(cert), "--keyfile", str(key)))
    relay.health = lambda: _tls_health(relay.port, cert)
    with relay:
        ctx = ssl.create_default_context(cafile=str(cert))
        url = f"wss://127.0.0.1:{relay.port}/class"
        teacher = RelayClient(url, {"type": "open", "name": "Mia", "stroke_id": "i-love-you"},
                              ssl=ctx).start()  # fmt: skip
        try:
            assert teacher.wait_connected(15), teacher.snapshot()
            assert len(teacher.snapshot().code) == 5
        finally:
            teacher.stop()
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        with (  # plain ws:// is refused
            pytest.raises((OSError, WebSocketException, TimeoutError)),
            connect(relay.url, open_timeout=5),
        ):
            pass


def _tls_health(port: int, cert) -> dict | None:
    import ssl
    import urllib.request

    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/health", timeout=1, context=ctx
        ) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_a_row_sent_while_redis_is_away_reaches_the_board(backend, redis_server) -> None:
    """Ben reports while Redis is down: the relay answers 'busy', and the client sends
    the row again until it is stored (no board row lost)."""
    relay = backend()
    teacher, code, (ann, ben) = clients_for_a_class(relay.url)
    try:
        redis_server.shutdown()  # its data stays for the start below
        ben.report(status="tracking", last_score=61, repetitions=1)
        wait_for(lambda: ben.snapshot().error == "busy", 10, "the relay saying busy")
        redis_server.start()
        wait_for(lambda: board_scores(teacher).get("Ben") == 61, 30, "Ben's row")
    finally:
        stop_all(teacher, ann, ben)
