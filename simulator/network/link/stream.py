"""The link on trio: a :class:`trio.abc.HalfCloseableStream` over any other stream.

Writes go through the ``up`` pipe to the wrapped stream; what the wrapped stream
yields goes through the ``down`` pipe to the reader. This module is the API the
application sees (the stream, the toxics, the statistics); :mod:`.delivery` moves the
bytes on the trio clock, so the same link runs in real time or under
``MockClock(autojump_threshold=0)``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import trio

from .base import DIRECTIONS, Direction, DirectionStatistics, Toxic
from .delivery import READ_SIZE, Carrier
from .outage import Outage, Schedule

__all__ = ["LINGER", "READ_SIZE", "Link", "LinkReset", "LinkStatistics", "open_link"]

#: Seconds a closed link keeps delivering what was written before the close.
LINGER = 10.0


class LinkReset(trio.BrokenResourceError):
    """The link reset the connection (a toxic broke it, or the far side did)."""


@dataclass(frozen=True, slots=True)
class LinkStatistics:
    """What a link did so far: per direction, and how it ended."""

    up: DirectionStatistics
    down: DirectionStatistics
    reset: bool
    closed: bool


class Link(Carrier, trio.abc.HalfCloseableStream):
    """A stream whose bytes cross an emulated link. Use :func:`open_link`.

    Toxics can be added and removed while it runs, per direction; each draws
    from its own generator seeded from ``rng``. When nothing holds a write
    back it is carried by the caller's own task (no hand-off); otherwise the
    delivery task sends it when it is due. Reads wait in :meth:`receive_some`
    until what arrived is due.
    """

    def __init__(
        self, inner: trio.abc.Stream, rng: random.Random, *, precise: bool = False
    ) -> None:
        super().__init__(inner, rng, precise=precise)
        self._cuts = itertools.count(1)

    # ------------------------------------------------------------ toxics

    def add(self, direction: Direction, name: str, toxic: Toxic) -> None:
        """Add (or replace) a toxic at the end of one direction's chain."""
        self.pipes[direction].add(name, toxic, trio.current_time())
        self._toxics_changed(direction)

    def remove(self, direction: Direction, name: str) -> Toxic | None:
        toxic = self.pipes[direction].remove(name)
        self._toxics_changed(direction)
        return toxic

    def _toxics_changed(self, direction: Direction) -> None:
        self._deliverer.fire()  # it also watches the deadlines downstream
        if direction == "down":
            self._user["down"].fire()  # the reader's wake-up time may have moved

    def add_all(self, toxics: Iterable[tuple[Direction, str, Toxic]]) -> None:
        for direction, name, toxic in toxics:
            self.add(direction, name, toxic)

    def cut(self, duration: float, reset_after: float | None = None) -> None:
        """Take the link down in both directions from now for ``duration`` seconds."""
        schedule = Schedule()
        name = f"cut-{next(self._cuts)}"
        for direction in DIRECTIONS:
            self.add(direction, name, Outage(schedule, reset_after))
        schedule.add(trio.current_time(), duration)

    def schedule_changed(self) -> None:
        """A schedule the toxics share changed (a path's outage): look at it again."""
        self._fire_all()

    def statistics(self) -> LinkStatistics:
        return LinkStatistics(
            up=replace(self.pipes["up"].env.stats),
            down=replace(self.pipes["down"].env.stats),
            reset=self._reset,
            closed=self._closed,
        )

    # ------------------------------------------------------------ Stream

    def _check_writable(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the link was closed")
        if self._reset:
            raise LinkReset("connection reset")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._check_writable()
        pipe = self.pipes["up"]
        if data:
            pipe.push(trio.current_time(), bytes(data))
            if not self._sending and pipe.queue and pipe.queue[0].at <= trio.current_time():
                await self._flush_up()  # nothing to wait for: send from this task
                self._check_writable()
                await self._room_up()
                return
            self._deliverer.fire()
        await self.wait_send_all_might_not_block()

    async def _room_up(self) -> None:
        pipe = self.pipes["up"]
        while pipe.queued_bytes > pipe.window:
            self._check_writable()
            await self._user["up"].event.wait()
        self._check_writable()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()
        await self._room_up()

    async def send_eof(self) -> None:
        self._check_writable()
        self.pipes["up"].push(trio.current_time(), kind="fin")
        self._deliverer.fire()
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        # one schedule point, as a socket's: a wait, or a checkpoint when data is there
        await trio.lowlevel.checkpoint_if_cancelled()
        waited = False
        while True:
            if self._closed:
                raise trio.ClosedResourceError("the link was closed")
            if not self._received and self._flush_down():
                await self._break()
            if self._received:
                data = self._take(max_bytes)
                if not waited:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return data
            if self._reset:
                raise LinkReset("connection reset")
            if self._eof:
                if not waited:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return b""
            await self._until_due_down()
            waited = True

    def _take(self, max_bytes: int | None) -> bytes:
        """Whole chunks while they fit in ``max_bytes``; a chunk is split only if it must."""
        was_full = self._full()
        chunks = self._received
        limit = self._received_bytes if max_bytes is None else max_bytes
        if len(chunks[0]) >= limit:
            head = chunks[0]
            if len(head) == limit:
                chunks.popleft()
            else:
                chunks[0] = head[limit:]
            data = head[:limit]
        else:
            parts, size = [], 0
            while chunks and size + len(chunks[0]) <= limit:
                parts.append(chunks.popleft())
                size += len(parts[-1])
            data = b"".join(parts)
        self._received_bytes -= len(data)
        if was_full:
            self._user["down"].fire()  # the wrapped stream's reader may go on
        return data

    async def aclose(self) -> None:
        """Close: what was written still crosses the link, then the far end sees EOF."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        if not self._reset:
            self.pipes["up"].push(trio.current_time(), kind="fin")
        self._closed = True
        self._fire_all()
        await trio.lowlevel.checkpoint()


@asynccontextmanager
async def open_link(
    inner: trio.abc.Stream,
    rng: random.Random,
    toxics: Iterable[tuple[Direction, str, Toxic]] = (),
    *,
    linger: float = LINGER,
    precise: bool = False,
) -> AsyncIterator[Link]:
    """Wrap ``inner`` in a :class:`Link` whose tasks run inside this block.

    On exit the link is closed; data already written keeps crossing for up to
    ``linger`` seconds before the wrapped stream is closed for good.

    ``precise`` is for the real clock, whose timers fire up to ~1.5 ms late
    (epoll counts whole milliseconds): the link's deliveries are woken by a
    timerfd instead (see :mod:`.timer`). Under a virtual clock timers are exact
    and ``precise`` changes nothing.
    """
    link = Link(inner, rng, precise=precise)
    link.add_all(toxics)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link._deliver)
        nursery.start_soon(link._read_down)
        try:
            yield link
            await link.aclose()
            await link._drain(linger)
        finally:
            nursery.cancel_scope.cancel()
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(inner)
