"""The link on trio: a :class:`trio.abc.HalfCloseableStream` over any other stream.

Writes go through the ``up`` pipe to the wrapped stream; what the wrapped
stream yields goes through the ``down`` pipe to the reader. Two small tasks per
link move bytes on the trio clock, so the same link runs in real time or under
``MockClock(autojump_threshold=0)``: one sends what is due upstream, one reads the
wrapped stream. The reader of the link takes what is due downstream itself, waking
when it is due: no task in between, so a frame costs one task switch fewer, and a held
connection two tasks fewer (tasks and their cancel scopes were most of a held client's
memory and of the garbage collector's work).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import trio

from .base import DIRECTIONS, Direction, DirectionStatistics, Env, RttEstimator, Toxic
from .outage import Outage, Schedule
from .pipe import Pipe, min_time

#: Bytes a direction holds before the writer (or the wrapped stream's reader) waits,
#: about what a socket buffer holds.
BUFFER = 256 * 1024
#: Seconds a closed link keeps delivering what was written before the close.
LINGER = 10.0
#: Bytes asked of the wrapped stream per read: big reads keep bulk transfers cheap.
READ_SIZE = 256 * 1024
#: How early a precise link wakes before a delivery is due: the event loop's
#: timers have epoll's 1 ms granularity plus a fraction of a ms of wake-up cost.
SPIN = 0.003


class LinkReset(trio.BrokenResourceError):
    """The link reset the connection (a toxic broke it, or the far side did)."""


@dataclass(frozen=True, slots=True)
class LinkStatistics:
    """What a link did so far: per direction, and how it ended."""

    up: DirectionStatistics
    down: DirectionStatistics
    reset: bool
    closed: bool


class _Signal:
    """A wake-up many tasks can wait for; each :meth:`fire` wakes the current waiters."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = trio.Event()

    @property
    def event(self) -> trio.Event:
        return self._event


