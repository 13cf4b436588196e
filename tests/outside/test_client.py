"""The reference server tested from outside, by a client written from docs/protocol.md alone.

The client (tests/outside/client.py) uses the `websockets` library's synchronous client, not
the project's trio-websocket stack, and no project code. Every test starts `ringlab serve` as
a separate process on a free loopback port with its own database, and stops it with SIGINT.
Where the documentation and the server disagree, the test asserts the documented behaviour.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.outside.client import (
    Closed,
    OutsideClient,
    Refused,
    http,
    login,
    logout,
    operator,
    visitor,
)

ROOT = Path(__file__).resolve().parents[2]
RINGLAB = Path(sys.executable).parent / "ringlab"
if not RINGLAB.exists():
    RINGLAB = ROOT / ".venv" / "bin" / "ringlab"

# How long "at once" may take on loopback, even on a loaded machine: far below the 30 s grace.
AT_ONCE = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`ringlab serve` as a child process: started, restarted and stopped by its PID."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.db = tmp_path / "chat.db"
        self.log = tmp_path / "server.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        host, port, db = "127.0.0.1", str(self.port), str(self.db)
        return [str(RINGLAB), "serve", "--host", host, "--port", port, "--db", db]

    def start(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    self.command(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break  # exited: the port may still be held by the previous process
                try:
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                        if resp.status == 200:
                            return
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.stop()
                raise AssertionError(f"server not healthy within {timeout} s")
            if time.monotonic() >= deadline:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.logs()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 10.0) -> int:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else 0
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
            raise AssertionError(f"server ignored SIGINT for {timeout} s") from None

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, object]]:
        """The server's JSON lifecycle log lines (docs/protocol.md, Observability)."""
        out = []
        for line in self.logs().splitlines():
            if "ringlab.server" not in line or "{" not in line:
                continue
            record = json.loads(line[line.index("{") :])
            if record.get("event") == name:
                out.append(record)
        return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def clients() -> Iterator[list[OutsideClient]]:
    """Clients to close at the end of a test (before the server stops)."""
    made: list[OutsideClient] = []
    yield made
    for client in made:
        client.close()


def op(server: ServerProcess, clients: list[OutsideClient], token: str, name: str):
    client = operator(server.url, token, name)
    clients.append(client)
    return client


def vis(server: ServerProcess, clients: list[OutsideClient], name: str = "visitor", **kw):
    client = visitor(server.url, name=name, **kw)
    clients.append(client)
    return client


def is_type(kind: str, **fields: object):
    return lambda f: f["type"] == kind and all(f.get(k) == v for k, v in fields.items())


def assert_clean_live_stream(client: OutsideClient) -> None:
    """A connection that never dropped: no seq gap, no duplicate, seqs 1, 2, 3..."""
    assert client.gaps == [], f"{client.name}: seq gaps {client.gaps}"
    assert client.dropped == [], f"{client.name}: duplicates on a live connection"
    assert [f["seq"] for f in client.events] == list(range(1, len(client.events) + 1))


def open_chat(visitor_: OutsideClient, consoles: list[OutsideClient], winner: OutsideClient):
    call = visitor_.ok("call")["call"]
    for console in consoles:
        console.next_event(is_type("ring", call=call), what="ring")
    room = winner.ok("accept", call=call)["room"]
    visitor_.next_event(is_type("room_opened"), what="room_opened")
    return call, room


# ---------------------------------------------------------------------------------------
# 1. A connection cut right after `send`


