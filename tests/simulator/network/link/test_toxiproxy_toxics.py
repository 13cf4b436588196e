"""The toxics the proxy's API added or changed to match Toxiproxy, sans I/O: ``slicer``,
and how ``limit_data`` and ``timeout`` end a stream."""

import itertools
import math
import random

import pytest

from simulator.network.link import Env, LimitData, Pipe, Timeout
from simulator.network.link.slicer import Slicer
from simulator.network.link.toxiproxy import ToxicDef, build, describe
from simulator.network.link.units import ParamError


def pipe(*toxics, seed=1):
    p = Pipe(Env("down", random.Random(seed)))
    for i, toxic in enumerate(toxics):
        p.add(f"t{i}", toxic, 0.0)
    return p


def drain(p):
    out, now = [], 0.0
    while (wake := p.next_wakeup(now)) is not None:
        now = max(now, wake)
        out += [(now, seg) for seg in p.pop_due(now)]
    return out


@pytest.mark.parametrize(("average", "variation"), [(100, 0), (100, 40), (7, 6), (1, 0)])
def test_slicer_cuts_like_toxiproxy(average, variation):
    slicer = Slicer(average, variation)
    pipe(slicer)
    for size in (1, 99, 100, 1000, 65_536):
        cuts = slicer.cuts(0, size)
        assert cuts[0][0] == 0 and cuts[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))  # contiguous
        assert all(0 < hi - lo <= average + variation for lo, hi in cuts)
        if size <= average + variation:
            assert len(cuts) == 1  # small enough already: one slice, as Toxiproxy's
        else:  # halved until small enough: never much below half the average
            assert all(hi - lo > (average - variation) // 2 for lo, hi in cuts[:-1])


def test_slices_leave_delay_apart_and_the_next_write_waits_for_them():
    p = pipe(Slicer(100, 0, 0.01))
    p.push(0.0, bytes(range(200)) * 2)  # 400 bytes: halved twice, 4 slices of 100
    p.push(0.0, b"next")
    p.push(0.0, kind="fin")
    out = drain(p)
    data = [(t, seg.data) for t, seg in out if seg.kind == "data"]
    assert [len(d) for _, d in data] == [100, 100, 100, 100, 4]
    assert b"".join(d for _, d in data) == bytes(range(200)) * 2 + b"next"
    assert [t for t, _ in data] == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04])
    assert out[-1][1].kind == "fin" and out[-1][0] == pytest.approx(0.05)


def test_slicer_in_the_api_shape():
    toxic = ToxicDef("slicer", attributes={"average_size": 64, "size_variation": 8, "delay": 1500})
    built = build(toxic)
    assert isinstance(built, Slicer) and built.delay == pytest.approx(0.0015)
    assert describe("down", "s", built).attributes == toxic.attributes
    for bad in (
        {},
        {"average_size": 0},
        {"average_size": 8, "size_variation": 8},
        {"average_size": 1.5},
    ):
        with pytest.raises(ParamError):
            build(ToxicDef("slicer", attributes=bad))


def test_limit_data_closes_with_the_write_that_reaches_it():
    p = pipe(LimitData(0))
    assert drain(p) == []  # nothing happens before data comes
    p.push(1.0, b"abc")
    assert [(t, seg.kind, seg.data) for t, seg in drain(p)] == [(1.0, "fin", b"")]
    p = pipe(LimitData(3))
    p.push(0.0, b"abc")
    p.push(1.0, b"d")
    assert [(seg.kind, seg.data) for _, seg in drain(p)] == [("data", b"abc"), ("fin", b"")]
    assert p.env.stats.dropped_bytes == 1
    p = pipe(LimitData(10))
    p.push(0.0, b"abc")
    p.push(0.5, kind="fin")  # the stream ends before the limit: its own close passes
    assert [seg.kind for _, seg in drain(p)] == ["data", "fin"]


def test_timeout_counts_from_the_last_write_and_lets_the_close_through():
    p = pipe(Timeout(5.0))
    p.push(1.0, b"a")
    p.push(4.0, b"b")
    assert p.next_deadline() == 9.0  # restarted by each write, as Toxiproxy's timer
    p = pipe(Timeout(5.0))
    p.push(1.0, b"a")
    p.push(2.0, kind="fin")  # the sender closed: Toxiproxy closes at once
    assert [(t, seg.kind) for t, seg in drain(p)] == [(2.0, "fin")]
    assert pipe(Timeout(0.0)).next_deadline() is None
    assert math.isinf(Timeout(1.0)._last)
