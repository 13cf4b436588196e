"""Capacity: how many connected clients one ringlab process holds on the real clock, with
heartbeats on, while its timing stays precise.

    python bench/capacity_bench.py [--steps 2000,5000,10000] [--ramp 30] [--hold 40]

For each step N, the simulator (this process) brings N visitor pages onto the site over
``--ramp`` seconds, on links without toxics, and keeps them there (heartbeats answered)
for ``--hold`` seconds more, against a ``ringlab serve`` process. Its timing error is how
late the runner's own 0.5 s progress tick fires while all N are connected: every timer of
the run (think times, link delays) is as late as that. Target: >= 10,000 clients with the
error p99 < 5 ms.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from machine import append_results, percentile
from peers import prepare_db, server_process

from simulator.runner import run
from simulator.scenario import parse

TICK = 0.5  # the runner's progress period


def scenario(url: str, clients: int, ramp: float, hold: float) -> Any:
    return parse(
        {
            "name": f"capacity-{clients}",
            "duration": f"{ramp + hold:g}s",
            "clock": "real",
            "server": {"target": url.replace("ws://", "http://")},
            "visitors": [
                {
                    "name": "v",
                    "count": clients,
                    "over": f"{ramp:g}s",
                    "link": "latency=0ms",
                    "call": 0,
                    "stay": f"{(ramp + hold) * 2:g}s",
                }
            ],
        }
    )


def step(clients: int, ramp: float, hold: float) -> dict[str, float]:
    ticks: list[tuple[float, int]] = []

    def progress(t: float, counts: dict[str, int]) -> None:
        ticks.append((time.monotonic(), counts.get("connected", 0)))

    with tempfile.TemporaryDirectory(prefix="ringlab-capacity-") as tmp:
        db = str(Path(tmp) / "bench.db")
        trio.run(prepare_db, db, 0, 5)
        with server_process(db) as (url, _pid):
            started = time.monotonic()
            run(scenario(url, clients, ramp, hold), progress=progress)
    held = [(t, c) for t, c in ticks if ramp + 2 < t - started < ramp + hold]
    late = [b[0] - a[0] - TICK for a, b in itertools.pairwise(held)]
    return {
        "connected": min((c for _, c in held), default=0),
        "p50": percentile(late, 50) if late else float("nan"),
        "p99": percentile(late, 99) if late else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="2000,5000,10000")
    parser.add_argument("--ramp", type=float, default=30.0)
    parser.add_argument("--hold", type=float, default=40.0)
    args = parser.parse_args()
    rows = []
    for clients in [int(n) for n in args.steps.split(",")]:
        r = step(clients, args.ramp, args.hold)
        rows.append(
            (
                f"{clients} visitor pages, heartbeats on",
                f"held {r['connected']:.0f}; timing error p50 / p99 "
                f"{r['p50'] * 1000:.2f} / {r['p99'] * 1000:.2f} ms",
                "p99 < 5 ms up to >= 10,000",
            )
        )
        print(rows[-1])
        sys.stdout.flush()
    append_results("Capacity: clients held by one ringlab process", rows, sys.argv)


if __name__ == "__main__":
    main()