def test_cut_after_send_delivers_the_message_once(server, clients):
    token = login(server.url, "alice", "alice-demo")["token"]
    alice = op(server, clients, token, "alice")
    alice2 = op(server, clients, token, "alice's other console")
    v = vis(server, clients)
    _, room = open_chat(v, [alice, alice2], alice)
    alice2.next_event(is_type("room_opened"), what="room_opened on the second console")

    sent: dict[str, int] = {}  # text -> n from the ok
    replayed = 0  # cuts after which the ok came in the replay (the request was applied)
    for i in range(10):
        text = f"cut after send #{i}"
        rid = alice.send_request("send", room=room, text=text)
        alice.cut()  # RST, no close frame
        welcome = alice.connect(retry_for=5)
        assert welcome["resumed"] is True, welcome
        assert rid in alice.resent  # no answer yet: sent again with the same id
        answer = alice.wait_answer(rid)
        replayed += answer["seq"] <= welcome["last_seq"]
        assert answer["type"] == "ok", answer
        assert answer["room"] == room
        sent[text] = answer["n"]
        for live in (v, alice2):
            got = live.next_event(is_type("message", text=text), what=f"message {text!r}")
            assert got["n"] == answer["n"], (live.name, got, answer)
    for live in (v, alice2):
        live.drain(0.3)

    for live in (v, alice2):
        assert_clean_live_stream(live)
        for text, n in sent.items():
            copies = live.seen("message", text=text)
            assert len(copies) == 1, f"{live.name} shows {text!r} {len(copies)} times"
            assert copies[0]["n"] == n
    # the sender's own view: each message once, each answer the same when repeated
    for text in sent:
        assert len(alice.seen("message", text=text)) == 1, text
    alice.drain(0.2)
    for again in alice.repeated_answers:
        assert again == {**alice.answers[again["ref"]], "seq": again["seq"]}, again
    refs = [a["ref"] for a in alice.repeated_answers]
    assert len(refs) == len(set(refs)), "an id answered more than twice"
    assert alice.gaps == []
    print(f"cut after send: ok in the replay {replayed}/10, answered again {len(refs)}/10")
    # the stored transcript
    status, _, transcript = http("GET", f"{server.url}/api/transcripts/{room}", token=token)
    assert status == 200, transcript
    for text, n in sent.items():
        rows = [row for row in transcript if row["text"] == text]
        assert len(rows) == 1, f"transcript holds {text!r} {len(rows)} times"
        assert rows[0]["n"] == n
    ns = [row["n"] for row in transcript]
    assert ns == sorted(set(ns)), f"transcript numbers {ns}"


def test_cut_mid_frame_then_the_resent_request_is_applied_once(server, clients):
    """The other side of test 1: the cut comes in the middle of the request's frame, so the
    server never decodes it, and only the request sent again after the resume is applied."""
    token = login(server.url, "alice", "alice-demo")["token"]
    alice = op(server, clients, token, "alice")
    v = vis(server, clients)
    _, room = open_chat(v, [alice], alice)
    sent: dict[str, int] = {}
    for i in range(5):
        text = f"cut mid-frame #{i}"
        rid = alice.send_request_cut_midway("send", room=room, text=text)
        welcome = alice.connect(retry_for=5)
        assert welcome["resumed"] is True
        assert rid in alice.resent
        answer = alice.wait_answer(rid)
        assert answer["type"] == "ok", answer
        assert answer["seq"] > welcome["last_seq"], "a half frame cannot have been applied"
        sent[text] = answer["n"]
        assert v.next_event(is_type("message", text=text), what=text)["n"] == answer["n"]
    v.drain(0.3)
    alice.drain(0.2)
    assert_clean_live_stream(v)
    assert alice.repeated_answers == []
    status, _, transcript = http("GET", f"{server.url}/api/transcripts/{room}", token=token)
    assert status == 200
    for text, n in sent.items():
        assert len(v.seen("message", text=text)) == 1
        assert [row["n"] for row in transcript if row["text"] == text] == [n]


# ---------------------------------------------------------------------------------------
# 2. A connection cut right after `accept`