class Link(trio.abc.HalfCloseableStream):
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
        rtt = RttEstimator()
        self.inner = inner
        self.precise = precise
        self.pipes: dict[Direction, Pipe] = {
            d: Pipe(Env(d, random.Random(rng.getrandbits(64)), rtt)) for d in DIRECTIONS
        }
        # the delivery task: something queued upstream, toxics changed, closing
        self._deliverer = _Signal()
        # the user side: room for writers (up); data, a toxic change or room (down)
        self._user = {d: _Signal() for d in DIRECTIONS}
        # the reader's wait for data due downstream, whose deadline an arrival can advance
        self._reading: trio.CancelScope | None = None
        self._received: deque[bytes] = deque()
        self._received_bytes = 0
        self._sending = False  # a task is inside inner.send_all
        self._finished = False  # the FIN after close went out
        self._eof = False
        self._reset = False
        self._closed = False
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

    # ------------------------------------------------------------ plumbing

    def _fire_all(self) -> None:
        self._deliverer.fire()
        for direction in DIRECTIONS:
            self._user[direction].fire()

    def _earlier(self, wake: float) -> float:
        """A timer for ``wake``: a precise link wakes :data:`SPIN` early."""
        return wake - SPIN if self.precise else wake

    async def _spin_until(self, wake: float | None, woken: trio.Event) -> None:
        """Precise: the last stretch yields to other tasks instead of trusting a
        millisecond timer (never under a virtual clock: time would stand still)."""
        while self.precise and wake is not None and not woken.is_set():
            if trio.current_time() >= wake:
                return
            await trio.sleep(0)

    async def _until_due(self) -> None:
        """Sleep until something is due upstream or a deadline downstream has come,
        or the deliverer is woken."""
        now = trio.current_time()
        wake = min_time(self.pipes["up"].next_wakeup(now), self.pipes["down"].next_deadline())
        if wake is not None and wake <= now:
            return
        woken = self._deliverer.event
        if wake is None:
            await woken.wait()
            return
        with trio.move_on_at(self._earlier(wake)):
            await woken.wait()
        await self._spin_until(wake, woken)

    async def _break(self) -> None:
        """The connection is reset: both ends see it broken."""
        if self._reset:
            return
        self._reset = True
        self._fire_all()
        await _abort(self.inner)

    async def _flush_up(self) -> None:
        """Send what is due upstream. One sender at a time: the writer's own task
        when nothing is waiting (the fast path), else the delivery task."""
        pipe = self.pipes["up"]
        self._sending = True
        try:
            due = pipe.pop_due(trio.current_time())
            chunks = [seg.data for seg in due if seg.kind == "data"]
            if chunks:
                await self.inner.send_all(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            if any(seg.kind == "fin" for seg in due):
                if isinstance(self.inner, trio.abc.HalfCloseableStream):
                    await self.inner.send_eof()
                if self._closed:
                    self._finished = True
                    await self.inner.aclose()
            if any(seg.kind == "reset" for seg in due):
                await self._break()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self._break()
        finally:
            self._sending = False
            self._user["up"].fire()  # room in the buffer
            if pipe.queue:
                self._deliverer.fire()

    async def _deliver(self) -> None:
        while not (self._reset or self._finished):
            await self._until_due()
            if self.pipes["down"].expired(trio.current_time()):
                await self._break()
            elif self._sending:  # the writer is sending; it wakes us if more is queued
                await self._deliverer.event.wait()
            else:
                await self._flush_up()

    def _flush_down(self) -> bool:
        """Hand what is due downstream to the reader; True if the connection reset."""
        reset = False
        due = self.pipes["down"].pop_due(trio.current_time())
        for seg in due:
            if seg.kind == "data":
                if not self._closed:
                    self._received.append(seg.data)
                    self._received_bytes += len(seg.data)
            elif seg.kind == "fin":
                self._eof = True
            else:
                reset = True
        if due:
            self._user["down"].fire()
        return reset

    def _full(self) -> bool:
        return self.pipes["down"].queued_bytes + self._received_bytes > BUFFER

    async def _read_down(self) -> None:
        pipe = self.pipes["down"]
        while not self._reset:
            while self._full() and not self._reset:
                await self._user["down"].event.wait()
            try:
                data = await self.inner.receive_some(READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = None
            if data is None:  # the far side reset it
                pipe.push(trio.current_time(), kind="reset")
            else:
                pipe.push(trio.current_time(), bytes(data), "data" if data else "fin")
            if self._flush_down():  # the fast path: due at once unless a toxic holds it
                await self._break()
            elif self._reading is not None and pipe.queue:  # the reader waits: wake it in time
                wake = pipe.next_wakeup(trio.current_time())
                if wake is not None:
                    self._reading.deadline = min(self._reading.deadline, self._earlier(wake))
            if not data:
                return

    async def flushed(self) -> None:
        """Wait until everything written so far has crossed the link (or it was reset)."""
        while self.pipes["up"].queue and not self._reset:
            await self._user["up"].event.wait()

    async def _drain(self, linger: float) -> None:
        """After a close, let what was written reach the far end, for ``linger`` s at most."""
        with trio.move_on_after(linger):
            await self.flushed()

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
        while self.pipes["up"].queued_bytes > BUFFER:
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

    async def _until_due_down(self) -> None:
        """Wait until data arrives and is due, or something else changes downstream."""
        pipe = self.pipes["down"]
        wake = pipe.next_wakeup(trio.current_time())
        woken = self._user["down"].event
        with trio.CancelScope(
            deadline=math.inf if wake is None else self._earlier(wake)
        ) as self._reading:
            try:
                await woken.wait()
            finally:
                self._reading = None
        await self._spin_until(pipe.next_wakeup(trio.current_time()), woken)

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
    precise: bool = False,
) -> AsyncIterator[Link]:
    """Wrap ``inner`` in a :class:`Link` whose tasks run inside this block.

    On exit the link is closed; data already written keeps crossing for up to
    ``linger`` seconds before the wrapped stream is closed for good.

    ``precise`` is for the real clock, whose timers fire up to ~1.5 ms late
    (epoll counts whole milliseconds): the link wakes :data:`SPIN` early and
    yields until the moment comes, at a little CPU per delivery. Leave it off
    under a virtual clock, where timers are exact.
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
