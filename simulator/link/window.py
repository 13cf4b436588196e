"""The TCP window: how many bytes may be on their way before the sender waits for an ack.

A byte cannot arrive sooner than one round trip after the byte a window before it did:
the sender needed that byte's acknowledgement to send it. So a connection carries at
most ``window / RTT`` bytes per second whatever the rate: a bandwidth-delay product
larger than the window is a real limit, as on a long satellite path.
"""

from __future__ import annotations

from typing import Any

from .base import Toxic

#: Linux's default: receive-buffer autotuning grows to ``tcp_rmem``'s maximum (6 MiB),
#: about half of which is advertised as window.
WINDOW = 3 * 1024 * 1024


class Window(Toxic):
    """Sets the direction's window to ``size`` bytes (without it: :data:`WINDOW`)."""

    kind = "window"

    def __init__(self, size: int) -> None:
        super().__init__()
        if size <= 0:
            raise ValueError("a window must be at least one byte")
        self.size = size

    def window(self) -> int | None:
        return self.size

    def attributes(self) -> dict[str, Any]:
        return {"bytes": self.size}
