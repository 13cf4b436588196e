"""Burst loss counted in time: the stall distribution it gives on sparse traffic.

A chat connection sends a frame every few seconds. Each segment's fate, and that of its
retransmissions an RTO, 2 RTO, 4 RTO... later, is read off alternating good and bad
periods (exponential, a fraction ``loss`` of the time bad). That is a two-state
continuous-time Markov chain, so the chance that a segment is sent k times is known
exactly, and the simulated stalls must match it.
"""

import math
import random

import pytest

from simulator.network.link import Env, Loss
from simulator.network.link import spec as link_spec
from simulator.network.link.loss import MAX_RETRIES

RTO = 0.2  # Linux's minimum; a link without latency keeps its RTO there


def expected_retries(loss: float, burst: float, up_to: int) -> list[float]:
    """P(a segment is retransmitted exactly k times), k = 0..up_to-1, from the chain:
    P(bad at t+d | bad at t) = pi_bad + pi_good * exp(-(1/bad + 1/good) * d)."""
    good = burst * (1 - loss) / loss
    rate = 1 / burst + 1 / good
    at_least = [1.0, loss]  # P(k >= 0), P(k >= 1)
    gap = RTO
    while len(at_least) <= up_to:
        stay_bad = loss + (1 - loss) * math.exp(-rate * gap)
        at_least.append(at_least[-1] * stay_bad)
        gap *= 2
    return [at_least[k] - at_least[k + 1] for k in range(up_to)]


def sparse_stalls(loss: float, burst: float, n: int, every: float) -> list[tuple[float, int]]:
    toxic = Loss(loss, burst=burst)
    toxic.bind(Env("up", random.Random(7)), 0.0)
    return [toxic.stall(i * every) for i in range(n)]


@pytest.mark.parametrize(("loss", "burst"), [(0.03, 0.3), (0.1, 0.5), (0.04, 1.0)])
def test_sparse_stalls_follow_the_two_state_chain(loss, burst):
    n = 40_000
    stalls = sparse_stalls(loss, burst, n, every=3.0)
    expected = expected_retries(loss, burst, 5)
    for k, p in enumerate(expected):
        seen = sum(1 for _, retries in stalls if retries == k) / n
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(seen - p) < 5 * sigma + 1e-4, (k, seen, p)
    # a stall is the sum of the backed-off timeouts: 0.2, 0.6, 1.4, 3.0 s...
    for waited, retries in stalls:
        assert waited == pytest.approx(RTO * (2**retries - 1))


def test_three_percent_in_bursts_stalls_seconds_not_tens_of_seconds():
    """The customer's 3 % loss in short bursts: retransmission stalls of a fraction of a
    second to a few seconds. Counted in packets (bursts of 4), each retransmission fell
    into the same burst: stalls of 10-30 s and dead-peer reconnects."""
    stalls = [w for w, _ in sparse_stalls(0.03, 0.3, 40_000, every=2.0) if w]
    assert len(stalls) == pytest.approx(0.03 * 40_000, rel=0.15)
    stalls.sort()
    assert stalls[int(0.99 * len(stalls))] <= 3.0
    assert max(stalls) < 10.0


def test_independent_losses_without_a_burst():
    stalls = sparse_stalls(0.05, 0.0, 40_000, every=1.0)
    once = sum(1 for _, k in stalls if k == 1) / len(stalls)
    twice = sum(1 for _, k in stalls if k == 2) / len(stalls)
    assert once == pytest.approx(0.05 * 0.95, rel=0.1)
    assert twice == pytest.approx(0.05 * 0.05 * 0.95, rel=0.4)


@pytest.mark.parametrize("burst", [0.0, 0.3])
def test_a_segment_lost_for_good_gives_up_after_the_retries_limit(burst):
    toxic = Loss(1.0, burst=burst)
    toxic.bind(Env("up", random.Random(1)), 0.0)
    assert toxic.stall(0.0)[1] == MAX_RETRIES


def test_loss_burst_is_a_time_in_specs_and_the_toxiproxy_form():
    spec = link_spec.parse("loss=3%,loss_burst=300ms")
    (_, _, toxic), *_ = [t for t in spec.toxics() if t[1] == "loss"]
    assert isinstance(toxic, Loss) and toxic.burst == pytest.approx(0.3)
    assert toxic.attributes()["burst"] == 300
    assert "in 300ms bursts" in spec.describe()
