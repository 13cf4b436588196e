"""Every profile measures as documented: rate, latency and jitter each way, within 10 %.

Measured through a real :class:`~simulator.network.link.Link` over in-memory streams under the
autojump clock, so the figures are the model's and the test passes on a busy machine
(``bench/link_bench.py --profiles`` measures the same through ``ringlab proxy`` on
loopback). Loss is set to 0 and outages off: each stalls by design (see
``tests/simulator/network/link/test_loss.py``), and a stall is not the latency or the rate
a profile documents.

The jitter is a standard deviation (a half-width for ``uniform``). For the heavy-tailed
shapes (``pareto``, ``paretonormal``) a sample's standard deviation is no measure at
10 %: a shape-3 Pareto has no fourth moment, and 30,000 draws give 0.9-1.4 times the
true value depending on the seed. Their spread is measured as the mean absolute
deviation instead, which converges like any mean, against what that is for the
documented jitter and shape (computed below with numpy, apart from the link's code).
"""

import dataclasses
import functools
import math
import random
import statistics

import numpy as np
import pytest
import trio
import trio.testing
from scipy.signal import lfilter

from simulator.network.link import PROFILES, open_link, parse

PINGS = 5000
GAP = 1.0  # seconds between pings: far apart, so none waits for an earlier one
# seconds of bulk transfer per direction: long enough that the latest a segment's delay
# made the last one (in order, behind the slowest before it) is small beside it
RATE_SECONDS = 5.0
RATE_BYTES = 50_000_000  # but no more bytes than this (a gigabit LAN's 0.4 s)


def spec_of(name):
    spec = parse(f"{name},loss=0")
    return dataclasses.replace(spec, outage_mtbf=None, outage_mttr=None, outages=())


async def one_way_delays(name, pings):
    """(up delays, down delays) of 1-byte pings sent every GAP seconds both ways at once."""
    client, server = trio.testing.memory_stream_pair()
    sent = {"up": [], "down": []}
    arrived = {"up": [], "down": []}

    async def ping(direction, stream):
        for _ in range(pings):
            sent[direction].append(trio.current_time())
            await stream.send_all(b"p")
            await trio.sleep(GAP)

    async def listen(direction, stream):
        while len(arrived[direction]) < pings:
            data = await stream.receive_some()
            arrived[direction] += [trio.current_time()] * len(data)

    toxics = spec_of(name).toxics()
    async with open_link(client, random.Random(7), toxics) as link, trio.open_nursery() as nursery:
        nursery.start_soon(ping, "up", link)
        nursery.start_soon(listen, "up", server)
        nursery.start_soon(ping, "down", server)
        nursery.start_soon(listen, "down", link)
    return tuple([a - s for a, s in zip(arrived[d], sent[d], strict=True)] for d in ("up", "down"))


async def rates(name):
    """(up, down) bytes per second of a bulk transfer each way, one after the other."""
    spec = spec_of(name)
    out = []
    for direction, rate in (("up", spec.up.rate), ("down", spec.down.rate)):
        size = int(min(rate * RATE_SECONDS, RATE_BYTES))
        client, server = trio.testing.memory_stream_pair()
        async with open_link(client, random.Random(7), spec.toxics()) as link:
            writer, reader = (link, server) if direction == "up" else (server, link)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer.send_all, b"b" * size)
                times, got = [], 0
                while got < size:
                    data = await reader.receive_some()
                    got += len(data)
                    times.append((trio.current_time(), len(data)))
        first = times[0][0]
        later = sum(n for t, n in times if t > first)
        out.append(later / (times[-1][0] - first))
    return tuple(out)


@functools.cache
def mad_per_sd(distribution, correlation, n=2_000_000):
    """E|X - mean| / sd of the delay process ``simulator.network.link.latency`` documents: netem's
    shape-3 Pareto, the 1:3 normal/Pareto blend, and an AR(1) over the draws that keeps
    the spread."""
    rng = np.random.default_rng(0)
    pareto = (rng.pareto(3.0, n) + 1.0 - 1.5) / (math.sqrt(3) / 2)  # mean 0, sd 1
    z = pareto
    if distribution == "paretonormal":
        z = (0.25 * rng.standard_normal(n) + 0.75 * pareto) / math.hypot(0.25, 0.75)
    if correlation:
        z = lfilter([math.sqrt(1 - correlation**2)], [1.0, -correlation], z)
    return float(np.mean(np.abs(z - z.mean())) / z.std())


def spread(delays, side):
    """The jitter as measured: see the module's docstring."""
    if side.distribution == "uniform":
        return statistics.stdev(delays) * math.sqrt(3)
    if side.distribution == "normal":
        return statistics.stdev(delays)
    mean = statistics.fmean(delays)
    mad = statistics.fmean(abs(d - mean) for d in delays)
    return mad / mad_per_sd(side.distribution, side.correlation)


@pytest.mark.parametrize("name", list(PROFILES))
async def test_profile_measures_as_documented(autojump_clock, name):
    spec = spec_of(name)
    # correlated draws carry less information each: more of them
    pings = PINGS * (4 if spec.down.correlation else 1)
    for side, delays in zip((spec.up, spec.down), await one_way_delays(name, pings), strict=True):
        # a 1-byte ping also waits its sending time at the profile's rate
        mean = statistics.fmean(delays) - 1 / side.rate
        assert mean == pytest.approx(side.latency, rel=0.10)
        assert spread(delays, side) == pytest.approx(side.jitter, rel=0.10)
    up, down = await rates(name)
    assert up == pytest.approx(spec.up.rate, rel=0.10)
    assert down == pytest.approx(spec.down.rate, rel=0.10)
