"""``limit_data``: the first so many bytes pass, then the connection closes."""

from __future__ import annotations

from typing import Any

from .base import Segment, Toxic
from .params import Param, Values, size


class LimitData(Toxic):
    """Passes the first ``limit`` bytes, then closes the connection (FIN).

    As Toxiproxy's ``limit_data``: the close leaves with the write that reaches
    the limit (with ``limit = 0``, with the first write) and what comes after
    it is dropped. A close, not a reset: the reader sees the end of the stream
    after exactly ``limit`` bytes.
    """

    kind = "limit_data"
    params = (Param("bytes", size(), 0, key="limit_data"),)

    @classmethod
    def create(cls, values: Values, shared: dict[str, object]) -> LimitData:
        return cls(values["bytes"])

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return values["bytes"] is not None

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

    def values(self) -> dict[str, Any]:
        return {"bytes": self.limit}
