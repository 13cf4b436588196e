"""Reference server benchmarks on loopback: ring fan-out, message throughput, idle cost.

    python bench/server_bench.py [--quick] [--operators 10,100,1000] [--rooms 1000]
                                 [--only fanout,messages,idle] [--tree DIR] [--unbatched]

The server runs in its own process (``ringlab serve``, abuse limits off); the clients are
lean WebSocket peers in this one (``peers.py``). Three measures:

1. Ring fan-out: N operators online and ``--rooms`` open chats. A new visitor calls; the
   call rings at every console; one operator accepts. Measured: the time from sending the
   accept until every other console has read its ``ring_stop``, against the loopback floor
   (a ping/pong round trip on the same kind of connection, in the same run).
2. Message throughput: visitors of the open rooms send chat messages at a fixed offered
   rate, step by step; delivered messages/s at the operators and the send-to-read latency,
   and each sender's answer: how long it took (the slowest too; also to when it reached the
   sender's socket, which leaves out the harness's own lateness in reading) and how many
   were shed (``server_busy``).
3. Idle connections: the server's RSS and CPU per 1,000 connected visitor pages that only
   answer heartbeats.

``--tree DIR`` serves from another checkout (a worktree of an earlier commit), so a
change is measured against the commit before in one sitting. The peers ask for batched
frames (``hello.batch``) as the pages do; ``--unbatched`` measures one event a frame, which
is what a server from before batching sent to everybody (a like-for-like comparison with
one). Results go to bench/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from machine import append_results, percentile
from peers import Peer, cpu_seconds, prepare_db, rss_mib, server_process, visitor_hello

from simulator.play.gc_freeze import freeze_all, frozen_while_running

HOLDERS = 10  # operators that hold the open rooms


class World:
    """The peers of one benchmark, and what they have read."""

    def __init__(self, url: str, nursery: trio.Nursery) -> None:
        self.url, self.nursery = url, nursery
        self.operators: list[Peer] = []
        self.visitors: list[Peer] = []
        self.rings: dict[str, int] = {}
        self.all_rung: dict[str, trio.Event] = {}
        self.stops: dict[str, list[float]] = {}
        self.all_stopped: dict[str, trio.Event] = {}
        self.expect = 0
        self.delivered: list[float] = []  # send-to-read latency of each chat message
        self.sent_at: dict[str, float] = {}
        self.asked_at: dict[str, float] = {}  # request id -> when its visitor sent it
        self.answered: list[float] = []  # send-to-answer time of each request
        #: the same, to when the answer reached the visitor's socket: what the harness's own
        #: lateness in reading adds is left out
        self.arrived: list[float] = []
        self.shed = 0  # requests answered server_busy

    def on_visitor(self, peer: Peer, event: dict[str, Any], t: float) -> None:
        asked = self.asked_at.pop(event.get("ref") or "", None)
        if asked is not None:
            self.answered.append(t - asked)
            self.arrived.append(peer.ws.arrived - asked)
            self.shed += event.get("code") == "server_busy"

    def on_operator(self, peer: Peer, event: dict[str, Any], t: float) -> None:
        kind = event["type"]
        if kind == "ring":
            call = event["call"]
            self.rings[call] = self.rings.get(call, 0) + 1
            if self.rings[call] == self.expect and call in self.all_rung:
                self.all_rung[call].set()
        elif kind == "ring_stop" and event.get("reason") == "accepted_elsewhere":
            call = event["call"]
            self.stops.setdefault(call, []).append(t)
            if len(self.stops[call]) == self.expect - 1 and call in self.all_stopped:
                self.all_stopped[call].set()
        elif kind == "message" and event["from"]["role"] == "visitor":
            sent = self.sent_at.pop(event["text"], None)
            if sent is not None:
                self.delivered.append(t - sent)

    async def operator(self, token: str) -> Peer:
        peer = Peer(len(self.operators), self.on_operator)
        await peer.open(self.nursery, f"{self.url}/ws/operator", {"token": token})
        self.operators.append(peer)
        return peer

    async def visitor(self, page: str) -> Peer:
        peer = Peer(len(self.visitors), self.on_visitor)
        await peer.open(self.nursery, f"{self.url}/ws/visitor", visitor_hello(page))
        self.visitors.append(peer)
        return peer


async def open_rooms(world: World, holders: list[Peer], rooms: int) -> list[tuple[Peer, str]]:
    """``rooms`` chats, accepted round-robin by ``holders``: (visitor, room) each."""
    opened = []
    for k in range(rooms):
        visitor = await world.visitor(f"room-{k}")
        call = (await visitor.request("call"))["call"]
        room = (await holders[k % len(holders)].request("accept", call=call))["room"]
        opened.append((visitor, room))
    return opened


async def floor(peer: Peer, n: int) -> list[float]:
    """Ping/pong round trips on one connection: the loopback floor."""
    pongs: list[float] = []
    got = trio.Event()

    def on_event(p: Peer, event: dict[str, Any], t: float) -> None:
        if event["type"] == "pong":
            pongs.append(t)
            got.set()

    before = peer.on_event
    peer.on_event = on_event
    samples = []
    for _ in range(n):
        got = trio.Event()
        start = trio.current_time()
        await peer.send('{"type":"ping"}')
        await got.wait()
        samples.append(pongs[-1] - start)
        await trio.sleep(0.005)
    peer.on_event = before
    return samples


async def fanout(world: World, calls: int) -> list[float]:
    """Time from Accept until every other console read its ring_stop, per call."""
    world.expect = len(world.operators)
    results = []
    for i in range(calls):
        visitor = await world.visitor(f"caller-{i}-{len(world.operators)}")
        call_id = ""
        rung = trio.Event()
        # the event must exist before the rings can arrive: register by the reply's call id
        # after the fact, and check the count in case they all came first
        reply = await visitor.request("call")
        call_id = reply["call"]
        world.all_rung[call_id] = rung
        if world.rings.get(call_id, 0) >= world.expect:
            rung.set()
        await rung.wait()
        stopped = world.all_stopped[call_id] = trio.Event()
        acceptor = world.operators[i % len(world.operators)]
        t0 = trio.current_time()
        room = (await acceptor.request("accept", call=call_id))["room"]
        await stopped.wait()
        results.append(max(world.stops[call_id]) - t0)
        await acceptor.request("close", room=room)
        await visitor.send('{"type":"bye"}')
        await trio.sleep(0.02)
    return results


async def throughput(world: World, rooms: list[tuple[Peer, str]], rate: float, seconds: float):
    """Offer ``rate`` messages/s spread over the rooms for ``seconds``: (delivered/s,
    latencies); the answers' times are left in ``world.answered``."""
    world.delivered, world.answered, world.arrived, world.shed = [], [], [], 0
    total = int(rate * seconds)
    start = trio.current_time()
    for k in range(total):
        due = start + k / rate
        now = trio.current_time()
        if due > now:
            await trio.sleep(due - now)
        visitor, room = rooms[k % len(rooms)]
        text = f"m{k}-{rate:g}"
        world.sent_at[text] = world.asked_at[text] = trio.current_time()
        frame = {"type": "send", "id": text, "room": room, "text": text}
        visitor.send_now(json.dumps(frame))
    with trio.move_on_after(10):
        while len(world.delivered) + world.shed < total or len(world.answered) < total:
            await trio.sleep(0.05)
    elapsed = trio.current_time() - start
    return len(world.delivered) / elapsed, list(world.delivered)


