"""Issue #18's measurements through ``ringlab proxy`` on loopback, for ``link_bench.py``.

``compare``: pacing, the window and the proxy's CPU per delayed write, alternating a
proxy from an earlier checkout (``--compare DIR``) with one from this tree, in one run.
``profiles``: every profile's latency, jitter and rate each way, as measured.

One server here speaks a one-line protocol: ``D n`` sends n bytes and closes (a
download); ``U n`` reads n bytes and notes when the first and last arrived (an upload);
``O n gap`` sends and receives n one-byte pings every ``gap`` seconds, noting when each
left and arrived (one-way delays: client and server share this process's clock).
"""

from __future__ import annotations

import itertools
import math
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import trio
from machine import append_results, p50_p99_ms
from peers import cpu_seconds

ProxyProcess = Callable[..., AbstractContextManager[tuple[int, int]]]
RoundTrips = Callable[..., Any]

# what the server noted, per connection, in order: upload (first, last) arrival times,
# ping (sent, arrived) times of server->client pings and arrivals of client->server ones
NOTES: dict[str, list[Any]] = {"uploads": [], "down_sent": [], "up_arrived": []}


async def _line(stream: trio.SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        data += await stream.receive_some(1)
    return data


async def serve(stream: trio.SocketStream) -> None:
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        kind, *args = (await _line(stream)).split()
        n = int(args[0])
        if kind == b"D":
            await stream.send_all(b"d" * n)
        elif kind == b"U":
            got, first = 0, None
            while got < n:
                got += len(await stream.receive_some(1 << 20))
                first = first or time.perf_counter()
            NOTES["uploads"].append((first, time.perf_counter()))
        elif kind == b"O":
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pings, stream, n, float(args[1]), NOTES["down_sent"])
                await _listen(stream, n, NOTES["up_arrived"])
        await stream.aclose()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def echo(stream: trio.SocketStream) -> None:
    try:
        while data := await stream.receive_some(65536):
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


async def _pings(stream: trio.SocketStream, n: int, gap: float, sent: list[float]) -> None:
    for _ in range(n):
        sent.append(time.perf_counter())
        await stream.send_all(b"p")
        await trio.sleep(gap)


async def _listen(stream: trio.SocketStream, n: int, arrived: list[float]) -> None:
    while len(arrived) < n:
        data = await stream.receive_some(4096)
        if not data:
            return
        arrived += [time.perf_counter()] * len(data)


async def download(port: int, size: int, head: bytes = b"") -> list[tuple[float, int]]:
    """(seconds since the request was written, bytes) of each read of a download."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    start = time.perf_counter()
    await stream.send_all(head + f"D {size}\n".encode())
    reads, got = [], 0
    while got < size:
        data = await stream.receive_some(1 << 20)
        got += len(data)
        reads.append((time.perf_counter() - start, len(data)))
    await stream.aclose()
    return reads


async def upload_first_byte(port: int, size: int) -> float:
    """Seconds from the client's first write of an upload to its first byte at the server."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    NOTES["uploads"].clear()
    start = time.perf_counter()
    await stream.send_all(f"U {size}\n".encode() + b"u" * size)
    while not NOTES["uploads"]:
        await trio.sleep(0.01)
    await stream.aclose()
    return float(NOTES["uploads"][0][0]) - start


def shape(reads: list[tuple[float, int]]) -> str:
    """First byte, bursts (runs of reads less than 100 ms apart), the largest gap."""
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(reads)]
    bursts = 1 + sum(g > 0.1 for g in gaps)
    return (
        f"first byte {reads[0][0]:.3f} s, {bursts} burst(s), largest gap {max(gaps) * 1e3:.0f} ms"
    )


def rate(reads: list[tuple[float, int]]) -> float:
    """Bytes/s from the first read to the last; what came with the first read (within
    50 ms: a window may arrive at once) arrived before the clock counted."""
    first = reads[0][0]
    later = sum(n for t, n in reads if t > first + 0.05)
    return later / (reads[-1][0] - first)