def test_cut_after_accept_opens_the_room_once(server, clients):
    alice = op(server, clients, login(server.url, "alice", "alice-demo")["token"], "alice")
    bob = op(server, clients, login(server.url, "bob", "bob-demo")["token"], "bob")
    replayed = 0
    for i in range(10):
        v = vis(server, clients, name=f"visitor {i}", url=f"http://shop.example/p{i}")
        call = v.ok("call")["call"]
        alice.next_event(is_type("ring", call=call), what="ring at alice")
        bob.next_event(is_type("ring", call=call), what="ring at bob")

        rid = alice.send_request("accept", call=call)
        alice.cut()
        welcome = alice.connect(retry_for=5)
        assert welcome["resumed"] is True
        answer = alice.wait_answer(rid)
        replayed += answer["seq"] <= welcome["last_seq"]
        assert answer["type"] == "ok", answer
        assert answer["call"] == call
        room = answer["room"]

        v.next_event(is_type("room_opened"), what="room_opened at the visitor")
        bob.next_event(is_type("ring_stop", call=call), what="ring_stop at bob")
        for c in (v, bob, alice):
            c.drain(0.15)
        assert len(v.seen("call_state", call=call, state="accepted")) == 1, v.events
        opened = [f for f in v.seen("room_opened") if f["room"]["room"] == room]
        assert len(opened) == 1, v.events
        stops = bob.seen("ring_stop", call=call)
        assert [s["reason"] for s in stops] == ["accepted_elsewhere"], stops
        # the winner, across its cut: one ring_stop `accepted`, one room_opened
        assert [s["reason"] for s in alice.seen("ring_stop", call=call)] == ["accepted"]
        assert len([f for f in alice.seen("room_opened") if f["room"]["room"] == room]) == 1
        assert_clean_live_stream(v)

        alice.ok("close", room=room)  # stay under max_chats
        v.next_event(is_type("room_closed", room=room), what="room_closed")
        assert v.bye() == 1000
    assert_clean_live_stream(bob)
    assert alice.gaps == []
    assert alice.guarded_rings == []
    # an accept sent again is answered like the first time (rule 6), not `illegal_state`
    for again in alice.repeated_answers:
        assert again == {**alice.answers[again["ref"]], "seq": again["seq"]}, again
    n_again = len(alice.repeated_answers)
    print(f"cut after accept: ok in the replay {replayed}/10, answered again {n_again}/10")


# ---------------------------------------------------------------------------------------
# 3. A restart while a call rings


def test_restart_while_ringing_ends_the_call_missed(server, clients):
    token = login(server.url, "alice", "alice-demo")["token"]
    alice = op(server, clients, token, "alice")
    v = vis(server, clients)
    call = v.ok("call")["call"]
    alice.next_event(is_type("ring", call=call), what="ring")
    old_session, visitor_id = v.session, v.visitor_id

    assert server.stop() == 0  # README: "Ctrl-C stops it cleanly"
    # docs: "1001 ... Sent to every connection before the server stops listening"
    assert v.wait_closed(5) == 1001
    assert alice.wait_closed(5) == 1001
    server.start()

    welcome = v.connect(retry_for=10)  # hello with the old session, resume_token, last_seq
    assert welcome["resumed"] is False, "the session is gone after a restart"
    assert welcome["session"] != old_session
    assert welcome.get("visitor_id", visitor_id) == visitor_id
    snap = v.next_event(is_type("snapshot"), what="visitor snapshot")
    assert snap["visitor_id"] == visitor_id
    assert snap.get("call") == call, snap
    assert snap.get("call_state") == "missed", snap
    assert snap.get("leave_message") is True, snap

    assert alice.connect(retry_for=10)["resumed"] is False
    osnap = alice.next_event(is_type("snapshot"), what="console snapshot")
    assert call not in [r["call"] for r in osnap["rings"]], osnap["rings"]

    text = "Please call me back about my order"
    answer = v.ok("leave_message", name="Vera", email="vera@example.com", text=text)
    assert answer["type"] == "ok"
    status, _, messages = http("GET", f"{server.url}/api/offline-messages", token=token)
    assert status == 200
    mine = [m for m in messages if m["text"] == text]
    assert len(mine) == 1, messages
    assert mine[0]["visitor_id"] == visitor_id
    assert mine[0]["call_id"] == call


