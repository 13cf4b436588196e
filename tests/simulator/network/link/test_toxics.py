"""Toxics and the pipe, sans I/O: statistics at fixed seeds match the configuration."""

import math
import random
import statistics

import pytest
from scipy import stats

from simulator.network.link import (
    Bandwidth,
    Env,
    GilbertElliott,
    Latency,
    LimitData,
    Loss,
    Outage,
    Pipe,
    ResetPeer,
    Schedule,
    SlowClose,
    Timeout,
)

MS = 0.001


def pipe(*toxics, seed=1, now=0.0):
    p = Pipe(Env("down", random.Random(seed)))
    for i, toxic in enumerate(toxics):
        p.add(f"t{i}", toxic, now)
    return p


def drain(p, until=math.inf):
    """Run the pipe's own clock: pop everything due, in time order."""
    out = []
    now = 0.0
    while (wake := p.next_wakeup(now)) is not None and wake <= until:
        now = max(now, wake)
        out += [(now, seg) for seg in p.pop_due(now)]
    return out


def latency_draws(distribution, n=20_000, correlation=0.0, seed=7):
    toxic = Latency(100 * MS, 10 * MS, distribution, correlation)
    pipe(toxic, seed=seed)
    return [toxic.draw() for _ in range(n)]


PARETO_SCALE = 10 * MS / (math.sqrt(3) / 2)


@pytest.mark.parametrize(
    ("distribution", "cdf"),
    [
        ("uniform", stats.uniform(loc=90 * MS, scale=20 * MS).cdf),
        ("normal", stats.norm(loc=100 * MS, scale=10 * MS).cdf),
        ("pareto", stats.pareto(b=3, loc=100 * MS - 1.5 * PARETO_SCALE, scale=PARETO_SCALE).cdf),
    ],
)
def test_latency_matches_its_distribution(distribution, cdf):
    draws = latency_draws(distribution)
    assert statistics.fmean(draws) == pytest.approx(100 * MS, rel=0.02)
    assert stats.kstest(draws, cdf).pvalue > 0.01


def test_paretonormal_has_the_configured_mean_and_spread_and_a_long_tail():
    draws = latency_draws("paretonormal")
    assert statistics.fmean(draws) == pytest.approx(100 * MS, rel=0.02)
    assert statistics.stdev(draws) == pytest.approx(10 * MS, rel=0.1)
    assert stats.skew(draws) > 0.5  # late writes far more than early ones


def test_correlation_leans_on_the_last_draw_and_keeps_mean_and_spread():
    draws = latency_draws("normal", correlation=0.8)
    lag1 = statistics.correlation(draws[:-1], draws[1:])
    assert lag1 == pytest.approx(0.8, abs=0.03)
    assert statistics.fmean(draws) == pytest.approx(100 * MS, rel=0.02)
    assert statistics.stdev(draws) == pytest.approx(10 * MS, rel=0.05)


def test_latency_never_reorders_even_with_wild_jitter():
    p = pipe(Latency(50 * MS, 50 * MS, "normal"))
    for i in range(1000):
        p.push(i * MS, i.to_bytes(2, "big"))
    out = drain(p)
    assert [int.from_bytes(seg.data, "big") for _, seg in out] == list(range(1000))
    times = [t for t, _ in out]
    assert times == sorted(times)


@pytest.mark.parametrize("burst", [0, 16_384])
def test_bandwidth_delivers_at_the_configured_rate(burst):
    p = pipe(Bandwidth(100_000, burst))
    for _ in range(1000):
        p.push(0.0, b"x" * 1000)  # 1 MB written at once
    out = drain(p)
    elapsed = out[-1][0]
    assert 1_000_000 / elapsed == pytest.approx(100_000 + burst / elapsed, rel=0.02)
    first = out[0][0]
    assert first == (0.0 if burst else pytest.approx(0.01))


def test_bandwidth_lets_a_burst_through_after_idling():
    p = pipe(Bandwidth(10_000, 5_000))
    p.push(0.0, b"x" * 5_000)
    p.push(10.0, b"y" * 5_000)  # the bucket refilled while idle
    out = drain(p)
    assert [t for t, seg in out if seg.data[0] == ord("x")] == pytest.approx([0.0] * 4)
    assert [t for t, seg in out if seg.data[0] == ord("y")] == pytest.approx([10.0] * 4)


def scripted(loss, outcomes):
    it = iter(outcomes)
    loss.lost = lambda t: next(it, False)
    return loss


def test_a_lost_segment_stalls_one_rto_doubling_per_repeat_and_holds_those_behind():
    loss = Loss(mss=100)
    p = pipe(loss)
    scripted(loss, [False, True, True, True, False, False])
    p.push(0.0, b"a" * 300)  # three segments: ok, lost 3 times, ok
    out = drain(p)
    assert [len(seg.data) for _, seg in out] == [100, 100, 100]
    # RTO starts at the 200 ms minimum: 0.2 + 0.4 + 0.8
    assert [t for t, _ in out] == [0.0, pytest.approx(1.4), pytest.approx(1.4)]
    assert p.env.stats.stalls == 1


