"""The link on trio over in-memory streams, under the autojump clock."""

import random
import statistics

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.network.link import LinkReset, open_link, parse
from simulator.network.link.spec import LinkSpec

MS = 0.001


async def echo(stream):
    """The far end: echo everything back, then close."""
    try:
        while data := await stream.receive_some():
            await stream.send_all(data)
        await stream.aclose()
    except trio.BrokenResourceError:
        pass


async def test_delays_through_the_link_match_the_configured_distribution(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    arrivals = []

    async def receive():
        while data := await server.receive_some():
            arrivals.extend([trio.current_time()] * len(data))

    sent = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive)
        async with open_link(
            client,
            random.Random(1),
            parse("up.latency=100ms,up.jitter=10ms,up.distribution=normal").toxics(),
        ) as link:
            for _ in range(2000):
                sent.append(trio.current_time())
                await link.send_all(b"x")
                await trio.sleep(1.0)  # far apart: no write waits for an earlier one
    delays = [a - s for a, s in zip(arrivals, sent, strict=True)]
    assert statistics.fmean(delays) == pytest.approx(100 * MS, rel=0.02)
    assert stats.kstest(delays, stats.norm(loc=100 * MS, scale=10 * MS).cdf).pvalue > 0.01
    assert link.statistics().up.chunks == 2000


async def test_bandwidth_through_the_link(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    got = bytearray()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(echo, server)
        async with open_link(client, random.Random(1), parse("down.rate=50KB/s").toxics()) as link:
            start = trio.current_time()
            await link.send_all(b"z" * 200_000)
            while len(got) < 200_000:
                got += await link.receive_some()
            elapsed = trio.current_time() - start
    assert 200_000 / elapsed == pytest.approx(50_000, rel=0.02)
    assert got == b"z" * 200_000


CHAIN = st.sampled_from(
    [
        "",
        "latency=20ms,jitter=15ms,distribution=pareto",
        "rate=20KB/s,burst=4KB,latency=5ms",
        "loss=0.1,loss_burst=300ms,mss=500,latency=10ms,jitter=5ms,distribution=normal",
        "up.loss=0.3,down.rate=8KB/s,slow_close=2s,outages=0.5s/1s 4s/2s",
        "3g",
        "flaky-mobile,outage_reset_after=10m",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chain=CHAIN,
    sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=40),
    gaps=st.lists(st.sampled_from([0, 0, 0.001, 0.05, 1.0]), min_size=1, max_size=40),
    seed=st.integers(0, 2**32),
)
def test_every_byte_arrives_once_in_order_unchanged(chain, sizes, gaps, seed):
    rng = random.Random(seed)
    payload = rng.randbytes(sum(sizes))

    async def main():
        client, server = trio.testing.memory_stream_pair()
        received = bytearray()

        async def reader(link):
            while data := await link.receive_some(rng.randint(1, 9000)):
                received.extend(data)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo, server)
            async with (
                open_link(client, random.Random(seed), parse(chain).toxics()) as link,
                trio.open_nursery() as inner,
            ):
                inner.start_soon(reader, link)
                offset = 0
                for i, size in enumerate(sizes):
                    await link.send_all(payload[offset : offset + size])
                    offset += size
                    await trio.sleep(gaps[i % len(gaps)])
                await link.send_eof()
        assert bytes(received) == payload

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


async def test_cut_holds_both_directions_for_its_duration(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(echo, server)
        async with open_link(client, random.Random(1)) as link:
            link.cut(5.0)
            start = trio.current_time()
            await link.send_all(b"ping")
            assert await link.receive_some() == b"ping"
            assert trio.current_time() - start == pytest.approx(5.0)
            assert link.statistics().up.outages == 1
            await link.send_all(b"again")
            assert await link.receive_some() == b"again"
            assert trio.current_time() - start == pytest.approx(5.0)


async def test_outage_longer_than_the_limit_resets_both_ends(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    spec = parse("outages=1s/60s,outage_reset_after=20s")
    async with open_link(client, random.Random(1), spec.toxics()) as link:
        await trio.sleep(2.0)
        await link.send_all(b"held")
        with pytest.raises(LinkReset):
            await link.receive_some()
        assert trio.current_time() == pytest.approx(21.0)
        with pytest.raises(LinkReset):
            await link.send_all(b"more")
        # the far end: it never got the held bytes, and its stream is closed
        assert await server.receive_some() == b""
        assert link.statistics().reset


@pytest.mark.parametrize(("chain", "at"), [("reset_peer=3s", 3.0)])
async def test_breaking_toxics_reset_at_the_documented_moment(autojump_clock, chain, at):
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(echo, server)
        async with open_link(client, random.Random(1), parse(chain).toxics()) as link:
            start = trio.current_time()
            with pytest.raises(LinkReset):  # on the write, or on a read after it
                await link.send_all(b"hello")
                while True:
                    assert await link.receive_some() in (b"hello", b"")[:1]
            assert trio.current_time() - start == pytest.approx(at)


async def test_limit_data_passes_the_limit_then_the_far_end_sees_the_end(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with open_link(client, random.Random(1), parse("up.limit_data=3").toxics()) as link:
        await link.send_all(b"hello")
        assert await server.receive_some() == b"hel"
        assert await server.receive_some() == b""
        assert trio.current_time() == 0.0


async def test_timeout_drops_data_then_the_far_end_sees_the_end(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with open_link(client, random.Random(1), parse("up.timeout=4s").toxics()) as link:
        await link.send_all(b"hello")
        assert await server.receive_some() == b""
        assert trio.current_time() == pytest.approx(4.0)


async def test_close_delivers_what_was_written_then_eof(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with open_link(
        client, random.Random(1), parse("latency=200ms,slow_close=1s").toxics()
    ) as link:
        await link.send_all(b"last words")
        await link.aclose()
        start = trio.current_time()
        assert await server.receive_some() == b"last words"
        assert await server.receive_some() == b""
        assert trio.current_time() - start == pytest.approx(1.2)
        with pytest.raises(trio.ClosedResourceError):
            await link.send_all(b"late")


async def test_toxics_can_change_while_connected(autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(echo, server)
        async with open_link(client, random.Random(1)) as link:
            ((name, toxic),) = parse("latency=300ms").up.toxics()
            link.add("up", name, toxic)
            start = trio.current_time()
            await link.send_all(b"a")
            await link.receive_some()
            assert trio.current_time() - start == pytest.approx(0.3)
            link.remove("up", name)
            start = trio.current_time()
            await link.send_all(b"b")
            await link.receive_some()
            assert trio.current_time() == start


def test_spec_builds_fresh_toxics_per_connection():
    spec = parse("flaky-mobile")
    first, second = spec.toxics(), spec.toxics()
    assert [n for _, n, _ in first] == [
        "bandwidth",
        "loss",
        "latency",
        "bandwidth",
        "loss",
        "latency",
        "outage",
        "outage",
    ]
    assert all(a is not b for (_, _, a), (_, _, b) in zip(first, second, strict=True))
    assert isinstance(spec, LinkSpec)
