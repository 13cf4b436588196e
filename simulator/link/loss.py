"""Packet loss as TCP feels it: a lost segment stalls for a retransmission timeout."""

from __future__ import annotations

import random
from typing import Any

from .base import MAX_RTO, MIN_RTO, Segment, Toxic, ms

#: Ethernet's TCP maximum segment size.
MSS = 1460
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

    @classmethod
    def from_rate(cls, loss: float, burst: float) -> GilbertElliott:
        """The model with mean loss ``loss`` and mean burst length ``burst`` packets."""
        r = 1.0 / burst
        p = loss * r / (1.0 - loss) if loss < 1 else 1.0
        return cls(min(1.0, p), r)

    @property
    def mean_loss(self) -> float:
        """The long-run fraction of packets lost."""
        total = self.p + self.r
        bad = self.p / total if total else 0.0
        return bad * self.one_minus_h + (1 - bad) * self.one_minus_k

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

    def __init__(
        self,
        probability: float = 0.0,
        *,
        model: GilbertElliott | None = None,
        mss: int = MSS,
        min_rto: float = MIN_RTO,
    ) -> None:
        super().__init__()
        self.probability = probability
        self.model = model
        self.mss = mss
        self.min_rto = min_rto

    def lost(self) -> bool:
        if self.model is not None:
            return self.model.lost(self.rng)
        return self.rng.random() < self.probability

    def stall(self) -> float:
        """Seconds one segment waits: 0, or the sum of its backed-off RTOs."""
        rto = self.env.rtt.rto(self.min_rto)
        waited = 0.0
        for _ in range(MAX_RETRIES):
            if not self.lost():
                break
            waited += rto
            rto = min(MAX_RTO, rto * 2)
        return waited

    def process(self, seg: Segment) -> list[Segment]:
        if not seg.data:  # a FIN is a segment too
            seg.at += self.stall()
            return [seg]
        out = []
        for i in range(0, len(seg.data), self.mss):
            part = Segment(seg.at, seg.data[i : i + self.mss], "data", seg.sent)
            waited = self.stall()
            if waited:
                self.env.stats.stalls += 1
                part.at += waited
            out.append(part)
        return out

    def attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "probability": self.probability,
            "mss": self.mss,
            "min_rto": ms(self.min_rto),
        }
        if self.model is not None:
            m = self.model
            attrs["gemodel"] = [m.p, m.r, m.one_minus_h, m.one_minus_k]
        return attrs