# ---------------------------------------------------------------------------------------
# 4. Leaving on purpose: logout after the socket closed, and `bye`


def wait_offline(alice: OutsideClient, op_id: str) -> float:
    t0 = time.monotonic()
    alice.next_event(
        lambda f: (
            f["type"] == "operator_status"
            and f["operator"]["id"] == op_id
            and f["operator"]["status"] == "offline"
        ),
        timeout=AT_ONCE,
        what=f"operator_status {op_id} offline",
    )
    return time.monotonic() - t0


def assert_missed_on_decline(server, clients, alice: OutsideClient, bob_id: str, name: str):
    """A new call rings at alice only; her decline leaves no eligible operator, so the call
    is missed at once (it would ring on at bob if his session still counted)."""
    v = vis(server, clients, name=name)
    call = v.ok("call")["call"]
    alice.next_event(is_type("ring", call=call), what="ring at alice")
    alice.ok("decline", call=call)
    state = v.next_event(is_type("call_state", call=call), timeout=AT_ONCE, what="call_state")
    assert state["state"] == "missed", state
    assert state.get("leave_message") is True
    rang_at = {r["operator"] for r in server.events("ring_started") if r["call"] == call}
    assert bob_id not in rang_at, f"{call} rang at {bob_id}"


def test_logout_after_closing_the_socket_goes_offline_at_once(server, clients):
    alice = op(server, clients, login(server.url, "alice", "alice-demo")["token"], "alice")
    bob_login = login(server.url, "bob", "bob-demo")
    bob_id = bob_login["operator"]["id"]
    bob = op(server, clients, bob_login["token"], "bob")
    alice.next_event(
        lambda f: f["type"] == "operator_status" and f["operator"]["id"] == bob_id,
        what="bob online",
    )

    bob.close()  # the console closes its WebSocket (no bye): the session enters its grace
    alice.drain(0.5)
    assert alice.operators[bob_id]["status"] == "online", "offline before the logout"
    assert logout(server.url, bob_login["token"]) == 204
    took = wait_offline(alice, bob_id)
    assert took < AT_ONCE
    status, _, ops = http(
        "GET",
        f"{server.url}/api/operators",
        token=login(server.url, "alice", "alice-demo")["token"],
    )
    assert status == 200
    assert {o["id"]: o["status"] for o in ops}[bob_id] == "offline"
    # the token stopped working
    again = OutsideClient(server.url, "operator", {"token": bob_login["token"]}, "bob again")
    clients.append(again)
    try:
        again.connect()
    except Refused as exc:  # auth_failed, and the connection closed with 4401
        assert exc.frame["code"] == "auth_failed", exc.frame
        assert again.wait_closed(AT_ONCE) == 4401
        print(f"logged-out token: {exc.frame['code']}, then close 4401")
    except Closed as exc:
        assert exc.code == 4401, exc
        print("logged-out token: close 4401")
    else:
        raise AssertionError(f"a logged-out token was welcomed: {again.welcome}")
    assert_missed_on_decline(server, clients, alice, bob_id, "visitor after logout")


def test_bye_stops_ringing_and_goes_offline_at_once(server, clients):
    alice = op(server, clients, login(server.url, "alice", "alice-demo")["token"], "alice")
    bob_login = login(server.url, "bob", "bob-demo")
    bob_id = bob_login["operator"]["id"]
    bob = op(server, clients, bob_login["token"], "bob")
    v = vis(server, clients)
    call = v.ok("call")["call"]
    alice.next_event(is_type("ring", call=call), what="ring at alice")
    bob.next_event(is_type("ring", call=call), what="ring at bob")

    assert bob.bye() == 1000  # docs: "the server closes the connection with 1000"
    took = wait_offline(alice, bob_id)
    assert took < AT_ONCE
    # bob's ring stopped: alice's decline leaves nobody, so the call is missed at once
    alice.ok("decline", call=call)
    state = v.next_event(is_type("call_state", call=call), timeout=AT_ONCE, what="call_state")
    assert state["state"] == "missed", state
    # and a new call does not ring at bob
    assert_missed_on_decline(server, clients, alice, bob_id, "visitor after bye")


