"""The run's event log: spooled to a file as it grows, read back exactly."""

import tracemalloc

from simulator.record import events as ev
from simulator.record.eventlog import EventLog


def frames(n: int, start: int = 0) -> list[ev.Event]:
    return [
        ev.Frame(t=i / 7, actor=f"v[{i % 100}]", dir="in", type="message", id=f"r{i}", seq=i)
        for i in range(start, start + n)
    ]


def test_events_read_back_equal_across_blocks_and_after_more_appends():
    log = EventLog(block=300)  # a few events a block: lines straddle the reads
    first = [ev.CallPlaced(t=0.0, actor="v[0]", call="c1"), *frames(40)]
    log.extend(first)
    assert list(log) == first
    assert list(log) == first  # any number of passes
    more = [*frames(40, start=40), ev.ConnectionLogged(t=9.5, actor="v[1]", state="left")]
    log.extend(more)
    assert list(log) == first + more
    assert len(log) == len(first + more)


def test_watchers_see_every_event_as_it_is_appended():
    log = EventLog()
    seen: list[ev.Event] = []
    log.watch(seen.append)
    log.extend(frames(5))
    assert seen == frames(5)


def test_what_the_log_holds_in_memory_does_not_grow_with_the_run():
    log = EventLog()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(25):  # 50,000 frame events: ~7 MiB as objects
            log.extend(frames(2_000, start=2_000 * k))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1024 * 1024
    assert len(log) == 50_000
