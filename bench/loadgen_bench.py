"""Load-generation cost: ringlab against Locust and Artillery, driving the same visitor flow
against the same reference server, in one run, alternating.

    python bench/loadgen_bench.py [--clients 1000] [--over 60] [--rounds 3] [--quick]

The flow, for every virtual client: connect, hello, call, wait until an operator accepts
(the room opens), then 10 chat messages, each after a 2 s think and answered, then leave.
Arrivals are spread so that the server is far from saturated (~400 messages/s at most for
1,000 clients over 60 s): what is measured is the load generators.
Twenty operator bots in this process accept the calls and close each chat after its tenth
message. Each tool runs as its own process:

- ringlab: the simulator's visitors (``simulator.play.runner.run``, no report written), links
  without toxics;
- Locust (``bench/.venv-locust``): ``bench/loadgen/visitor_locust.py``, websocket-client;
- Artillery (``bench/node_modules``): ``bench/loadgen/visitor_artillery.yml``, ws engine.

Measured per tool: CPU seconds (user + system, the whole process tree) and peak RSS (the
tree, sampled every 50 ms), both per 1,000 clients; flows completed; and the timing error
it adds: from the server's own timestamps (SQLite), the gap between a client's consecutive
messages minus the 2 s think (so it holds the reply's round trip plus the tool's lateness).
``make bench-deps`` installs Locust and Artillery.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from machine import append_results, percentile
from peers import Peer, prepare_db, server_process

HERE = Path(__file__).resolve().parent
LOCUST = HERE / ".venv-locust" / "bin" / "locust"
ARTILLERY = HERE / "node_modules" / ".bin" / "artillery"
BOTS = 20
MESSAGES = 10
THINK = 2.0  # seconds; the same in loadgen/visitor_locust.py and visitor_artillery.yml

RINGLAB_RUN = """
import sys
from simulator.play.runner import run
from simulator.scenario import parse
import json
run(parse(json.loads(sys.argv[1])))
"""


def ringlab_scenario(url: str, clients: int, over: float) -> dict[str, Any]:
    return {
        "name": "loadgen",
        "duration": f"{over + 40:g}s",
        "clock": "real",
        # a run against a target applies its server settings: as many chats per operator
        # as the bots are given (the default, 5, would leave calls waiting)
        "server": {"target": url.replace("ws://", "http://"), "max_chats": clients},
        "visitors": [
            {
                "name": "v",
                "count": clients,
                "over": f"{over:g}s",
                "link": "latency=0ms",
                "call": 1,
                "messages": MESSAGES,
                "think": f"{THINK:g}s",
                "stay": "0s",
                "patience": "60s",
            }
        ],
    }


def command(tool: str, url: str, clients: int, over: float) -> list[str]:
    if tool == "ringlab":
        scenario = json.dumps(ringlab_scenario(url, clients, over))
        return [sys.executable, "-c", RINGLAB_RUN, scenario]
    if tool == "locust":
        return [
            str(LOCUST),
            *("-f", str(HERE / "loadgen" / "visitor_locust.py"), "--headless"),
            *("-u", str(clients), "-r", f"{clients / over:g}"),
            *("--run-time", f"{over + 40:g}s", "--host", url, "--only-summary"),
        ]
    overrides = {"config": {"phases": [{"duration": over, "arrivalCount": clients}]}}
    return [
        str(ARTILLERY),
        *("run", "--quiet", "-t", f"{url}/ws/visitor"),
        *("--overrides", json.dumps(overrides), str(HERE / "loadgen" / "visitor_artillery.yml")),
    ]


def tree_rss_mib(root: int) -> float:
    """RSS of a process and all its descendants, MiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) / 1024
        except (OSError, IndexError):
            pass
        stack.extend(children.get(pid, []))
    return total


class Bots:
    """Operators that accept every call (each call goes to one of them, by its id) and
    close a chat after its last message."""

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self.counts: dict[str, int] = {}
        self.nursery: trio.Nursery

    def on_event(self, peer: Peer, event: dict[str, Any], t: float) -> None:
        kind = event["type"]
        if kind == "ring" and hash(event["call"]) % len(self.peers) == peer.index:
            self.nursery.start_soon(self._quietly, peer, "accept", {"call": event["call"]})
        elif kind == "message" and event["from"]["role"] == "visitor":
            room = event["room"]
            self.counts[room] = self.counts.get(room, 0) + 1
            if self.counts[room] == MESSAGES:
                self.nursery.start_soon(self._quietly, peer, "close", {"room": room})

    async def _quietly(self, peer: Peer, kind: str, fields: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError):  # taken by another bot, or the visitor left
            await peer.request(kind, **fields)

    async def start(self, nursery: trio.Nursery, url: str, tokens: list[str]) -> None:
        self.nursery = nursery
        for i, token in enumerate(tokens):
            peer = Peer(i, self.on_event)
            self.peers.append(peer)
            await peer.open(nursery, f"{url}/ws/operator", {"token": token})


