"""One direction of a link, sans I/O: a chain of toxics and then a FIFO queue.

Bytes enter with :meth:`Pipe.push`; each toxic in turn says when they may
leave; :meth:`Pipe.pop_due` hands out what is due. The pipe itself only keeps
order (nothing overtakes what was written before it), keeps the window (no byte
arrives sooner than a round trip after the byte a window before it: see
:mod:`.window`) and applies the holds and deadlines toxics declare. It never
special-cases a toxic.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from .base import Env, Segment, Toxic
from .window import WINDOW


class Pipe:
    """Toxics applied in insertion order to everything written in one direction."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.toxics: dict[str, Toxic] = {}
        self.queue: deque[Segment] = deque()
        self.queued_bytes = 0
        self.broken = False  # a reset went through: nothing more will
        self.peer: Pipe | None = None  # the other direction: acknowledgements come back there
        self._tail = -math.inf
        self._pushed = 0  # data bytes pushed so far: the offset of the next one
        # (start, end, at) of data segments whose acknowledgement may still hold a later
        # byte back, oldest first (so ``at`` never decreases)
        self._flight: deque[tuple[int, int, float]] = deque()

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
        window, rtt = self.window, self.rtt()
        for seg in segments:
            seg.at = max(seg.at, self._tail)  # TCP keeps order
            for part in self._windowed(seg, window, rtt, now) if seg.data else [seg]:
                part.at = self._tail = max(part.at, self._tail)
                self.queue.append(part)
                self.queued_bytes += len(part.data)

    @property
    def window(self) -> int:
        """The bytes that may be on their way unacknowledged: the smallest window a toxic
        sets, else :data:`~simulator.network.link.window.WINDOW`."""
        sizes = [w for t in self.toxics.values() if (w := t.window()) is not None]
        return min(sizes, default=WINDOW)

    def mean_delay(self) -> float:
        """The mean one-way delay this direction's toxics add."""
        return sum(toxic.mean_delay() for toxic in self.toxics.values())

    def rtt(self) -> float:
        """The round trip a byte and its acknowledgement take: this way, then back."""
        return self.mean_delay() + (self.peer.mean_delay() if self.peer is not None else 0.0)

    def _windowed(self, seg: Segment, window: int, rtt: float, now: float) -> list[Segment]:
        """``seg`` as the window lets it arrive: byte ``b`` not before one round trip after
        byte ``b - window`` arrived (its ack let ``b`` be sent). A segment that straddles
        such a moment is split there, so a window is filled to the byte."""
        start, end = self._pushed, self._pushed + len(seg.data)
        self._pushed = end
        if rtt <= 0:
            return [seg]  # acks come back at once: the window never holds anything
        flight = self._flight
        # forget segments before the bytes that matter, and those acknowledged by now
        while flight and (flight[0][1] <= start - window or flight[0][2] + rtt <= now):
            flight.popleft()
        cuts: list[tuple[int, float]] = []  # (end offset, earliest arrival) of each part
        pos = start
        for first, last, at in flight:
            if first + window >= end:
                break
            if first + window > pos:  # the bytes those acks were for are long acknowledged
                cuts.append((first + window, seg.at))
                pos = first + window
            cut = min(end, last + window)
            if cut > pos:
                cuts.append((cut, max(seg.at, at + rtt)))
                pos = cut
        if pos < end:
            cuts.append((end, seg.at))
        merged: list[tuple[int, float]] = []  # parts due at the same time are one
        for cut, at in cuts:
            if merged and at <= merged[-1][1]:
                merged[-1] = (cut, merged[-1][1])
            else:
                merged.append((cut, at))
        if len(merged) == 1:
            seg.at = merged[0][1]
            flight.append((start, end, seg.at))
            return [seg]
        parts, begin = [], start
        for cut, at in merged:
            parts.append(Segment(at, seg.data[begin - start : cut - start], "data", seg.sent))
            flight.append((begin, cut, at))
            begin = cut
        return parts

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
        more passes. A toxic that closes the connection instead queues a FIN."""
        if self.broken:
            return False
        for name, toxic in list(self.toxics.items()):
            deadline = toxic.deadline()
            if deadline is None or deadline > now:
                continue
            outcome = toxic.expire(now)
            if outcome == "fin":
                self._close_from(name, now)
            elif outcome:
                self.broken = True
                return True
        return False

    def _close_from(self, name: str, now: float) -> None:
        """A FIN that toxic ``name`` sends at ``now``: through the toxics after it (a
        slow_close still delays it), then queued behind what is on its way."""
        names = list(self.toxics)
        segments = [Segment(now, b"", "fin", now)]
        for later in names[names.index(name) + 1 :]:
            segments = [out for seg in segments for out in self.toxics[later].process(seg)]
        for seg in segments:
            seg.at = self._tail = max(seg.at, self._tail)
            self.queue.append(seg)

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
