"""``reset_peer``: the connection is reset (TCP RST) a set time after the toxic applies."""

from __future__ import annotations

from .base import Toxic
from .params import DURATION, Param, Values


class ResetPeer(Toxic):
    """Resets the connection (TCP RST) ``timeout`` seconds after the toxic applies."""

    kind = "reset_peer"
    params = (Param("timeout", DURATION, 0.0, key="reset_peer"),)

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return values["timeout"] is not None

    def __init__(self, timeout: float = 0.0) -> None:
        super().__init__()
        self.timeout = timeout

    def deadline(self) -> float | None:
        return self.started + self.timeout
