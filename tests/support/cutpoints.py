"""Cut a request's sender at any await point and check that nothing is half done.

One case: operators Alice (two consoles: the sender's and another) and Bob, and one or
more visitors, on the reference server (Hypercorn, the Quart-trio app, SQLite) on the
virtual network under the autojump clock. Every store write takes a random time, so
requests that arrive meanwhile are stored together (group commit). Each sender sends its
request, then after a random number of scheduler rounds (0 = before the server read it)
its connection is dropped with no close frame; half of the senders come back, resume
their session and send the request again if they have no answer.

The invariant, for each request: acknowledged => stored, and delivered exactly once to
every other party; never acknowledged => stored and delivered whole, or not at all. No
connection ever sees a gap or a repeat in ``seq``.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
from trio_websocket import ConnectionClosed, wrap_client_stream

from server import demo
from server.app import create_app
from tests.support.virtual_server import HOST, served, virtual_config

KINDS = ("send", "accept", "visitor_send")


def slow_store(rng: random.Random, most: float) -> Callable[[Callable[[], Any]], Awaitable[Any]]:
    """A store runner whose every call takes up to ``most`` s of virtual time."""

    async def run(fn: Callable[[], Any]) -> Any:
        await trio.sleep(rng.uniform(0, most))
        return fn()

    return run


class Peer:
    """A raw client connection that records every frame it receives."""

    def __init__(self, net: Any, role: str, hello: dict[str, Any]) -> None:
        self.net, self.role, self.hello = net, role, hello
        self.frames: list[dict[str, Any]] = []
        self.scope = trio.CancelScope()
        self._changed = trio.Event()
        self.stream: Any = None
        self.ws: Any = None

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.stream = await self.net.connect(HOST, 80)
        with self.scope:
            async with trio.open_nursery() as nursery:
                self.ws = await wrap_client_stream(nursery, self.stream, HOST, f"/ws/{self.role}")
                await self.ws.send_message(json.dumps({"type": "hello", **self.hello}))
                task_status.started()
                try:
                    while True:
                        self.frames.append(json.loads(await self.ws.get_message()))
                        self._changed.set()
                        self._changed = trio.Event()
                except ConnectionClosed:
                    pass
                nursery.cancel_scope.cancel()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_message(json.dumps(frame))

    async def wait(self, test: Callable[[dict[str, Any]], bool], timeout: float = 30) -> Any:
        with trio.fail_after(timeout):
            while True:
                for frame in self.frames:
                    if test(frame):
                        return frame
                await self._changed.wait()

    def answer(self, ref: str) -> dict[str, Any] | None:
        return next((f for f in self.frames if f.get("ref") == ref), None)

    def last_seq(self) -> int:
        return max((f.get("seq", 0) for f in self.frames), default=0)

    async def cut(self) -> None:
        """Drop the connection: no close frame, the server reads end-of-stream."""
        self.scope.cancel()
        await self.stream.aclose()


@dataclass
class Sender:
    """One request under test and what the case knows about it."""

    kind: str
    delay: float  # virtual seconds between sending and the cut: before, during, after writes
    rounds: int  # then scheduler rounds until the cut (-1: never cut)
    comes_back: bool
    peer: Peer
    visitor: Peer
    request: dict[str, Any]
    again: Peer | None = None  # the sender's connection after the cut
    others: list[Peer] = field(default_factory=list)
    call: str = ""
    room: str = ""

    def answers(self) -> list[dict[str, Any]]:
        peers = [self.peer] + ([self.again] if self.again else [])
        return [f for p in peers for f in p.frames if f.get("ref") == self.request["id"]]


def gaps(peer: Peer) -> list[str]:
    """What is wrong with one connection's ``seq``: a gap or a repeat."""
    seqs = [f["seq"] for f in peer.frames if f.get("seq")]
    expected = list(range(seqs[0], seqs[0] + len(seqs))) if seqs else []
    return [] if seqs == expected else [f"{peer.role} seqs {seqs[:3]}… not contiguous"]


