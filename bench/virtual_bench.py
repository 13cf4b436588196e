"""Virtual-clock speed: simulated seconds per wall second, and events per wall second.

    python bench/virtual_bench.py [--visitors 100,1000] [--duration 120] [--profile]

Two workloads, from the flagship scenarios' links: ``baseline`` (clean links) and
``ring_after_accept`` (operators on a lossy 3G uplink). N visitors arrive in the first
10 s and stay on the site for the whole run (N concurrent), half of them call; there is
one operator per 5 visitors. Results go to bench/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from typing import Any

from machine import append_results

from simulator.play.runner import run
from simulator.scenario import parse

LINKS = {
    "baseline": ("lan", "broadband"),
    "ring_after_accept": ("3g,up.loss=0.3,up.loss_burst=300ms", "broadband"),
}


def workload(kind: str, visitors: int, duration: float) -> Any:
    operator_link, visitor_link = LINKS[kind]
    return parse(
        {
            "name": f"bench-{kind}-{visitors}",
            "duration": f"{duration:g}s",
            "seed": 1,
            "clock": "virtual",
            "server": {"max_chats": 5},
            "operators": [
                {
                    "name": "ops",
                    "count": max(2, visitors // 5),
                    "link": operator_link,
                    "reaction": "1s..3s",
                    "close_after": "20s..40s",
                }
            ],
            "visitors": [
                {
                    "name": "v",
                    "count": visitors,
                    "over": "10s",
                    "link": visitor_link,
                    "call": 0.5,
                    "messages": 3,
                    "think": "3s..8s",
                    "stay": f"{duration * 2}s",
                }
            ],
        }
    )


def measure(kind: str, visitors: int, duration: float, profile: bool) -> dict[str, Any]:
    loaded = workload(kind, visitors, duration)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    result = run(loaded)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - started
    simulated = max(e.t for e in result.events)
    row = {
        "workload": kind,
        "visitors": visitors,
        "simulated_s": simulated,
        "wall_s": wall,
        "speedup": simulated / wall,
        "events": len(result.events),
        "events_per_s": len(result.events) / wall,
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        row["profile"] = out.getvalue()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", default="100,1000")
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    rows = []
    for visitors in [int(v) for v in args.visitors.split(",")]:
        for kind in LINKS:
            row = measure(kind, visitors, args.duration, args.profile)
            rows.append(row)
            print(
                f"{kind:18} {visitors:5} visitors: {row['simulated_s']:6.0f} s simulated in "
                f"{row['wall_s']:6.1f} s = {row['speedup']:6.1f}x real time, "
                f"{row['events']:7} events, {row['events_per_s']:8.0f} events/s"
            )
            if "profile" in row:
                print(row["profile"])
    results = [
        (
            f"{r['workload']}, {r['visitors']} concurrent visitors",
            f"{r['simulated_s']:.0f} s in {r['wall_s']:.1f} s = {r['speedup']:.1f}x real time; "
            f"{r['events']} events, {r['events_per_s']:.0f} events/s",
            ">= 100x" if r["visitors"] <= 100 else "",
        )
        for r in rows
    ]
    if not args.no_record:
        append_results("Virtual clock: simulated time per wall time", results, sys.argv)


if __name__ == "__main__":
    main()
