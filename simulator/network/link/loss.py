"""Packet loss as TCP feels it: a lost segment stalls for a retransmission timeout."""

from __future__ import annotations

import math
import random
from collections import deque
from typing import Any

from . import units
from .base import MAX_RTO, MIN_RTO, MSS, Env, Segment, Toxic
from .params import DURATION, PROBABILITY, Param, Unit, Values, ms, size
from .units import ParamError

#: Linux gives up on a segment after 15 retransmissions (``tcp_retries2``).
MAX_RETRIES = 15


class GilbertElliott:
    """netem's ``loss gemodel p r 1-h 1-k``: a good and a bad state.

    ``p`` is the chance of going good->bad, ``r`` bad->good; a packet is lost with
    probability ``1-k`` in the good state and ``1-h`` in the bad one. With
    ``1-h = 1`` and ``1-k = 0`` losses come in bursts of mean length ``1/r``.
    As in netem, a packet's fate is decided by the state it arrives in.
    """

    def __init__(self, p: float, r: float, one_minus_h: float = 1.0, one_minus_k: float = 0.0):
        self.p, self.r, self.one_minus_h, self.one_minus_k = p, r, one_minus_h, one_minus_k
        self.bad = False

    def lost(self, rng: random.Random) -> bool:
        if self.bad:
            lost = rng.random() < self.one_minus_h
            if rng.random() < self.r:
                self.bad = False
        else:
            lost = rng.random() < self.one_minus_k
            if rng.random() < self.p:
                self.bad = True
        return lost


class BadPeriods:
    """Loss in bursts counted in time: the link alternates good and bad periods.

    Bad periods last an exponential time of mean ``burst`` seconds; good ones an
    exponential time chosen so that a fraction ``loss`` of the time is bad. Every
    segment sent in a bad period is lost, none in a good one, so a segment sent at a
    random moment is lost with probability ``loss``.

    A burst counted in packets (netem's Gilbert-Elliott model) suits a busy flow.
    A chat connection sends a frame every few seconds, so the retransmission of a lost
    segment was the *next* packet and fell into the same burst over and over: 3 % loss
    in bursts of 4 stalled for 10-30 s. Counted in time, a retransmission an RTO later
    finds the burst over as often as a real one does.
    """

    def __init__(self, loss: float, burst: float, rng: random.Random) -> None:
        self.bad_mean = burst
        self.good_mean = burst * (1 - loss) / loss if loss > 0 else math.inf
        self.rng = rng
        self.windows: deque[tuple[float, float]] = deque()  # (start, end) of bad periods
        self._until: float | None = None  # periods are drawn up to here

    def bad(self, t: float) -> bool:
        """Whether ``t`` falls in a bad period."""
        if self.good_mean == math.inf or self.good_mean == 0:
            return self.good_mean == 0  # no loss, or nothing but loss
        if self._until is None:
            # the first period is bad with the stationary chance, so the start of a
            # link is no better than any other moment
            self._until = t
            if self.rng.random() < self.bad_mean / (self.bad_mean + self.good_mean):
                self._until = t + self.rng.expovariate(1 / self.bad_mean)
                self.windows.append((t, self._until))
        while self._until <= t:
            start = self._until + self.rng.expovariate(1 / self.good_mean)
            self._until = start + self.rng.expovariate(1 / self.bad_mean)
            self.windows.append((start, self._until))
        return any(start <= t < end for start, end in self.windows)

    def forget_before(self, t: float) -> None:
        """Drop periods over by ``t``: segments reach the toxic in time order, so no
        question about an earlier time can come."""
        while self.windows and self.windows[0][1] <= t:
            self.windows.popleft()


def _burst(param: str, value: object) -> float:
    try:
        return units.duration(param, value)
    except ParamError:
        # it was once a count of segments (see docs/links.md): say what it is now
        raise ParamError(
            param, 'the mean length of a bad period, a duration such as "300ms"', value
        ) from None


def _gemodel(param: str, value: object) -> tuple[float, float, float, float]:
    expected = "four probabilities [p, r, 1-h, 1-k] as netem's gemodel takes them"
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) != 4:
        raise ParamError(param, expected, value)
    p, r, h, k = (units.probability(f"{param}[{i}]", v) for i, v in enumerate(items))
    return p, r, h, k