async def run_case(
    seed: int, senders: int = 0, most_write: float = 0.004, batches: list[int] | None = None
) -> list[str]:
    """Run one case; return the invariant's violations (empty: it held). ``batches`` gets
    the number of transactions that held two changes or more (group commit at work)."""
    rng = random.Random(seed)
    config = virtual_config(seed)
    config.password_cost = 2**4
    config.store_runner = slow_store(random.Random(rng.getrandbits(64)), most_write)
    app = create_app(config)
    async with served(app) as server, trio.open_nursery() as nursery:
        case = await _setup(server, nursery, rng, senders or rng.randint(1, 3), most_write)
        await _fire(case, nursery)
        await trio.sleep(3)  # everything settles: resends answered, fan-outs written
        problems = await _check(case, app.chat.store)
        nursery.cancel_scope.cancel()
    if batches is not None:
        batches.append(_batched(app.chat.metrics.commits))
    return problems


def _batched(commits: Any) -> int:
    """Transactions of more than one change, from the server's histogram of them."""
    samples = {(s.name, s.labels.get("le")): s.value for m in commits.collect() for s in m.samples}
    return int(
        samples[("ringlab_commit_changes_count", None)]
        - samples[("ringlab_commit_changes_bucket", "1.0")]
    )


async def _open(nursery: trio.Nursery, net: Any, role: str, hello: dict[str, Any]) -> Peer:
    peer = Peer(net, role, hello)
    await nursery.start(peer.run)
    await peer.wait(lambda f: f["type"] == "snapshot")
    return peer


async def _setup(
    server: Any, nursery: trio.Nursery, rng: random.Random, count: int, most_write: float
) -> list[Sender]:
    net, token = server.net, server.token
    async with net.http(server.url) as http:
        response = await http.post("/api/login", json={"login": "bob", "password": "bob-demo"})
    bob_token = response.json()["token"]
    # max chats high enough for every sender's room at Alice
    async with net.http(server.url) as http:
        await http.put(
            "/api/settings", json={"max_chats": 50}, headers={"Authorization": f"Bearer {token}"}
        )
    cases = []
    for i in range(count):
        kind = rng.choice(KINDS)
        sender = await _open(nursery, net, "operator", {"token": token})
        other = await _open(nursery, net, "operator", {"token": token})
        bob = await _open(nursery, net, "operator", {"token": bob_token})
        visitor = await _open(
            nursery,
            net,
            "visitor",
            {"account": demo.ACCOUNT, "button": demo.BUTTON, "page_instance": f"p{i}", "url": "u"},
        )
        await visitor.send({"type": "call", "id": "c"})
        call = (await visitor.wait(lambda f: f.get("ref") == "c"))["call"]
        for console in (sender, other, bob):
            await console.wait(lambda f, call=call: f["type"] == "ring" and f["call"] == call)
        rounds = rng.choice([-1, *range(0, 40)])
        delay = rng.choice([0.0, rng.uniform(0, 3 * most_write)])
        s = Sender(kind, delay, rounds, rng.random() < 0.5, sender, visitor, {}, call=call)
        if kind == "accept":
            s.request = {"type": "accept", "id": f"a{i}", "call": call}
            s.others = [other, bob, visitor]
        else:
            await other.send({"type": "accept", "id": "x", "call": call})
            s.room = (await other.wait(lambda f: f.get("ref") == "x"))["room"]
            await sender.wait(
                lambda f, r=s.room: f["type"] == "room_opened" and f["room"]["room"] == r
            )
            await visitor.wait(lambda f, r=s.room: f["type"] == "room_opened")
            text = f"text {i} {rng.getrandbits(32)}"
            s.request = {"type": "send", "id": f"m{i}", "room": s.room, "text": text}
            if kind == "send":
                s.others = [other, visitor]
            else:  # the visitor sends, and is cut
                s.peer, s.others = visitor, [sender, other]
        cases.append(s)
    return cases


