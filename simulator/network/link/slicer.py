"""Slicing: each write leaves as several smaller ones, a little apart (Toxiproxy's ``slicer``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Segment, Toxic
from .params import MICROSECONDS, Param, Values, whole
from .units import ParamError


class Slicer(Toxic):
    """Cuts every write into slices of about ``average_size`` bytes, give or take
    ``size_variation``, and sends them ``delay`` seconds apart.

    As Toxiproxy's ``slicer``: a write is halved, and each half halved again,
    until a piece is within ``size_variation`` of ``average_size``; each cut
    moves by up to ``size_variation`` from the middle. A slice waits ``delay``
    after the one before it, and so does the next write after the last slice:
    Toxiproxy sends the slices one by one and sleeps after each. Slicing is
    seen by a reader that reads while the slices arrive (partial reads, frames
    split across reads); with no delay the slices are due together and leave
    as one write.
    """

    kind = "slicer"
    params = (  # only the proxy's API slices: a link spec has no key for it
        Param("average_size", whole(), 0),
        Param("size_variation", whole(), 0),
        Param("delay", MICROSECONDS, 0.0),
    )

    @classmethod
    def check(cls, values: Values, attributes: Mapping[str, Any]) -> None:
        average, variation = values["average_size"], values.get("size_variation", 0)
        if average < 1:  # Toxiproxy recurses forever on 0
            got = attributes.get("average_size")
            raise ParamError("slicer.attributes.average_size", "a whole number >= 1 (bytes)", got)
        if variation >= average:
            expected = f"a whole number below average_size ({average})"
            raise ParamError("slicer.attributes.size_variation", expected, variation)

    def __init__(self, average_size: int, size_variation: int = 0, delay: float = 0.0) -> None:
        super().__init__()
        if average_size < 1:
            raise ValueError("average_size must be at least 1")
        if not 0 <= size_variation < average_size:
            raise ValueError("size_variation must be from 0 to average_size - 1")
        self.average_size = average_size
        self.size_variation = size_variation
        self.delay = delay
        self._free = 0.0  # when the last slice's delay is over and the next write may start

    def cuts(self, start: int, end: int) -> list[tuple[int, int]]:
        """The ``(start, end)`` offsets of the slices of ``data[start:end]``."""
        out: list[tuple[int, int]] = []
        pending = [(start, end)]
        while pending:  # depth first, left half first: Toxiproxy's recursion, without recursing
            lo, hi = pending.pop()
            if (hi - lo) - self.average_size <= self.size_variation:
                if hi > lo:  # a cut can land on the edge: no empty slice (it would read as EOF)
                    out.append((lo, hi))
                continue
            mid = lo + (hi - lo) // 2
            if self.size_variation > 0:
                mid += self.rng.randrange(2 * self.size_variation) - self.size_variation
            pending += [(mid, hi), (lo, mid)]
        return out

    def process(self, seg: Segment) -> list[Segment]:
        if seg.kind == "fin":
            seg.at = max(seg.at, self._free)  # a close waits for the slices before it
        if seg.kind != "data" or not seg.data:
            return [seg]
        at = max(seg.at, self._free)
        out = []
        for lo, hi in self.cuts(0, len(seg.data)):
            out.append(Segment(at, seg.data[lo:hi], "data", seg.sent))
            at += self.delay
        self._free = at
        return out
