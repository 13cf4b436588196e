"""One direction of a link, sans I/O: a chain of toxics and then a FIFO queue.

Bytes enter with :meth:`Pipe.push`; each toxic in turn says when they may
leave; :meth:`Pipe.pop_due` hands out what is due. The pipe itself only keeps
order (nothing overtakes what was written before it) and applies the holds
and deadlines toxics declare. It never special-cases a toxic.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from .base import Env, Segment, Toxic


class Pipe:
    """Toxics applied in insertion order to everything written in one direction."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.toxics: dict[str, Toxic] = {}
        self.queue: deque[Segment] = deque()
        self.queued_bytes = 0
        self.broken = False  # a reset went through: nothing more will
        self._tail = -math.inf

    def add(self, name: str, toxic: Toxic, now: float) -> None:
        """Put ``toxic`` at the end of the chain (replacing one of the same name)."""
        toxic.bind(self.env, now)
        self.toxics.pop(name, None)
        self.toxics[name] = toxic

    def remove(self, name: str) -> Toxic | None:
        return self.toxics.pop(name, None)

    def push(
        self, now: float, data: bytes = b"", kind: Literal["data", "fin", "reset"] = "data"
    ) -> None:
        """Write ``data`` (or a ``fin``) at ``now``."""
        segments = [Segment(now, data, kind, now)]
        for toxic in self.toxics.values():
            segments = [out for seg in segments for out in toxic.process(seg)]
        for seg in segments:
            seg.at = self._tail = max(seg.at, self._tail)  # TCP keeps order
            self.queue.append(seg)
            self.queued_bytes += len(seg.data)

    def _open_at(self, t: float) -> float:
        """The first time from ``t`` at which no toxic holds the data back."""
        while True:
            held = max((toxic.hold(t) for toxic in self.toxics.values()), default=t)
            if held <= t:
                return t
            t = held

    def next_deadline(self) -> float | None:
        """The earliest toxic deadline (a reset due at a set time), if any."""
        if self.broken:
            return None
        return min_time(*(toxic.deadline() for toxic in self.toxics.values()))

    def next_wakeup(self, now: float) -> float | None:
        """When :meth:`pop_due` next has something to do, or None if only a push can wake it."""
        if self.broken:
            return None
        wake = self.next_deadline()
        if self.queue:
            wake = min_time(wake, self._open_at(max(self.queue[0].at, now)))
        return wake

    def expired(self, now: float) -> bool:
        """True if a toxic's deadline has come and it breaks the connection: then nothing
        more passes."""
        if self.broken:
            return False
        for toxic in list(self.toxics.values()):
            deadline = toxic.deadline()
            if deadline is not None and deadline <= now and toxic.expire(now):
                self.broken = True
                return True
        return False

    def pop_due(self, now: float) -> list[Segment]:
        """Segments due at ``now``, in order; a ``reset`` segment means the connection breaks."""
        if self.broken:
            return []
        if self.expired(now):
            return [Segment(now, b"", "reset", now)]
        due: list[Segment] = []
        if not self.queue or self.queue[0].at > now or self._open_at(now) > now:
            return due
        stats = self.env.stats
        while self.queue and self.queue[0].at <= now:
            seg = self.queue.popleft()
            self.queued_bytes -= len(seg.data)
            due.append(seg)
            if seg.kind == "data":
                delay = now - seg.sent
                stats.bytes += len(seg.data)
                stats.chunks += 1
                stats.added_delay += delay
                stats.max_delay = max(stats.max_delay, delay)
            elif seg.kind == "reset":
                self.broken = True
                break
        return due


def min_time(*times: float | None) -> float | None:
    """The earliest of the times given, ignoring None (None if there are none)."""
    return min((t for t in times if t is not None), default=None)