async def _fire(case: list[Sender], nursery: trio.Nursery) -> None:
    """Every sender sends at once; each is cut after its own number of rounds."""
    async with trio.open_nursery() as together:
        for s in case:
            together.start_soon(_send_and_cut, s, nursery)


async def _send_and_cut(s: Sender, nursery: trio.Nursery) -> None:
    await s.peer.send(s.request)
    if s.rounds < 0:
        await s.peer.wait(lambda f: f.get("ref") == s.request["id"])
        return
    if s.delay:
        await trio.sleep(s.delay)
    for _ in range(s.rounds):
        await trio.lowlevel.checkpoint()
    await s.peer.cut()
    if not s.comes_back:
        return
    await trio.sleep(0.2)
    hello = dict(s.peer.hello, last_seq=s.peer.last_seq())
    welcome = next(f for f in s.peer.frames if f["type"] == "welcome")
    hello.update(session=welcome["session"])
    if "resume_token" in welcome:
        hello.update(resume_token=welcome["resume_token"])
    again = Peer(s.peer.net, s.peer.role, hello)
    await nursery.start(again.run)
    s.again = again
    await again.wait(lambda f: f["type"] == "welcome")
    if s.peer.answer(s.request["id"]) is None:  # no answer came: send it again, same id
        await again.send(s.request)
        await again.wait(lambda f: f.get("ref") == s.request["id"])


async def _check(case: list[Sender], store: Any) -> list[str]:
    db: sqlite3.Connection = store._db
    problems: list[str] = []
    for s in case:
        answers = s.answers()
        acked = any(a["type"] == "ok" for a in answers)
        if (s.comes_back or s.rounds < 0) and not acked:
            problems.append(f"{s.kind}: the sender has no ok after sending again: {answers}")
        seen, stored = _outcome(s, db)
        done_everywhere = stored and all(n == 1 for n in seen)
        nowhere = not stored and all(n == 0 for n in seen)
        if acked and not done_everywhere:
            problems.append(f"{s.kind} acknowledged but stored={stored}, delivered {seen}")
        if not acked and not (done_everywhere or nowhere):
            problems.append(f"{s.kind} half-applied: stored={stored}, delivered {seen}")
        for peer in [s.peer, *s.others] + ([s.again] if s.again else []):
            problems.extend(gaps(peer))
    return problems


def _outcome(s: Sender, db: sqlite3.Connection) -> tuple[list[int], bool]:
    """How many times each other party saw the request's effect, and whether it is stored."""
    if s.kind == "accept":
        row = db.execute("SELECT state, room_id FROM calls WHERE id=?", (s.call,)).fetchone()
        stored = row is not None and row[0] == "accepted" and row[1] is not None
        other, bob, visitor = s.others
        seen = [
            _count(
                other,
                lambda f: (
                    f["type"] == "ring_stop" and f["call"] == s.call and f["reason"] == "accepted"
                ),
            ),
            _count(bob, lambda f: f["type"] == "ring_stop" and f["call"] == s.call),
            _count(visitor, lambda f: f["type"] == "call_state" and f["state"] == "accepted"),
            _count(visitor, lambda f: f["type"] == "room_opened"),
        ]
        if stored:
            rooms = db.execute("SELECT COUNT(*) FROM rooms WHERE call_id=?", (s.call,)).fetchone()
            stored = rooms[0] == 1
        return seen, stored
    text = s.request["text"]
    rows = db.execute("SELECT COUNT(*) FROM messages WHERE text=?", (text,)).fetchone()[0]
    seen = [_count(p, lambda f: f["type"] == "message" and f["text"] == text) for p in s.others]
    return seen, rows == 1


def _count(peer: Peer, test: Callable[[dict[str, Any]], bool]) -> int:
    return sum(1 for f in peer.frames if test(f))
