"""Per-session sequencing and the bounded replay buffer."""

from __future__ import annotations

from collections import deque
from typing import Any

from ..protocol import REPLAY_BUFFER, with_seq


class Outbox:
    """Numbers server events 1, 2, 3... and keeps the unacknowledged ones.

    ``since(last_seq)`` answers a resume: the events after ``last_seq``, or
    ``None`` when some of them have already left the bounded buffer (or the
    client claims a ``seq`` never sent), in which case a snapshot is due.
    """

    __slots__ = ("_buffer", "_capacity", "last_seq")

    def __init__(self, capacity: int = REPLAY_BUFFER) -> None:
        self._buffer: deque[Any] = deque()
        self._capacity = capacity
        self.last_seq = 0

    def push(self, message: Any) -> Any:
        """Stamp ``message`` with the next ``seq``, keep it, and return it."""
        self.last_seq += 1
        stamped = with_seq(message, self.last_seq)
        self._buffer.append(stamped)
        if len(self._buffer) > self._capacity:
            self._buffer.popleft()
        return stamped

    def ack(self, seq: int) -> None:
        """Forget every event up to and including ``seq``."""
        while self._buffer and self._buffer[0].seq <= seq:
            self._buffer.popleft()

    def since(self, last_seq: int) -> list[Any] | None:
        """Events after ``last_seq`` for replay, or ``None`` if they are not all kept."""
        if last_seq > self.last_seq or last_seq < 0:
            return None
        if last_seq == self.last_seq:
            return []
        if not self._buffer or self._buffer[0].seq > last_seq + 1:
            return None
        return [m for m in self._buffer if m.seq > last_seq]

    def __len__(self) -> int:
        return len(self._buffer)
