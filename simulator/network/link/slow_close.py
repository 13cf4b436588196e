"""``slow_close``: the close (FIN) is held back a set time; data is untouched."""

from __future__ import annotations

from .base import Segment, Toxic
from .params import DURATION, Param, Values


class SlowClose(Toxic):
    """Delays the close (FIN) by ``delay`` seconds; data is untouched."""

    kind = "slow_close"
    params = (Param("delay", DURATION, 0.0, key="slow_close"),)

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return bool(values["delay"])

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def process(self, seg: Segment) -> list[Segment]:
        if seg.kind == "fin":
            seg.at += self.delay
        return [seg]