async def compare(proxy: ProxyProcess, round_trips: RoundTrips, tree: str, quick: bool) -> None:
    rounds, pings, latency = (2, 300, 0.02) if quick else (3, 600, 0.02)
    trees: dict[str, str | None] = {"before": tree, "now": None}
    results: dict[str, dict[str, list[Any]]] = {k: {} for k in trees}
    async with trio.open_nursery() as nursery:
        port = (await nursery.start(trio.serve_tcp, serve, 0))[0].socket.getsockname()[1]
        echo_port = (await nursery.start(trio.serve_tcp, echo, 0))[0].socket.getsockname()[1]
        for _ in range(rounds):
            for name, where in trees.items():  # alternate, so drift hits both alike
                out = results[name]

                def note(key: str, value: Any, out: dict[str, list[Any]] = out) -> None:
                    out.setdefault(key, []).append(value)

                with proxy(port, "down.rate=100KB/s", where) as (p, _):
                    note("pace", shape(await download(p, 300_000)))
                with proxy(port, "up.rate=100KB/s", where) as (p, _):
                    note("upload", await upload_first_byte(p, 300_000))
                with proxy(port, "3g,loss=0", where) as (p, _):
                    note("3g", (await download(p, 100_000))[0][0])
                with proxy(port, "latency=300ms", where) as (p, _):
                    # whole windows: they arrive one per RTT, at once
                    note("bare", rate(await download(p, 8 * 3 * 1024 * 1024)))
                with proxy(port, "satellite,loss=0", where) as (p, _):
                    note("satellite", rate(await download(p, 12_500_000)))
                for chain in ("", f"up.latency={latency * 1e3:g}ms"):
                    with proxy(echo_port, chain, where) as (p, pid):
                        await round_trips(p, 20)  # warm up
                        cpu = cpu_seconds(pid)
                        # both after the same idle time: waking an idle process costs
                        # ~0.3 ms on this VM, with or without a toxic
                        rtts = await round_trips(p, pings, gap=0 if chain else latency)
                        note(f"cpu {chain}", (cpu_seconds(pid) - cpu) / pings)
                        note(f"rtt {chain}", rtts)
        nursery.cancel_scope.cancel()
    rows: list[tuple[str, str, str]] = []
    for name in trees:
        out = results[name]
        floor = statistics.median(x for r in out["rtt "] for x in r)
        error = [
            abs(x - floor - latency) for r in out[f"rtt up.latency={latency * 1e3:g}ms"] for x in r
        ]
        empty, delayed = (
            statistics.median(out["cpu "]),
            statistics.median(out[f"cpu up.latency={latency * 1e3:g}ms"]),
        )
        rows += [
            (
                f"{name}: 300 KB at 100 KB/s, each round",
                "; ".join(out["pace"]),
                "first byte ~15 ms, 1 burst",
            ),
            (
                f"{name}: upload at 100 KB/s, first byte at the server (median)",
                f"{statistics.median(out['upload']):.3f} s",
                "~15 ms",
            ),
            (
                f"{name}: 3g (loss 0), response's first byte (median)",
                f"{statistics.median(out['3g']):.3f} s",
                "~0.31 s",
            ),
            (
                f"{name}: latency=300ms, 25 MB download (median)",
                f"{statistics.median(out['bare']) / 1e6:.2f} MB/s",
                "3 MiB / 0.6 s = 5.24 MB/s",
            ),
            (
                f"{name}: satellite (loss 0), 12.5 MB download (median)",
                f"{statistics.median(out['satellite']) / 1e6:.2f} MB/s",
                "25 Mbit/s = 3.13 MB/s",
            ),
            (
                f"{name}: proxy CPU per ping, no toxic / up.latency={latency * 1e3:g}ms (both"
                f" {latency * 1e3:g} ms apart)",
                f"{empty * 1e3:.2f} / {delayed * 1e3:.2f} ms",
                "",
            ),
            (
                f"{name}: CPU per delayed write (the difference)",
                f"{(delayed - empty) * 1e3:.2f} ms",
                "a fraction of before",
            ),
            (
                f"{name}: {latency * 1e3:g} ms latency, absolute error (p50 / p99)",
                p50_p99_ms(error),
                "p99 < 1 ms",
            ),
        ]
    append_results(f"Link: pacing, window, CPU per delayed write (before = {tree})", rows, sys.argv)


def _one_way(sent: list[float], arrived: list[float]) -> list[float]:
    return [a - s for s, a in zip(sent, arrived, strict=False)]


def _jitter(delays: list[float], distribution: str) -> float:
    sd = statistics.stdev(delays)
    return sd * math.sqrt(3) if distribution == "uniform" else sd


async def _pings_both_ways(port: int, n: int, gap: float) -> tuple[list[float], list[float]]:
    NOTES["down_sent"].clear()
    NOTES["up_arrived"].clear()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await stream.send_all(f"O {n} {gap}\n".encode())
    up_sent: list[float] = []
    down_arrived: list[float] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_pings, stream, n, gap, up_sent)
        await _listen(stream, n, down_arrived)
    await stream.aclose()
    return _one_way(up_sent, NOTES["up_arrived"]), _one_way(NOTES["down_sent"], down_arrived)