# ---------------------------------------------------------------------------------------
# 5. Bad frames and a flood


DEEP_OBJECT = '{"a":' * 1000 + "0" + "}" * 1000
DEEP_ARRAY = "[" * 1000 + "]" * 1000

BAD_FRAMES = [
    ("binary frame", b'{"type": "ping"}', "bad_frame", None),
    ("JSON object nested 1,000 deep", DEEP_OBJECT, "bad_frame", None),
    ("JSON array nested 1,000 deep", DEEP_ARRAY, "bad_frame", None),
    ("not JSON", "this is not json", "bad_frame", None),
    ("a JSON array", '[{"type": "ping"}]', "bad_frame", None),
    ("a JSON string", '"hello"', "bad_frame", None),
    ("a JSON number", "42", "bad_frame", None),
    ("no type", '{"id": "nt1"}', "invalid_field", None),  # "a field is missing"
    ("unknown type", '{"type": "frobnicate", "id": "u1"}', "unknown_type", "u1"),
    ("missing field", '{"type": "send", "id": "m1", "room": "room_x"}', "invalid_field", "m1"),
    (
        "mistyped field",
        '{"type": "send", "id": "m2", "room": 7, "text": "x"}',
        "invalid_field",
        "m2",
    ),
    ("negative ack", '{"type": "ack", "seq": -1}', "invalid_field", None),
    (
        "too large",
        json.dumps({"type": "send", "id": "big", "room": "r", "text": "x" * 70_000}),
        "too_large",
        None,
    ),
]


@pytest.mark.parametrize("role", ["operator", "visitor"])
def test_bad_frames_get_an_unsequenced_error_and_the_connection_lives_on(server, clients, role):
    if role == "operator":
        client = op(server, clients, login(server.url, "alice", "alice-demo")["token"], "alice")
    else:
        client = vis(server, clients)
    problems = []
    for what, data, code, ref in BAD_FRAMES:
        seq_before = client.last_seq
        client.send_raw(data)
        try:
            err = client.next_unsequenced(is_type("error"), timeout=AT_ONCE, what="error")
        except TimeoutError:
            problems.append(f"{what}: no error frame")
            continue
        if err["code"] != code:
            problems.append(f"{what}: code {err['code']!r}, documented {code!r}: {err}")
        if ref is not None and err.get("ref") != ref:
            problems.append(f"{what}: ref {err.get('ref')!r}, expected {ref!r}")
        assert "seq" not in err
        assert client.last_seq == seq_before, f"{what}: a sequenced frame followed"
        print(f"{role} {what}: {err['code']} {err.get('message', '')[:80]!r}")
        client.ping()  # the connection lives on
    assert problems == []
    if role == "operator":
        assert client.ok("set_status", status="online")["status"] == "online"
    else:
        assert client.ok("call")["type"] == "ok"
    assert client.close_codes == []


def test_flood_gets_rate_limited_with_retry_after(server, clients):
    alice = op(server, clients, login(server.url, "alice", "alice-demo")["token"], "alice")
    ids = [alice.new_id() for _ in range(120)]
    t0 = time.monotonic()
    for rid in ids:
        alice.send_request("set_status", rid=rid, status="online")
    elapsed_send = time.monotonic() - t0
    answers = {rid: alice.wait_answer(rid, timeout=5) for rid in ids}
    ok = [a for a in answers.values() if a["type"] == "ok"]
    limited = [a for a in answers.values() if a.get("code") == "rate_limited"]
    assert len(ok) + len(limited) == len(ids), [
        a for a in answers.values() if a["type"] != "ok" and a.get("code") != "rate_limited"
    ]
    # bursts of 60, 20/s sustained
    assert 60 <= len(ok) <= 60 + 20 * (elapsed_send + 0.5) + 2, (len(ok), elapsed_send)
    assert limited, "no rate_limited"
    waits = sorted(err["retry_after"] for err in limited)
    print(f"flood: {len(ok)} ok, {len(limited)} rate_limited, retry_after {waits[0]}..{waits[-1]}")
    for err in limited:
        assert "seq" not in err
        assert err["ref"] in ids
        assert 0 < err["retry_after"] <= 1.0, err  # a token comes every 0.05 s
    # acks, pings and pongs are never counted
    for _ in range(100):
        alice.ping()
    # after retry_after, the refused request goes through
    last = limited[-1]
    time.sleep(last["retry_after"])
    again = alice.request("set_status", rid=last["ref"], status="online")
    assert again["type"] == "ok", again
    assert alice.close_codes == []


