"""Bandwidth: a rate in bytes per second with a burst allowance (a token bucket)."""

from __future__ import annotations

from typing import Any

from .base import Segment, Toxic


class Bandwidth(Toxic):
    """Lets ``rate`` bytes/s through on average; up to ``burst`` bytes pass at once.

    A generic cell-rate algorithm (the token bucket's exact twin): each write is
    released when the bucket would have had room for it, so a 1,000-byte write
    at 10,000 B/s with no burst leaves 0.1 s after it arrived.
    """

    kind = "bandwidth"

    def __init__(self, rate: float, burst: int = 0) -> None:
        super().__init__()
        if rate <= 0:
            raise ValueError("bandwidth rate must be positive")
        self.rate = rate
        self.burst = burst
        self._tat = 0.0  # theoretical arrival time: when the bucket is next empty

    def process(self, seg: Segment) -> list[Segment]:
        if seg.data:
            self._tat = max(seg.at, self._tat) + len(seg.data) / self.rate
            seg.at = max(seg.at, self._tat - self.burst / self.rate)
        return [seg]

    def attributes(self) -> dict[str, Any]:
        # Toxiproxy's rate is in KB/s
        return {"rate": self.rate / 1000, "burst": self.burst}
