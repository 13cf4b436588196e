"""Toxics whose purpose is to break the connection, as Toxiproxy defines them."""

from __future__ import annotations

from typing import Any

from .base import Segment, Toxic, ms


class ResetPeer(Toxic):
    """Resets the connection (TCP RST) ``timeout`` seconds after the toxic applies."""

    kind = "reset_peer"

    def __init__(self, timeout: float = 0.0) -> None:
        super().__init__()
        self.timeout = timeout

    def deadline(self) -> float | None:
        return self.started + self.timeout

    def attributes(self) -> dict[str, Any]:
        return {"timeout": ms(self.timeout)}


class Timeout(Toxic):
    """Stops all data (it is dropped); resets the connection after ``timeout`` s.

    With ``timeout = 0`` the connection stays open and data is dropped for as
    long as the toxic is in place, as in Toxiproxy.
    """

    kind = "timeout"

    def __init__(self, timeout: float = 0.0) -> None:
        super().__init__()
        self.timeout = timeout

    def process(self, seg: Segment) -> list[Segment]:
        self.env.stats.dropped_bytes += len(seg.data)
        return []

    def deadline(self) -> float | None:
        return self.started + self.timeout if self.timeout > 0 else None

    def attributes(self) -> dict[str, Any]:
        return {"timeout": ms(self.timeout)}


class SlowClose(Toxic):
    """Delays the close (FIN) by ``delay`` seconds; data is untouched."""

    kind = "slow_close"

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def process(self, seg: Segment) -> list[Segment]:
        if seg.kind == "fin":
            seg.at += self.delay
        return [seg]

    def attributes(self) -> dict[str, Any]:
        return {"delay": ms(self.delay)}


class LimitData(Toxic):
    """Passes the first ``limit`` bytes, then resets the connection."""

    kind = "limit_data"

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.passed = 0

    def process(self, seg: Segment) -> list[Segment]:
        room = self.limit - self.passed
        if room <= 0:
            self.env.stats.dropped_bytes += len(seg.data)
            return []
        if seg.kind != "data" or len(seg.data) < room:
            self.passed += len(seg.data)
            return [seg]
        self.env.stats.dropped_bytes += len(seg.data) - room
        self.passed = self.limit
        head = Segment(seg.at, seg.data[:room], "data", seg.sent)
        return [head, Segment(seg.at, b"", "reset", seg.sent)]

    def attributes(self) -> dict[str, Any]:
        return {"bytes": self.limit}
