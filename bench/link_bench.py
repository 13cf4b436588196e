"""Link benchmark: plain TCP against the same traffic through ``ringlab proxy``.

Both sides run in the same run, alternating, on loopback:

* added latency: echo round trips of 64 bytes, plain vs through a proxy with
  an empty chain (p50/p99 of the difference from the plain median);
* throughput: MB/s pushed through an echo (both directions at once);
* timing error: a proxy configured with ``up.latency=100ms``; how far each
  round trip is from plain + 100 ms (p50/p99 of the absolute error).

The proxy runs as its own process (``ringlab proxy``), as users run it; the
echo server and the client run here. Run ``python bench/link_bench.py
[--quick]``; the table is printed and appended to ``bench/RESULTS.md``.

``--compare DIR`` measures what issue #18 changed, alternating a proxy run from
``DIR`` (a worktree of the commit before) with one from this tree, in one run:
pacing (first byte and bursts of a 300 KB download at 100 KB/s, an upload's first
byte, a ``3g`` response's first byte), the window (``latency=300ms`` and
``satellite`` throughput) and the proxy's CPU per delayed write. ``--profiles``
measures every profile through the proxy: latency, jitter and rate each way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).parent))
from link_measure import compare, echo, margins, profiles
from machine import append_results, p50_p99_ms


@contextmanager
def proxy_process(upstream_port: int, profile: str, tree: str | None = None):
    """``ringlab proxy`` in its own process (from ``tree``, a checkout, if given);
    yields its port and pid."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": tree}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator.cli",
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            f"127.0.0.1:{upstream_port}",
            "--profile",
            profile,
            "--control",
            "none",
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tree,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "proxy ringlab: 127.0.0.1:PORT -> ..."
        yield int(first.split()[2].rsplit(":", 1)[1]), proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def round_trips(port: int, n: int, size: int = 64, gap: float = 0.0) -> list[float]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    stream.setsockopt(6, 1, 1)  # TCP_NODELAY: measure the path, not Nagle
    payload = b"x" * size
    out = []
    for _ in range(n):
        await trio.sleep(gap)
        start = time.perf_counter()
        await stream.send_all(payload)
        got = 0
        while got < size:
            got += len(await stream.receive_some(65536))
        out.append(time.perf_counter() - start)
    await stream.aclose()
    return out


async def throughput(port: int, total: int) -> float:
    """MB/s echoed through ``port`` with the writer and reader running at once."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    chunk = b"y" * 65536
    start = time.perf_counter()

    async def writer() -> None:
        sent = 0
        while sent < total:
            await stream.send_all(chunk)
            sent += len(chunk)

    received = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        while received < total:
            received += len(await stream.receive_some(1 << 20))
    elapsed = time.perf_counter() - start
    await stream.aclose()
    return received / elapsed / 1e6


async def main(quick: bool) -> None:
    rounds = 3 if quick else 5
    pings = 300 if quick else 2000
    volume = (50 if quick else 400) * 1_000_000
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, echo, 0)
        echo_port = listeners[0].socket.getsockname()[1]
        plain_rtt: list[float] = []
        proxy_rtt: list[float] = []
        slow_rtt: list[float] = []
        idle_rtt: list[float] = []  # empty chain after 100 ms idle, like the slow pings
        plain_tp: list[float] = []
        proxy_tp: list[float] = []
        with (
            proxy_process(echo_port, "") as (empty, _),
            proxy_process(echo_port, "up.latency=100ms") as (slow, _),
        ):
            for _ in range(rounds):  # alternate, so drift hits both sides alike
                plain_rtt += await round_trips(echo_port, pings)
                proxy_rtt += await round_trips(empty, pings)
                slow_rtt += await round_trips(slow, max(20, pings // 20))
                idle_rtt += await round_trips(empty, max(20, pings // 20), gap=0.1)
                plain_tp.append(await throughput(echo_port, volume))
                proxy_tp.append(await throughput(empty, volume))
        nursery.cancel_scope.cancel()

    floor = statistics.median(plain_rtt)
    added = [r - floor for r in proxy_rtt]
    # The error of the toxic alone: against the same proxy path after the same idle
    # time (waking an idle process costs ~0.3 ms on a VM, with or without a toxic).
    idle_floor = statistics.median(idle_rtt)
    error = [abs(r - idle_floor - 0.100) for r in slow_rtt]
    rows = [
        ("loopback RTT, plain TCP (p50 / p99)", p50_p99_ms(plain_rtt), ""),
        ("added by proxy, empty chain (p50 / p99)", p50_p99_ms(added), "p50 < 0.2 ms"),
        ("throughput plain TCP echo (median)", f"{statistics.median(plain_tp):.0f} MB/s", ""),
        (
            "throughput through proxy (median)",
            f"{statistics.median(proxy_tp):.0f} MB/s",
            "> 200 MB/s",
        ),
        ("100 ms latency: absolute error (p50 / p99)", p50_p99_ms(error), "p99 < 1 ms"),
    ]
    append_results("Link: plain TCP vs `ringlab proxy`", rows, sys.argv)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about a minute)")
    parser.add_argument("--compare", metavar="DIR", help="issue #18: the commit before, in DIR")
    parser.add_argument("--profiles", action="store_true", help="every profile, measured")
    parser.add_argument("--margins", action="store_true", help="timerfd vs spin margins")
    args = parser.parse_args()
    if args.compare:
        trio.run(compare, proxy_process, round_trips, args.compare, args.quick)
    elif args.profiles:
        trio.run(profiles, proxy_process, args.quick)
    elif args.margins:
        margins(args.quick)
    else:
        trio.run(main, args.quick)
