"""The link on trio: a :class:`trio.abc.HalfCloseableStream` over any other stream.

Writes go through the ``up`` pipe to the wrapped stream; what the wrapped
stream yields goes through the ``down`` pipe to the reader. Two small tasks
per direction move bytes when the pipes say they are due, on the trio clock,
so the same link runs in real time or under ``MockClock(autojump_threshold=0)``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
import socket
import struct
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import trio

from .base import DIRECTIONS, Direction, DirectionStatistics, Env, RttEstimator, Toxic
from .outage import Outage, Schedule
from .pipe import Pipe

#: Bytes a direction holds before the writer (or the wrapped stream's reader) waits,
#: about what a socket buffer holds.
BUFFER = 256 * 1024
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


class Link(trio.abc.HalfCloseableStream):
    """A stream whose bytes cross an emulated link. Use :func:`open_link`.

    Toxics can be added and removed while it runs, per direction; each draws
    from its own generator seeded from ``rng``.
    """

    def __init__(self, inner: trio.abc.Stream, rng: random.Random) -> None:
        rtt = RttEstimator()
        self.inner = inner
        self.pipes: dict[Direction, Pipe] = {
            d: Pipe(Env(d, random.Random(rng.getrandbits(64)), rtt)) for d in DIRECTIONS
        }
        self._changed: dict[Direction, trio.Event] = {"up": trio.Event(), "down": trio.Event()}
        self._received = bytearray()
        self._eof = False
        self._reset = False
        self._closed = False
        self._cuts = itertools.count(1)

    # ------------------------------------------------------------ toxics

    def add(self, direction: Direction, name: str, toxic: Toxic) -> None:
        """Add (or replace) a toxic at the end of one direction's chain."""
        self.pipes[direction].add(name, toxic, trio.current_time())
        self._kick(direction)

    def remove(self, direction: Direction, name: str) -> Toxic | None:
        toxic = self.pipes[direction].remove(name)
        self._kick(direction)
        return toxic

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

    def statistics(self) -> LinkStatistics:
        return LinkStatistics(
            up=replace(self.pipes["up"].env.stats),
            down=replace(self.pipes["down"].env.stats),
            reset=self._reset,
            closed=self._closed,
        )

    # ------------------------------------------------------------ plumbing

    def _kick(self, direction: Direction) -> None:
        self._changed[direction].set()
        self._changed[direction] = trio.Event()

    async def _until_due(self, direction: Direction) -> None:
        """Sleep until the pipe has something due (or changes)."""
        pipe = self.pipes[direction]
        now = trio.current_time()
        wake = pipe.next_wakeup(now)
        if wake is not None and wake <= now:
            return
        changed = self._changed[direction]
        with trio.move_on_at(math.inf if wake is None else wake):
            await changed.wait()

    async def _break(self) -> None:
        """The connection is reset: both ends see it broken."""
        if self._reset:
            return
        self._reset = True
        for direction in DIRECTIONS:
            self._kick(direction)
        await _abort(self.inner)

    async def _deliver_up(self) -> None:
        pipe = self.pipes["up"]
        while not self._reset:
            await self._until_due("up")
            due = pipe.pop_due(trio.current_time())
            data = b"".join(seg.data for seg in due if seg.kind == "data")
            try:
                if data:
                    await self.inner.send_all(data)
                if any(seg.kind == "fin" for seg in due):
                    if isinstance(self.inner, trio.abc.HalfCloseableStream):
                        await self.inner.send_eof()
                    if self._closed:
                        await self.inner.aclose()
                        return
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                await self._break()
            if any(seg.kind == "reset" for seg in due):
                await self._break()
            self._kick("up")  # room in the buffer for waiting writers

    async def _read_down(self) -> None:
        pipe = self.pipes["down"]
        while True:
            while pipe.queued_bytes + len(self._received) > BUFFER and not self._reset:
                await self._changed["down"].wait()
            if self._reset:
                return
            try:
                data = await self.inner.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pipe.push(trio.current_time(), kind="reset")  # the far side reset it
                self._kick("down")
                return
            pipe.push(trio.current_time(), bytes(data), "data" if data else "fin")
            self._kick("down")
            if not data:
                return

    async def _deliver_down(self) -> None:
        pipe = self.pipes["down"]
        while not self._reset and not self._eof:
            await self._until_due("down")
            for seg in pipe.pop_due(trio.current_time()):
                if seg.kind == "data":
                    if not self._closed:
                        self._received += seg.data
                elif seg.kind == "fin":
                    self._eof = True
                else:
                    await self._break()
            self._kick("down")

    async def _run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._deliver_up)
            nursery.start_soon(self._read_down)
            nursery.start_soon(self._deliver_down)

    async def _drain(self, linger: float) -> None:
        """After a close, let what was written reach the far end, for ``linger`` s at most."""
        with trio.move_on_after(linger):
            while self.pipes["up"].queue and not self._reset:
                await self._changed["up"].wait()

    # ------------------------------------------------------------ Stream

    def _check_writable(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the link was closed")
        if self._reset:
            raise LinkReset("connection reset")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._check_writable()
        if data:
            self.pipes["up"].push(trio.current_time(), bytes(data))
            self._kick("up")
        await self.wait_send_all_might_not_block()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()
        while self.pipes["up"].queued_bytes > BUFFER:
            self._check_writable()
            await self._changed["up"].wait()
        self._check_writable()

    async def send_eof(self) -> None:
        self._check_writable()
        self.pipes["up"].push(trio.current_time(), kind="fin")
        self._kick("up")
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        while True:
            if self._closed:
                raise trio.ClosedResourceError("the link was closed")
            if self._received:
                n = len(self._received) if max_bytes is None else max_bytes
                data = bytes(self._received[:n])
                del self._received[:n]
                self._kick("down")
                return data
            if self._reset:
                raise LinkReset("connection reset")
            if self._eof:
                return b""
            await self._changed["down"].wait()

    async def aclose(self) -> None:
        """Close: what was written still crosses the link, then the far end sees EOF."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        if not self._reset:
            self.pipes["up"].push(trio.current_time(), kind="fin")
        self._closed = True
        self._kick("up")
        self._kick("down")
        await trio.lowlevel.checkpoint()


async def _abort(stream: trio.abc.Stream) -> None:
    """Close the wrapped stream at once; a socket sends RST, as a reset connection does."""
    sock = getattr(stream, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await trio.aclose_forcefully(stream)


@asynccontextmanager
async def open_link(
    inner: trio.abc.Stream,
    rng: random.Random,
    toxics: Iterable[tuple[Direction, str, Toxic]] = (),
    *,
    linger: float = LINGER,
) -> AsyncIterator[Link]:
    """Wrap ``inner`` in a :class:`Link` whose tasks run inside this block.

    On exit the link is closed; data already written keeps crossing for up to
    ``linger`` seconds before the wrapped stream is closed for good.
    """
    link = Link(inner, rng)
    link.add_all(toxics)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link._run)
        try:
            yield link
            await link.aclose()
            await link._drain(linger)
        finally:
            nursery.cancel_scope.cancel()
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(inner)