async def prepared(db: str, operators: int, max_chats: int, tree: str | None) -> list[str]:
    """``prepare_db``, by the code of the checkout that will serve it (its schema)."""
    if tree is None:
        return await prepare_db(db, operators, max_chats=max_chats)
    script = (
        "import sys, json, trio; sys.path.insert(0, 'bench'); from peers import prepare_db; "
        f"print(json.dumps(trio.run(lambda: prepare_db({db!r}, {operators}, {max_chats}))))"
    )
    env = {**os.environ, "PYTHONPATH": tree}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tree, env=env, capture_output=True, text=True
    )
    done.check_returncode()
    tokens: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return tokens


def ms(x: float) -> str:
    return f"{x * 1000:.2f} ms"


async def bench_fanout(
    ns: list[int], rooms: int, calls: int, tree: str | None
) -> list[tuple[str, str, str]]:
    rows = []
    for n in ns:
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.db")
            tokens = await prepared(db, n, rooms + calls + 10, tree)
            with server_process(db, tree=tree) as (url, _pid), frozen_while_running():
                async with trio.open_nursery() as nursery:
                    world = World(url, nursery)
                    holders = [await world.operator(t) for t in tokens[:HOLDERS]]
                    await open_rooms(world, holders, rooms)
                    for token in tokens[HOLDERS:]:
                        await world.operator(token)
                    await trio.sleep(0.5)
                    # the harness's own full collections would be timed as the server's
                    freeze_all()
                    base = await floor(world.operators[0], 50)
                    samples = await fanout(world, calls)
                    nursery.cancel_scope.cancel()
        f50, f99 = percentile(base, 50), percentile(base, 99)
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        target = {100: "added p99 < 5 ms", 1000: "added p99 < 50 ms"}.get(n, "")
        rows.append(
            (
                f"ring fan-out, {n} operators, {rooms} open rooms, {calls} calls",
                f"all stopped p50 / p99 {ms(p50)} / {ms(p99)}; floor {ms(f50)} / {ms(f99)}; "
                f"added p50 / p99 {ms(p50 - f50)} / {ms(p99 - f50)}",
                target,
            )
        )
        print(rows[-1])
    return rows


