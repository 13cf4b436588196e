"""A precise link's wake-ups: the run's timerfd (or the fallback) fires in order and never
early. Logic only: how late, and at what CPU, is measured in ``bench/link_bench.py``."""

import random

import pytest
import trio
import trio.testing

from simulator.network.link import open_link, parse
from simulator.network.link import timer as link_timer
from simulator.network.link.timer import Mode, Signal, Waker


async def delays_through_a_precise_link(n=10, latency=0.02):
    client, server = trio.testing.memory_stream_pair()
    sent, arrived = [], []
    chain = parse(f"up.latency={latency * 1000:g}ms").toxics()
    async with open_link(client, random.Random(1), chain, precise=True) as link:
        for _ in range(n):
            sent.append(trio.current_time())
            await link.send_all(b"x")
            assert await server.receive_some() == b"x"
            arrived.append(trio.current_time())
        mode = link._waker.mode
    return mode, [a - s for a, s in zip(arrived, sent, strict=True)]


def test_a_precise_link_on_the_real_clock_uses_the_timerfd_and_is_never_early():
    mode, delays = trio.run(delays_through_a_precise_link)
    assert mode is Mode.ALARM
    assert min(delays) >= 0.02
    assert max(delays) < 1.0  # late only by a scheduling hiccup, never by a lost wake-up


def test_without_a_timerfd_a_precise_link_spins_the_last_stretch(monkeypatch):
    monkeypatch.setattr(link_timer, "_open_timerfd", lambda: None)
    mode, delays = trio.run(delays_through_a_precise_link)
    assert mode is Mode.SPIN
    assert min(delays) >= 0.02


async def test_under_a_virtual_clock_precise_changes_nothing(autojump_clock):
    mode, delays = await delays_through_a_precise_link()
    assert mode is Mode.PLAIN
    assert delays == pytest.approx([0.02] * 10)


def test_alarms_fire_each_signal_at_its_deadline_in_order():
    async def main():
        waker = Waker(precise=True)
        assert waker.alarms is not None
        fired = []

        async def wait(name, delay, signal):
            start = trio.current_time()
            await waker.wait(signal, start + delay)
            fired.append((name, trio.current_time() - start >= delay))

        moved = Signal()
        async with trio.open_nursery() as nursery:
            # deadlines 0.4 s apart: the order holds on a busy machine, whose wake-ups
            # can be tens of milliseconds late
            nursery.start_soon(wait, "late", 0.9, Signal())
            nursery.start_soon(wait, "early", 0.1, Signal())
            nursery.start_soon(wait, "moved", 5.0, moved)
            while not moved.waiting:  # the waits have begun (trio runs new tasks in any order)
                await trio.sleep(0)
            waker.advance(moved, trio.current_time() + 0.5)  # now due before "late"
        return fired

    fired = trio.run(main)
    assert [name for name, _ in fired] == ["early", "moved", "late"]
    assert all(on_time for name, on_time in fired if name != "moved")
