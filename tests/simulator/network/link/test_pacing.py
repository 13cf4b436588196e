"""Bandwidth paces like a link, and the window limits a long fat path: under the autojump
clock, through a real :class:`~simulator.network.link.Link` over in-memory streams."""

import bisect
import itertools
import random

import pytest
import trio
import trio.testing

from simulator.network.link import WINDOW, open_link, parse
from simulator.network.link.bandwidth import PACE
from simulator.network.link.loss import MSS


async def download(chain, size, *, request=b""):
    """The server writes ``size`` bytes (after reading ``request``, if any); returns the
    client's reads as (seconds since the start, bytes) and the link."""
    client, server = trio.testing.memory_stream_pair()
    reads = []

    async def serve():
        got = b""
        while len(got) < len(request):
            got += await server.receive_some()
        await server.send_all(b"d" * size)

    async with (
        trio.open_nursery() as nursery,
        open_link(client, random.Random(1), parse(chain).toxics()) as link,
    ):
        start = trio.current_time()
        nursery.start_soon(serve)
        if request:
            await link.send_all(request)
        total = 0
        while total < size:
            data = await link.receive_some()
            total += len(data)
            reads.append((trio.current_time() - start, len(data)))
    return reads, link


async def upload(chain, size):
    """The client writes ``size`` bytes; returns the server's reads as (seconds, bytes)."""
    client, server = trio.testing.memory_stream_pair()
    reads = []
    async with (
        trio.open_nursery() as nursery,
        open_link(client, random.Random(1), parse(chain).toxics()) as link,
    ):
        start = trio.current_time()
        nursery.start_soon(link.send_all, b"u" * size)
        total = 0
        while total < size:
            data = await server.receive_some()
            total += len(data)
            reads.append((trio.current_time() - start, len(data)))
    return reads


async def test_a_download_arrives_a_segment_at_a_time_from_the_first_ms(autojump_clock):
    reads, _ = await download("down.rate=100KB/s", 300_000)
    # the first segment after its own sending time, not the whole read's (2.6 s before)
    assert reads[0] == (pytest.approx(MSS / 100_000), MSS)
    assert reads[-1][0] == pytest.approx(3.0)
    # smooth: every moment, what arrived is what the rate allows, within one segment
    total = 0
    for t, size in reads:
        total += size
        assert total == pytest.approx(100_000 * t, abs=MSS)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(reads)]
    assert max(gaps) == pytest.approx(MSS / 100_000)


async def test_an_upload_reaches_the_server_after_one_segment(autojump_clock):
    reads = await upload("up.rate=100KB/s", 300_000)
    assert reads[0][0] == pytest.approx(MSS / 100_000)
    assert reads[-1][0] == pytest.approx(3.0)


async def test_at_high_rates_slices_are_a_few_ms_of_sending(autojump_clock):
    rate = 12.5e6  # 100 Mbit/s
    reads, _ = await download("down.rate=100mbit", 2_000_000)
    assert reads[0][0] == pytest.approx(MSS / rate)  # still one MSS first
    assert max(size for _, size in reads) <= rate * PACE
    assert reads[-1][0] == pytest.approx(2_000_000 / rate)


async def test_3g_first_byte_of_a_response_after_one_rtt_and_one_segment(autojump_clock):
    request = b"GET / HTTP/1.1\r\n" + b"h" * 84  # 100 bytes
    reads, _ = await download("3g,loss=0,jitter=0", 100_000, request=request)
    up, down = 768e3 / 8, 1.6e6 / 8
    expected = 0.150 + len(request) / up + 0.150 + MSS / down  # 0.308 s
    assert reads[0][0] == pytest.approx(expected)
    # then the profile's rate
    assert 100_000 / (reads[-1][0] - 0.300 - len(request) / up) == pytest.approx(down, rel=0.01)


def throughput(reads):
    """Bytes per second from the first arrival to the last (what arrived at the first
    moment came before the clock started counting: a segment, or a whole window)."""
    first = reads[0][0]
    later = sum(size for t, size in reads if t > first)
    return later / (reads[-1][0] - first)


@pytest.mark.parametrize(
    ("chain", "window", "rtt"),
    [
        ("latency=300ms", WINDOW, 0.6),  # 5.2 MB/s, not 512 KiB per 300 ms
        ("up.latency=300ms", WINDOW, 0.3),  # the ack's way back is free here
        ("latency=50ms,window=256KiB", 256 * 1024, 0.1),
    ],
)
async def test_without_a_rate_the_window_per_rtt_is_the_throughput(
    autojump_clock, chain, window, rtt
):
    reads, _ = await download(chain, 10 * window)
    assert throughput(reads) == pytest.approx(window / rtt, rel=0.02)
    # and no byte arrives sooner than one RTT after the byte a window before it
    ends, times, total = [], [], 0
    for t, size in reads:
        total += size
        ends.append(total)
        times.append(t)
    for end, t in zip(ends, times, strict=True):
        if end - 1 - window >= 0:
            before = times[bisect.bisect_right(ends, end - 1 - window)]
            assert t >= before + rtt - 1e-9


@pytest.mark.parametrize("window", ["64KiB", "1MiB"])
async def test_a_window_smaller_than_the_bdp_limits_a_rated_link(autojump_clock, window):
    size = parse(f"window={window}").down.window
    reads, _ = await download(f"latency=100ms,rate=10MB/s,window={window}", 30 * size)
    assert throughput(reads) == pytest.approx(min(10e6, size / 0.2), rel=0.05)


async def test_satellite_reaches_its_documented_rate(autojump_clock):
    reads, _ = await download("satellite,loss=0", 12_500_000)  # 4 s at 25 Mbit/s
    assert throughput(reads) == pytest.approx(25e6 / 8, rel=0.05)


async def test_a_slow_reader_holds_the_window_and_the_writer_waits(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with open_link(client, random.Random(1), parse("window=64KiB").toxics()) as link:
        with trio.move_on_after(1.0):
            await server.send_all(b"x" * 1_000_000)
        await trio.sleep(1.0)
        # nobody read: the link took a window (and one read) from the wrapped stream
        held = link.pipes["down"].queued_bytes + link._received_bytes
        assert 64 * 1024 <= held <= 64 * 1024 + 256 * 1024
        got = 0
        while got < 1_000_000:
            got += len(await link.receive_some())
