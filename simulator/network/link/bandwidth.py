"""Bandwidth: a rate in bytes per second with a burst allowance (a token bucket), paced
as a link sends: in slices, each leaving when its own last byte has been sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import MSS, Segment, Toxic
from .params import RATE, Param, Values, size
from .units import ParamError

#: Seconds of sending per slice at high rates. A write is cut into slices of at most
#: ``max(mss, rate * PACE)`` bytes (its first slice one MSS), so the first byte arrives
#: one MSS's sending time after it was written and the rest follow smoothly, without a
#: wake-up per MSS at gigabit rates.
PACE = 0.002


class Bandwidth(Toxic):
    """Lets ``rate`` bytes/s through on average; up to ``burst`` bytes pass at once.

    A generic cell-rate algorithm (the token bucket's exact twin): each slice is
    released when the bucket would have had room for it. A write is cut into slices
    (the first one ``mss`` bytes, the others up to ``rate * PACE``), so a 1,000-byte
    write at 10,000 B/s with no burst leaves 0.1 s after it arrived, and a 300 KB one at
    100 KB/s starts arriving after 14.6 ms, a segment at a time, rather than all at
    once after 3 s.
    """

    kind = "bandwidth"
    params = (Param("rate", RATE, 0.0, key="rate"), Param("burst", size(), 0, key="burst"))
    reads = ("mss",)  # a link spec's mss (the loss toxic's) sizes the first slice too

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return values["rate"] is not None

    @classmethod
    def check(cls, values: Values, attributes: Mapping[str, Any]) -> None:
        if values.get("rate", 1) <= 0:  # the API has no "unlimited": leave the toxic out
            got = attributes.get("rate")
            raise ParamError("bandwidth.attributes.rate", "KB/s (a number > 0)", got)

    def __init__(self, rate: float, burst: int = 0, mss: int = MSS) -> None:
        super().__init__()
        if rate <= 0:
            raise ValueError("bandwidth rate must be positive")
        self.rate = rate
        self.burst = burst
        self.mss = max(1, mss)
        self._slice = max(self.mss, int(rate * PACE))
        self._tat = 0.0  # theoretical arrival time: when the bucket is next empty

    def process(self, seg: Segment) -> list[Segment]:
        data = seg.data
        if not data:
            return [seg]
        allowance = self.burst / self.rate
        out: list[Segment] = []
        start, size = 0, self.mss
        while start < len(data):
            part = data[start : start + size]  # the whole write is not copied
            self._tat = max(seg.at, self._tat) + len(part) / self.rate
            out.append(Segment(max(seg.at, self._tat - allowance), part, "data", seg.sent))
            start += size
            size = self._slice
        return out
