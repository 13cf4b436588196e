"""Moving a link's bytes on the trio clock: the half of :class:`~.stream.Link` that
delivers, apart from the stream API the application calls.

Two small tasks per link: one sends what is due upstream (when the writer's own task
could not), one reads the wrapped stream into the ``down`` pipe. The reader of the link
takes what is due downstream itself, waking when it is due: no task in between, so a
frame costs one task switch fewer, and a held connection two tasks fewer (tasks and
their cancel scopes were most of a held client's memory and of the garbage collector's
work). Waits for a due time go through :class:`~.timer.Waker`: exact on a virtual clock,
precise and cheap on the real one.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
from collections import deque

import trio

from .base import DIRECTIONS, Direction, Env, RttEstimator
from .pipe import Pipe, min_time
from .timer import Signal, Waker

#: Bytes asked of the wrapped stream per read: big reads keep bulk transfers cheap.
READ_SIZE = 256 * 1024


class Carrier:
    """The state both halves of a link share, and the tasks that move its bytes.

    A direction holds at most its window (see :mod:`.window`) plus one read: past that
    the writer, or the reader of the wrapped stream, waits, as when a socket's buffers
    are full. Its unread bytes count too, as they shrink a receiver's window.
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
        self.pipes["up"].peer, self.pipes["down"].peer = self.pipes["down"], self.pipes["up"]
        self._waker = Waker(precise)
        # the delivery task: something queued upstream, toxics changed, closing
        self._deliverer = Signal()
        # the user side: room for writers (up); data, a toxic change or room (down)
        self._user = {d: Signal() for d in DIRECTIONS}
        self._received: deque[bytes] = deque()
        self._received_bytes = 0
        self._sending = False  # a task is inside inner.send_all
        self._finished = False  # the FIN after close went out
        self._eof = False
        self._reset = False
        self._closed = False

    def _fire_all(self) -> None:
        self._deliverer.fire()
        for direction in DIRECTIONS:
            self._user[direction].fire()

    async def _until_due(self) -> None:
        """Sleep until something is due upstream or a deadline downstream has come,
        or the deliverer is woken."""
        now = trio.current_time()
        wake = min_time(self.pipes["up"].next_wakeup(now), self.pipes["down"].next_deadline())
        if wake is None or wake > now:
            await self._waker.wait(self._deliverer, wake)

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
            down = self.pipes["down"]
            queued = len(down.queue)
            if down.expired(trio.current_time()):
                await self._break()
                continue
            if len(down.queue) > queued:  # a toxic closed the stream: the reader takes its FIN
                self._user["down"].fire()
            if self._sending:  # the writer is sending; it wakes us if more is queued
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
        pipe = self.pipes["down"]
        return pipe.queued_bytes + self._received_bytes > pipe.window

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
            elif pipe.queue:  # if the reader waits, it must wake in time for this
                wake = pipe.next_wakeup(trio.current_time())
                if wake is not None:
                    self._waker.advance(self._user["down"], wake)
            if not data:
                return

    async def _until_due_down(self) -> None:
        """Wait until data arrives and is due, or something else changes downstream."""
        wake = self.pipes["down"].next_wakeup(trio.current_time())
        await self._waker.wait(self._user["down"], wake)

    async def flushed(self) -> None:
        """Wait until everything written so far has crossed the link (or it was reset)."""
        while self.pipes["up"].queue and not self._reset:
            await self._user["up"].event.wait()

    async def _drain(self, linger: float) -> None:
        """After a close, let what was written reach the far end, for ``linger`` s at most."""
        with trio.move_on_after(linger):
            await self.flushed()


async def _abort(stream: trio.abc.Stream) -> None:
    """Close the wrapped stream at once; a socket sends RST, as a reset connection does."""
    sock = getattr(stream, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await trio.aclose_forcefully(stream)
