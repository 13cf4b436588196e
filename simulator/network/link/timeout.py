"""``timeout``: data stops, and the connection closes once it has been idle a set time."""

from __future__ import annotations

import math
from typing import Literal

from .base import Segment, Toxic
from .params import DURATION, Param, Values


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
    params = (Param("timeout", DURATION, 0.0, key="timeout"),)

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return values["timeout"] is not None

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
