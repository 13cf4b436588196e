"""The TCP window: how many bytes may be on their way before the sender waits for an ack.

A byte cannot arrive sooner than one round trip after the byte a window before it did:
the sender needed that byte's acknowledgement to send it. So a connection carries at
most ``window / RTT`` bytes per second whatever the rate: a bandwidth-delay product
larger than the window is a real limit, as on a long satellite path.
"""

from __future__ import annotations

from typing import Any

from . import units
from .base import Toxic
from .params import Param, Values, size
from .units import ParamError

#: Linux's default: receive-buffer autotuning grows to ``tcp_rmem``'s maximum (6 MiB),
#: about half of which is advertised as window.
WINDOW = 3 * 1024 * 1024


def _window(param: str, value: object) -> int:
    got = units.size(param, value)
    if got <= 0:  # nothing could ever be in flight
        raise ParamError(param, "a window of at least one byte, such as 64KiB or 3MiB", value)
    return got


class Window(Toxic):
    """Sets the direction's window to ``size`` bytes (without it: :data:`WINDOW`)."""

    kind = "window"
    params = (Param("bytes", size(1, parse=_window), WINDOW, key="window"),)

    @classmethod
    def create(cls, values: Values, shared: dict[str, object]) -> Window:
        return cls(values["bytes"])

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return values["bytes"] is not None

    def __init__(self, size: int) -> None:
        super().__init__()
        if size <= 0:
            raise ValueError("a window must be at least one byte")
        self.size = size

    def window(self) -> int | None:
        return self.size

    def values(self) -> dict[str, Any]:
        return {"bytes": self.size}
