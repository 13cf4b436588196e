"""Capacity: how many connected clients one ringlab process holds on the real clock, with
heartbeats on, while its timing stays precise.

    python bench/capacity_bench.py [--steps 2000,5000,10000] [--ramp 30] [--hold 100]

For each step N, the simulator (this process) brings N visitor pages onto the site over
``--ramp`` seconds, on links without toxics, and keeps them there (heartbeats answered)
for ``--hold`` seconds more, against a ``ringlab serve`` process. Its timing error is how
late the runner's own 0.5 s progress tick fires after its deadline, from 2 s after all N
are connected to the end of the hold: every timer of the run (think times, link delays)
is as late as that. Target: >= 10,000 clients with the error p99 < 5 ms.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import trio
from machine import append_results, percentile
from peers import prepare_db, server_process

from simulator.play.runner import PROGRESS_PERIOD, run
from simulator.scenario import parse

SETTLE = 15.0  # seconds after the ramp by which every client must be in


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
    ticks: list[tuple[float, int]] = []  # (run time of the tick, clients connected)

    def progress(t: float, counts: dict[str, int]) -> None:
        ticks.append((t, counts.get("connected", 0)))

    with tempfile.TemporaryDirectory(prefix="ringlab-capacity-") as tmp:
        db = str(Path(tmp) / "bench.db")
        trio.run(prepare_db, db, 0, 5)
        with server_process(db) as (url, _pid):
            run(scenario(url, clients, ramp, hold), progress=progress)
    # Held means after the crowd is in: from the first tick with everyone connected (the
    # last handshakes of the ramp may come a few seconds late), or ramp + SETTLE at most.
    full = next((t for t, c in ticks if c >= clients), math.inf)
    start = min(max(full, ramp), ramp + SETTLE) + 2
    # tick k is due k * PROGRESS_PERIOD after the first (the runner ticks on deadlines)
    held = [(k, t, c) for k, (t, c) in enumerate(ticks) if start < t < ramp + hold]
    late = [t - ticks[0][0] - k * PROGRESS_PERIOD for k, t, _ in held]
    return {
        "connected": min((c for _, _, c in held), default=0),
        "all_in": full,
        "p50": percentile(late, 50) if late else float("nan"),
        "p99": percentile(late, 99) if late else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="2000,5000,10000")
    parser.add_argument("--ramp", type=float, default=30.0)
    parser.add_argument("--hold", type=float, default=100.0)
    args = parser.parse_args()
    rows = []
    for clients in [int(n) for n in args.steps.split(",")]:
        r = step(clients, args.ramp, args.hold)
        all_in = f"all in at {r['all_in']:.0f} s" if r["all_in"] < math.inf else "never all in"
        rows.append(
            (
                f"{clients} visitor pages, heartbeats on",
                f"held {r['connected']:.0f} ({all_in}); timing error p50 / p99 "
                f"{r['p50'] * 1000:.2f} / {r['p99'] * 1000:.2f} ms",
                "p99 < 5 ms up to >= 10,000",
            )
        )
        print(rows[-1])
        sys.stdout.flush()
    append_results("Capacity: clients held by one ringlab process", rows, sys.argv)


if __name__ == "__main__":
    main()