async def bench_messages(
    rooms: int, rates: list[float], seconds: float, tree: str | None
) -> list[tuple[str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        tokens = await prepared(db, HOLDERS, rooms + 10, tree)
        with server_process(db, tree=tree) as (url, pid), frozen_while_running():
            async with trio.open_nursery() as nursery:
                world = World(url, nursery)
                holders = [await world.operator(t) for t in tokens]
                opened = await open_rooms(world, holders, rooms)
                freeze_all()
                for rate in rates:
                    cpu, own = cpu_seconds(pid), time.process_time()
                    delivered, lat = await throughput(world, opened, rate, seconds)
                    cpu = (cpu_seconds(pid) - cpu) / max(1, len(lat))
                    own = (time.process_time() - own) / max(1, len(lat))
                    answered = world.answered or [float("nan")]
                    arrived = world.arrived or [float("nan")]
                    rows.append(
                        (
                            f"messages, {rooms} rooms, offered {rate:g}/s",
                            (
                                f"delivered {delivered:.0f}/s; latency p50 / p99 "
                                f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))}"
                                if lat
                                else "nothing delivered"
                            )
                            + f"; answered {len(world.answered)}, shed {world.shed}, "
                            f"slowest answer {ms(max(answered))} (at its socket "
                            f"{ms(max(arrived))}); server CPU "
                            f"{cpu * 1e6:.0f} us per message (harness {own * 1e6:.0f} us)",
                            "",
                        )
                    )
                    print(rows[-1])
                nursery.cancel_scope.cancel()
    return rows


async def bench_idle(
    connections: int, seconds: float, tree: str | None
) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        await prepared(db, 0, 5, tree)
        with server_process(db, tree=tree) as (url, pid):
            async with trio.open_nursery() as nursery:
                world = World(url, nursery)
                await trio.sleep(1)
                rss0, cpu0 = rss_mib(pid), cpu_seconds(pid)
                await trio.sleep(seconds)
                idle_cpu = cpu_seconds(pid) - cpu0
                for k in range(connections):
                    await world.visitor(f"idle-{k}")
                await trio.sleep(2)
                cpu1 = cpu_seconds(pid)
                await trio.sleep(seconds)
                rss2, cpu2 = rss_mib(pid), cpu_seconds(pid)
                nursery.cancel_scope.cancel()
    per = 1000 / connections
    cpu_per_min = ((cpu2 - cpu1) - idle_cpu) * per * 60 / seconds
    row = (
        f"{connections} idle visitor connections, heartbeats on",
        f"RSS {(rss2 - rss0) * per:.1f} MiB per 1,000 (server {rss0:.0f} -> {rss2:.0f} MiB); "
        f"CPU {cpu_per_min:.2f} s per minute per 1,000",
        "",
    )
    print(row)
    return [row]


async def main(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    only, tree = args.only.split(","), args.tree
    rows = []
    if "fanout" in only:
        ns = [int(n) for n in args.operators.split(",")]
        rows += await bench_fanout(ns, args.rooms, args.calls, tree)
    if "messages" in only:
        rates = [float(r) for r in args.rates.split(",")]
        rows += await bench_messages(args.rooms, rates, args.seconds, tree)
    if "idle" in only:
        rows += await bench_idle(args.idle, args.idle_seconds, tree)
    return rows


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (make bench)")
    parser.add_argument("--operators", default="10,100,1000")
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rates", default="500,1000,2000,4000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--only", default="fanout,messages,idle", help="which measures")
    parser.add_argument("--tree", help="serve from this checkout (an earlier commit)")
    parser.add_argument(
        "--unbatched",
        action="store_true",
        help="the peers don't ask for batched frames (hello.batch): one event a frame, as "
        "servers before batching sent to everybody",
    )
    args = parser.parse_args()
    Peer.batch = not args.unbatched
    if args.quick:
        args.calls, args.seconds, args.idle_seconds = 20, 3.0, 12.0
    started = time.monotonic()
    rows = trio.run(main, args)
    print(f"({time.monotonic() - started:.0f} s)")
    title = "Reference server: fan-out, throughput, idle cost"
    if args.unbatched:
        title += ", peers unbatched"
    if args.tree:
        title += f" (server from {args.tree})"
    append_results(title, rows, sys.argv)


if __name__ == "__main__":
    cli()