def _specs() -> Iterator[tuple[str, Any]]:
    from simulator.network.link import PROFILES, parse

    for name in PROFILES:
        yield name, parse(f"{name},loss=0")


async def profiles(proxy: ProxyProcess, quick: bool) -> None:
    n, gap, seconds = (60, 0.1, 1.5) if quick else (150, 0.1, 3.0)
    rows: list[tuple[str, str, str]] = []
    async with trio.open_nursery() as nursery:
        port = (await nursery.start(trio.serve_tcp, serve, 0))[0].socket.getsockname()[1]
        with proxy(port, "") as (p, _):
            floor = [statistics.median(d) for d in await _pings_both_ways(p, n, gap)]
        for name, spec in _specs():
            with proxy(port, f"{name},loss=0,outage_mtbf=0", None) as (p, _):
                delays = await _pings_both_ways(p, n, gap)
                size = int(min(spec.down.rate * seconds, 50e6))
                down = rate(await download(p, size))
            with proxy(port, f"{name},loss=0,outage_mtbf=0", None) as (p, _):
                up_size = int(min(spec.up.rate * seconds, 50e6))
                await upload_first_byte(p, up_size)
                first, last = NOTES["uploads"][0]
                up = (up_size - min(up_size, spec.up.mss)) / (last - first)
            measured = []
            for side, d, f in zip((spec.up, spec.down), delays, floor, strict=True):
                mean = statistics.fmean(d) - f
                measured.append(
                    f"{mean * 1e3:.2f} ± {_jitter(d, side.distribution) * 1e3:.2f} ms "
                    f"(set {side.latency * 1e3:g} ± {side.jitter * 1e3:g})"
                )
            rows.append(
                (f"{name}: up / down latency ± jitter", " / ".join(measured), "within 10 %")
            )
            rows.append(
                (
                    f"{name}: up / down rate",
                    f"{up / 1e6:.3f} / {down / 1e6:.3f} MB/s "
                    f"(set {spec.up.rate / 1e6:.3f} / {spec.down.rate / 1e6:.3f})",
                    "within 10 %",
                )
            )
        nursery.cancel_scope.cancel()
    append_results("Link: every profile through `ringlab proxy` (loss 0)", rows, sys.argv)


def margins(quick: bool) -> None:
    """The fallback without a timerfd: error and CPU per delayed write for several early
    margins, and the timerfd for comparison, on links in this process over loopback TCP."""
    import random

    from simulator.network.link import open_link, parse
    from simulator.network.link import timer as link_timer

    n, latency = (150, 0.02) if quick else (400, 0.02)
    rows: list[tuple[str, str, str]] = []
    for margin in (None, 0.0005, 0.001, 0.0015, 0.003):
        link_timer.MARGIN = margin or link_timer.MARGIN
        opened = link_timer._open_timerfd
        if margin is not None:  # a fresh run each: the run's alarms are made on first use
            link_timer._open_timerfd = lambda: None  # type: ignore[assignment]
        try:
            errors, cpu = trio.run(_precise_pings, open_link, parse, random, n, latency)
        finally:
            link_timer._open_timerfd = opened
        label = "timerfd" if margin is None else f"spin, wake {margin * 1e3:g} ms early"
        rows.append((f"{label}: error p50 / p99", p50_p99_ms(errors), "p99 < 1 ms"))
        rows.append((f"{label}: CPU per delayed write", f"{cpu * 1e3:.3f} ms", ""))
    append_results("Link: precise wake-ups, timerfd vs early margins", rows, sys.argv)


async def _precise_pings(
    open_link: Any, parse: Any, random: Any, n: int, latency: float
) -> tuple[list[float], float]:
    """Errors of ``n`` writes delayed by ``latency`` on a precise link over loopback, and
    the CPU per write beyond the same writes with no toxic."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen()
    out: dict[str, Any] = {}
    for chain in ("", f"up.latency={latency * 1e3:g}ms"):
        client = await trio.open_tcp_stream(*listener.getsockname())
        sock, _ = await listener.accept()
        server = trio.SocketStream(sock)
        delays = []
        async with open_link(client, random.Random(1), parse(chain).toxics(), precise=True) as link:
            cpu = time.process_time()
            for _ in range(n):
                await trio.sleep(latency if not chain else 0)  # the same idle time
                start = time.perf_counter()
                await link.send_all(b"x")
                await server.receive_some(1)
                delays.append(time.perf_counter() - start)
            out[chain] = (delays, (time.process_time() - cpu) / n)
        await server.aclose()
    floor = statistics.median(out[""][0])
    delayed, delayed_cpu = out[f"up.latency={latency * 1e3:g}ms"]
    return [abs(d - floor - latency) for d in delayed], delayed_cpu - out[""][1]
