"""Latency with jitter: a delay drawn per write, from a distribution, optionally correlated."""

from __future__ import annotations

import math
from typing import Literal

from .base import Segment, Toxic
from .params import DURATION, PROBABILITY, Param, Values, choice

Distribution = Literal["uniform", "normal", "pareto", "paretonormal"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("uniform", "normal", "pareto", "paretonormal")

# Pareto with shape 3 and scale 1 (netem's table uses the same shape): mean 1.5, sd sqrt(3)/2.
_PARETO_SHAPE = 3.0
_PARETO_MEAN = 1.5
_PARETO_SD = math.sqrt(3.0) / 2


class Latency(Toxic):
    """Adds ``latency`` seconds, give or take ``jitter``, to every write.

    ``uniform`` draws from ``latency ± jitter`` (as Toxiproxy and netem do);
    ``normal``, ``pareto`` and ``paretonormal`` use ``jitter`` as the standard
    deviation (netem's meaning), ``pareto`` with netem's shape 3 (a long tail
    of late writes), ``paretonormal`` netem's 1:3 blend of normal and pareto.
    ``correlation`` (0..1) makes each draw lean on the previous one. Unlike
    netem's, it keeps the mean and the spread. A delay never goes below zero, and
    a write never overtakes an earlier one (TCP delivers in order).
    """

    kind = "latency"
    params = (
        Param("latency", DURATION, 0.0, key="latency"),
        Param("jitter", DURATION, 0.0, key="jitter"),
        Param("distribution", choice(DISTRIBUTIONS), "uniform", key="distribution"),
        Param("correlation", PROBABILITY, 0.0, key="correlation"),
    )

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return bool(values["latency"] or values["jitter"])

    def __init__(
        self,
        latency: float,
        jitter: float = 0.0,
        distribution: Distribution = "uniform",
        correlation: float = 0.0,
    ) -> None:
        super().__init__()
        self.latency = latency
        self.jitter = jitter
        self.distribution = distribution
        self.correlation = correlation
        self._last = 0.0

    def _standard(self) -> float:
        """A draw with mean 0 and standard deviation 1 (uniform: the range -1..1)."""
        rng = self.rng
        if self.distribution == "uniform":
            return rng.uniform(-1.0, 1.0)
        if self.distribution == "normal":
            return rng.gauss(0.0, 1.0)
        pareto = (rng.paretovariate(_PARETO_SHAPE) - _PARETO_MEAN) / _PARETO_SD
        if self.distribution == "pareto":
            return pareto
        return (0.25 * rng.gauss(0.0, 1.0) + 0.75 * pareto) / math.sqrt(0.25**2 + 0.75**2)

    def draw(self) -> float:
        """The next delay in seconds."""
        z = self._standard()
        if self.correlation:
            rho = self.correlation
            z = rho * self._last + math.sqrt(1 - rho * rho) * z
            self._last = z
        return max(0.0, self.latency + self.jitter * z)

    def process(self, seg: Segment) -> list[Segment]:
        delay = self.draw()
        self.env.rtt.sample(self.env.direction, delay)
        seg.at += delay
        return [seg]

    def mean_delay(self) -> float:
        return self.latency  # every distribution keeps the configured mean
