"""A keyed timer queue on the trio clock, for the timers the hub asks for."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable

import trio

Key = tuple[str, str]


class Timers:
    """``start(key, deadline)`` replaces any timer of that key; ``cancel(key)`` drops it.

    :meth:`serve` fires due timers one by one, in deadline order (equal
    deadlines in the order they were set), by awaiting ``fire(key)``.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Key]] = []
        self._live: dict[Key, tuple[float, int]] = {}
        self._order = itertools.count()
        self._wake = trio.Event()

    def start(self, key: Key, deadline: float) -> None:
        entry = (deadline, next(self._order))
        self._live[key] = entry
        heapq.heappush(self._heap, (*entry, key))
        self._wake.set()

    def cancel(self, key: Key) -> None:
        self._live.pop(key, None)

    def __len__(self) -> int:
        return len(self._live)

    async def serve(self, fire: Callable[[Key], Awaitable[None]]) -> None:
        while True:
            while self._heap and self._live.get(self._heap[0][2]) != self._heap[0][:2]:
                heapq.heappop(self._heap)  # cancelled or replaced
            deadline = self._heap[0][0] if self._heap else float("inf")
            if deadline <= trio.current_time():
                _, _, key = heapq.heappop(self._heap)
                del self._live[key]
                await fire(key)
                continue
            self._wake = trio.Event()
            with trio.move_on_at(deadline):
                await self._wake.wait()