def test_rto_follows_the_measured_rtt():
    loss = Loss(mss=100)
    p = pipe(loss, Latency(300 * MS))  # the order LinkSpec builds
    p.env.rtt.sample("up", 300 * MS)
    for i in range(50):  # let the smoothed RTT settle near 600 ms
        p.push(i, b"w")
    rto = p.env.rtt.rto()
    assert rto == pytest.approx(0.6, rel=0.05)
    scripted(loss, [True, False])
    p.push(100.0, b"x")
    last = drain(p)[-1]
    assert last[0] == pytest.approx(100.0 + rto + 0.3)


def test_bernoulli_loss_rate_matches():
    loss = Loss(0.05, mss=10)
    p = pipe(loss)
    losses = sum(loss.lost(0.0) for _ in range(100_000))
    assert losses / 100_000 == pytest.approx(0.05, rel=0.05)
    assert p.env.stats.stalls == 0


def test_gilbert_elliott_bursts_have_the_expected_mean_length_and_rate():
    model = GilbertElliott(0.02 * 0.25 / 0.98, 0.25)  # mean loss 2 %, bursts of 4
    rng = random.Random(3)
    outcomes = [model.lost(rng) for _ in range(400_000)]
    bursts, run = [], 0
    for lost in outcomes:
        if lost:
            run += 1
        elif run:
            bursts.append(run)
            run = 0
    assert statistics.fmean(bursts) == pytest.approx(4, rel=0.05)
    assert sum(outcomes) / len(outcomes) == pytest.approx(0.02, rel=0.1)
    # with loss in both states: each state's share of packets times its loss chance
    p, r, one_minus_h, one_minus_k = 0.05, 0.2, 0.5, 0.01
    model = GilbertElliott(p, r, one_minus_h, one_minus_k)
    rate = sum(model.lost(rng) for _ in range(400_000)) / 400_000
    bad = p / (p + r)
    assert rate == pytest.approx(bad * one_minus_h + (1 - bad) * one_minus_k, rel=0.05)


def test_outage_holds_everything_until_the_window_ends():
    p = pipe(Outage(Schedule([(1.0, 2.0)])))
    p.push(0.5, b"a")
    p.push(1.5, b"b")
    p.push(2.5, b"c")
    p.push(3.5, b"d")
    assert [(t, seg.data) for t, seg in drain(p)] == [
        (0.5, b"a"),
        (3.0, b"b"),
        (3.0, b"c"),
        (3.5, b"d"),
    ]
    assert p.env.stats.outages == 1


def test_outage_longer_than_the_limit_resets_even_without_traffic():
    p = pipe(Outage(Schedule([(1.0, 0.5), (5.0, 60.0)]), reset_after=30.0))
    out = drain(p)
    assert [(t, seg.kind) for t, seg in out] == [(35.0, "reset")]


def test_random_outages_follow_mtbf_and_mttr():
    schedule = Schedule(mtbf=45.0, mttr=4.0)
    pipe(Outage(schedule), seed=11)
    t, ups, downs = 0.0, [], []
    while t < 200_000:
        start, end = schedule.next_window(t)
        ups.append(start - t)
        downs.append(end - start)
        t = end
    assert statistics.fmean(ups) == pytest.approx(45.0, rel=0.05)
    assert statistics.fmean(downs) == pytest.approx(4.0, rel=0.05)


def test_reset_peer_resets_after_its_timeout():
    p = pipe(ResetPeer(2.0), now=1.0)
    p.push(1.5, b"early")
    out = drain(p)
    assert [(t, seg.kind) for t, seg in out] == [(1.5, "data"), (3.0, "reset")]


def test_timeout_drops_data_then_closes():
    p = pipe(Timeout(5.0))
    p.push(1.0, b"gone")
    # the timer restarts with each write, as Toxiproxy's does; then a FIN, as its Close
    assert [(t, seg.kind) for t, seg in drain(p)] == [(6.0, "fin")]
    p.push(7.0, b"late")
    assert drain(p) == []  # nothing passes after the close
    assert p.env.stats.dropped_bytes == 8
    p = pipe(Timeout(0.0))
    p.push(1.0, b"gone")
    assert drain(p) == []  # stays open, drops everything


def test_limit_data_passes_the_limit_then_closes():
    p = pipe(LimitData(5))
    p.push(0.0, b"abc")
    p.push(1.0, b"defgh")
    p.push(2.0, b"ij")
    out = drain(p)
    assert [(seg.kind, seg.data) for _, seg in out] == [
        ("data", b"abc"),
        ("data", b"de"),
        ("fin", b""),
    ]


def test_slow_close_delays_only_the_fin():
    p = pipe(SlowClose(2.0))
    p.push(0.0, b"data")
    p.push(0.0, kind="fin")
    assert [(t, seg.kind) for t, seg in drain(p)] == [(0.0, "data"), (2.0, "fin")]


def test_same_seed_same_delays_and_different_seeds_differ():
    a = latency_draws("pareto", n=100, seed=5)
    assert a == latency_draws("pareto", n=100, seed=5)
    assert a != latency_draws("pareto", n=100, seed=6)
