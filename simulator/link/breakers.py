"""Toxics whose purpose is to break the connection, as Toxiproxy defines them."""

from __future__ import annotations

import math
from typing import Any, Literal

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
    """Stops all data (it is dropped); closes the connection (FIN) ``timeout`` s after
    the last data reached the toxic, or after it applied if none did.

    The timer restarts with each write as Toxiproxy's does (it waits afresh
    for every chunk it drops), so it works as an idle timeout. With
    ``timeout = 0`` the connection stays open and data is dropped for as long
    as the toxic is in place. The sender's close (FIN) and a reset still pass:
    Toxiproxy closes at once when its input ends.
    """

    kind = "timeout"

    def __init__(self, timeout: float = 0.0) -> None:
        super().__init__()
        self.timeout = timeout
        self.closed = False  # the stream ended: the timer stops, as Toxiproxy's returns
        self._last = -math.inf  # when the last data reached the toxic

    def process(self, seg: Segment) -> list[Segment]:
        if seg.kind == "data":
            self._last = seg.at
            self.env.stats.dropped_bytes += len(seg.data)
            return []
        self.closed = True
        return [seg]

    def deadline(self) -> float | None:
        if self.timeout <= 0 or self.closed:
            return None
        return max(self.started, self._last) + self.timeout

    def expire(self, now: float) -> Literal["fin"]:
        self.closed = True  # as Toxiproxy's: the stream is closed, the timer stops
        return "fin"

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
    """Passes the first ``limit`` bytes, then closes the connection (FIN).

    As Toxiproxy's ``limit_data``: the close leaves with the write that reaches
    the limit (with ``limit = 0``, with the first write) and what comes after
    it is dropped. A close, not a reset: the reader sees the end of the stream
    after exactly ``limit`` bytes.
    """

    kind = "limit_data"

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.passed = 0
        self.closed = False

    def process(self, seg: Segment) -> list[Segment]:
        if self.closed:
            self.env.stats.dropped_bytes += len(seg.data)
            return []
        if seg.kind != "data":
            return [seg]  # the stream ended (or broke) before the limit
        head = seg.data[: max(0, self.limit - self.passed)]
        self.env.stats.dropped_bytes += len(seg.data) - len(head)
        self.passed += len(head)
        out = [Segment(seg.at, head, "data", seg.sent)] if head else []
        if self.passed >= self.limit:
            self.closed = True
            out.append(Segment(seg.at, b"", "fin", seg.sent))
        return out

    def attributes(self) -> dict[str, Any]:
        return {"bytes": self.limit}