def _gemodel_json(param: str, value: object) -> tuple[float, float, float, float]:
    if not isinstance(value, list) or len(value) != 4:
        raise ParamError(param, "[p, r, 1-h, 1-k]", value)
    p, r, h, k = (units.probability(f"{param}[{i}]", x) for i, x in enumerate(value))
    return p, r, h, k


def _min_rto_json(param: str, value: object) -> float:
    # 0 reads as the default, as it always has through the API (a link spec's 0 is kept)
    return DURATION.decode(param, value) or MIN_RTO


class Loss(Toxic):
    """Loses segments; each loss holds that segment and everything behind it.

    Writes are cut into ``mss``-byte segments. A lost segment is resent after
    the retransmission timeout (RTO, from the link's smoothed RTT and at least
    ``min_rto``), and every further loss of the same segment doubles the RTO,
    so a segment lost ``n`` times arrives ``RTO * (2**n - 1)`` late. Later
    segments never overtake it. Nothing is dropped: TCP delivers everything,
    late.
    """

    kind = "loss"
    params = (
        Param("gemodel", Unit(_gemodel, _gemodel_json, list, listed=True), None, key="gemodel"),
        Param("probability", PROBABILITY, 0.0, key="loss"),
        Param("burst", Unit(_burst, DURATION.decode, ms), 0.0, key="loss_burst"),
        Param("mss", size(1), MSS, key="mss"),
        Param("min_rto", Unit(units.duration, _min_rto_json, ms), MIN_RTO, key="min_rto"),
    )

    @classmethod
    def create(cls, values: Values, shared: dict[str, object]) -> Loss:
        gemodel = values["gemodel"]
        return cls(
            values["probability"],
            model=None if gemodel is None else GilbertElliott(*gemodel),
            burst=values["burst"],
            mss=values["mss"],
            min_rto=values["min_rto"],
        )

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return bool(values["probability"] or values["gemodel"])

    def __init__(
        self,
        probability: float = 0.0,
        *,
        model: GilbertElliott | None = None,
        burst: float = 0.0,
        mss: int = MSS,
        min_rto: float = MIN_RTO,
    ) -> None:
        super().__init__()
        self.probability = probability
        self.model = model
        self.burst = burst
        self._periods: BadPeriods | None = None
        self.mss = mss
        self.min_rto = min_rto

    def bind(self, env: Env, now: float) -> None:
        super().bind(env, now)
        if self.burst > 0 and self.model is None:
            self._periods = BadPeriods(self.probability, self.burst, self.rng)

    def lost(self, t: float) -> bool:
        """Whether a (re)transmission at ``t`` is lost."""
        if self._periods is not None:
            return self._periods.bad(t)
        if self.model is not None:
            return self.model.lost(self.rng)
        return self.rng.random() < self.probability

    def stall(self, t: float) -> tuple[float, int]:
        """Seconds a segment sent at ``t`` waits (the sum of its backed-off RTOs), and
        how many times it was sent again."""
        if self._periods is not None:
            self._periods.forget_before(t)
        rto = self.env.rtt.rto(self.min_rto)
        waited = 0.0
        for retries in range(MAX_RETRIES):
            if not self.lost(t + waited):
                return waited, retries
            waited += rto
            rto = min(MAX_RTO, rto * 2)
        return waited, MAX_RETRIES

    def process(self, seg: Segment) -> list[Segment]:
        if not seg.data:  # a FIN is a segment too
            seg.at += self.stall(seg.at)[0]
            return [seg]
        out = []
        for i in range(0, len(seg.data), self.mss):
            part = Segment(seg.at, seg.data[i : i + self.mss], "data", seg.sent)
            waited, retries = self.stall(part.at)
            if waited:
                self.env.stats.stalls += 1
                if self.env.on_stall is not None:
                    self.env.on_stall(self.env.direction, part.at, waited, retries)
                part.at += waited
            out.append(part)
        return out

    def values(self) -> dict[str, Any]:
        m = self.model
        return {
            "probability": self.probability,
            "mss": self.mss,
            "min_rto": self.min_rto,
            "gemodel": None if m is None else (m.p, m.r, m.one_minus_h, m.one_minus_k),
            "burst": self.burst if m is None and self.burst else None,  # unused beside a model
        }