# ---------------------------------------------------------------------------------------
# 6. A visitor moving between pages


def page_change(server, clients, keep_page_instance: bool):
    token = login(server.url, "alice", "alice-demo")["token"]
    alice = op(server, clients, token, "alice")
    v = vis(server, clients, url="http://shop.example/pricing", title="Pricing")
    arrived = alice.next_event(is_type("visitor_arrived"), what="visitor_arrived")
    vid = arrived["visitor"]["id"]
    assert arrived["visitor"]["url"] == "http://shop.example/pricing"
    _, room = open_chat(v, [alice], alice)
    session = v.session

    v.close(1001, "page unload")  # a browser closes the socket with 1001 going away
    v.hello_fields.update(url="http://shop.example/checkout", title="Checkout")
    if not keep_page_instance:
        v.hello_fields["page_instance"] = "p-next-page"
    welcome = v.connect()
    assert welcome["resumed"] is True, welcome
    assert welcome["session"] == session
    assert welcome.get("visitor_id", vid) == vid

    moved = alice.next_event(
        lambda f: f["type"] == "visitor_arrived" and f["visitor"]["id"] == vid,
        timeout=AT_ONCE,
        what="visitor_arrived with the new page",
    )
    assert moved["visitor"]["url"] == "http://shop.example/checkout"
    assert moved["visitor"]["title"] == "Checkout"
    assert moved["visitor"]["pages"] == 1, "one tab: one page instance open"
    # the chat goes on
    n = v.ok("send", room=room, text="still here")["n"]
    alice.next_event(is_type("message", room=room, n=n), what="message after the page change")
    alice.drain(0.5)
    assert alice.seen("visitor_left", visitor=vid) == []
    assert alice.seen("room_closed", room=room) == []
    assert v.gaps == []
    status, _, conflicts = http("GET", f"{server.url}/api/conflicts", token=token)
    assert status == 200
    assert conflicts == [], "a page change is not a visitor-id conflict"


def test_visitor_page_change_resumes_and_is_not_a_departure(server, clients):
    # docs: "A widget that keeps page_instance, session, resume_token and its last seq across
    # page loads ... sends them in the next page's hello"
    page_change(server, clients, keep_page_instance=True)


def test_a_fresh_page_instance_starts_a_new_session(server, clients):
    # docs, the visitor hello table: "A fresh page_instance always starts a new session, even
    # with an old session: to the server it is another page open at the same time"
    token = login(server.url, "alice", "alice-demo")["token"]
    alice = op(server, clients, token, "alice")
    v = vis(server, clients, url="http://shop.example/pricing", title="Pricing")
    vid = alice.next_event(is_type("visitor_arrived"), what="visitor_arrived")["visitor"]["id"]
    session = v.session
    v.close(1001, "page unload")
    v.hello_fields.update(url="http://shop.example/checkout", page_instance="p-next-page")
    welcome = v.connect()
    assert welcome["resumed"] is False and welcome["session"] != session
    both = alice.next_event(
        lambda f: f["type"] == "visitor_arrived" and f["visitor"]["id"] == vid,
        timeout=AT_ONCE,
        what="visitor_arrived with two pages",
    )
    assert both["visitor"]["pages"] == 2  # the old page instance waits out its grace