def timing_error(db: str) -> tuple[list[float], int]:
    """Gaps between each visitor's consecutive messages minus the think time; and how many
    chats got all their messages."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT room_id, at FROM messages WHERE role = 'visitor' ORDER BY room_id, n"
        ).fetchall()
    rooms: dict[str, list[float]] = {}
    for room, at in rows:
        rooms.setdefault(room, []).append(at)
    gaps = [b - a - THINK for ats in rooms.values() for a, b in itertools.pairwise(ats)]
    return gaps, sum(len(ats) == MESSAGES for ats in rooms.values())


async def one_run(tool: str, clients: int, over: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ringlab-loadgen-") as tmp:
        db = str(Path(tmp) / "bench.db")
        tokens = await prepare_db(db, BOTS, max_chats=clients)
        with server_process(db) as (url, _pid):
            async with trio.open_nursery() as nursery:
                await Bots().start(nursery, url, tokens)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                env = {**os.environ, "ARTILLERY_DISABLE_TELEMETRY": "true"}
                peak = 0.0
                started = time.monotonic()
                proc = await trio.lowlevel.open_process(
                    command(tool, url, clients, over),
                    stdout=open(Path(tmp) / f"{tool}.log", "w"),  # noqa: SIM115
                    stderr=open(Path(tmp) / f"{tool}.err", "w"),  # noqa: SIM115
                    env=env,
                )
                while proc.poll() is None:
                    peak = max(peak, await trio.to_thread.run_sync(tree_rss_mib, proc.pid))
                    await trio.sleep(0.05)
                wall = time.monotonic() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                await trio.sleep(1)
                nursery.cancel_scope.cancel()
            gaps, completed = timing_error(db)
            if proc.returncode != 0:
                err = (Path(tmp) / f"{tool}.err").read_text()[-2000:]
                err += (Path(tmp) / f"{tool}.log").read_text()[-2000:]
                print(f"{tool} exited with {proc.returncode}:\n{err}", file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "cpu": cpu,
        "peak": peak,
        "wall": wall,
        "completed": completed,
        "gap50": percentile(gaps, 50) if gaps else float("nan"),
        "gap99": percentile(gaps, 99) if gaps else float("nan"),
    }


async def main(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    tools = [t for t in ("ringlab", "locust", "artillery") if t in args.tools.split(",")]
    results: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    for round_ in range(args.rounds):
        for tool in tools:  # alternating: the machine's drift hits every tool alike
            r = await one_run(tool, args.clients, args.over)
            results[tool].append(r)
            print(
                f"round {round_ + 1} {tool:9} " + json.dumps({k: round(v, 4) for k, v in r.items()})
            )
    per = 1000 / args.clients
    rows = []
    for tool, runs in results.items():
        best = min(runs, key=lambda r: r["cpu"])
        rows.append(
            (
                f"{tool}: {args.clients} clients over {args.over:g} s ({len(runs)} runs, median)",
                f"CPU {median(runs, 'cpu') * per:.1f} s and peak RSS "
                f"{median(runs, 'peak') * per:.0f} MiB per 1,000 clients; "
                f"flows completed {best['completed']:.0f}/{args.clients}; added timing "
                f"p50 / p99 {median(runs, 'gap50') * 1000:.1f} / "
                f"{median(runs, 'gap99') * 1000:.1f} ms",
                {"ringlab": "<= Locust CPU and memory; <= 0.5x Artillery memory"}.get(tool, ""),
            )
        )
    return rows


def median(runs: list[dict[str, float]], key: str) -> float:
    return percentile([r[key] for r in runs], 50)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--over", type=float, default=60.0, help="seconds over which they arrive")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tools", default="ringlab,locust,artillery")
    parser.add_argument("--quick", action="store_true", help="200 clients over 20 s, one round")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.over, args.rounds = 200, 20.0, 1
    missing = [str(p) for p in (LOCUST, ARTILLERY) if not p.exists()]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run `make bench-deps` first")
    rows = trio.run(main, args)
    append_results("Load generation: ringlab vs Locust vs Artillery", rows, sys.argv)


if __name__ == "__main__":
    cli()
