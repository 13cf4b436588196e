"""Four changes to Hypercorn's trio worker (0.18), installed by :func:`apply`.

**A guard for a race that stopped the whole server.** ``TCPServer._close`` sends EOF without
the connection's send lock, while every other send holds it (or, below, writes without a
turn of the scheduler while nobody holds it). When the server closes a
WebSocket just as the client closes it too, the task answering the client's close frame
(under the lock) finds the socket busy with that EOF, and the ``trio.BusyResourceError`` left
Hypercorn's connection task and cancelled every connection of the server. Seen once in the
browser suite (a console closed as the page went away). The connection is closing either
way: treat the error as the close it is, as Hypercorn already does for a socket closed or
broken under a send.

Hypercorn reads up to ``MAX_RECV`` bytes of a client's socket, hands the frames it found to
the app one at a time, and reads the socket again only when all are handed over. Past the
server's ceiling that path held the backlog where no queue of the server's saw it: a frame
waited a whole turn of trio's scheduler at each hand-over, a busy client's frames queued up
behind each other and in its socket, and answers came later without bound while nothing
was shed (figures: bench/RESULTS.md, "Message path past the ceiling"). Hence:

**The frames of a read handed over together.** The app's queue is a memory channel; a frame
goes in without a turn of the scheduler while it has room (it holds 10), so the app takes a
read's frames in one turn (:meth:`server.websocket.AsgiWebSocket.receive`) and they reach
the runtime's queue, where waiting is bounded.

**When a WebSocket's frames arrived**, as estimated from the socket, stamped on each frame's
ASGI message (:data:`ARRIVED`; on the message, not the scope, because a middleware may copy
the scope: Hypercorn's proxy-headers one does). At each read, and again once its frames are
handed over, the socket is asked how many bytes wait in it (``FIONREAD``): with the bytes
read so far, that says how many the connection had received by then. The frames of a read
arrived no later than the first such look that found the read's last byte already there,
or the read itself if none did. So the estimate never makes a frame older than it is, and
errs short by at most the time between two looks: one read's hand-over, or one turn.

The gateway sheds a request that arrived longer ago than the server may run late
(docs/protocol.md, Limits). Only HTTP/1.1 WebSockets are stamped (what browsers open); an
HTTP/2 one gets the other limits only.

**A write the socket takes at once costs no turn of the scheduler.** Hypercorn sends under
a lock and through the stream's ``send_all``, and each of those yields to the scheduler
even when nothing waits: a frame written took two whole turns. Past the ceiling a turn
takes hundreds of milliseconds, and a connection's frames waited behind its previous
write's turns: most of a late answer's time (figures: bench/RESULTS.md, "Writes without a
turn"). When no other send holds the lock, the bytes go to a plain socket's file
descriptor at once (non-blocking); what it does not take, and every other case (the lock
held, TLS, a virtual stream, an error), goes Hypercorn's way, behind the bytes already
written. The writer still yields once a frame, when it takes the next from its queue.
"""

from __future__ import annotations

import collections
import contextvars
import fcntl
import os
import sys
import termios
from typing import Any

import trio
from hypercorn.events import Closed, RawData
from hypercorn.protocol.events import Data, Request
from hypercorn.protocol.ws_stream import WSStream
from hypercorn.trio.tcp_server import TCPServer

#: Key of a ``websocket.receive`` message: ``trio.current_time()`` when its frame arrived,
#: as estimated (see the module's docstring).
ARRIVED = "ringlab.arrived"

_original_send = TCPServer.protocol_send
_original_run = TCPServer.run
_original_handle = WSStream.handle
#: the connection's stream, in its Hypercorn task (which reads it and calls WSStream.handle)
_stream: contextvars.ContextVar[Any] = contextvars.ContextVar("ringlab_stream")


async def _protocol_send(self: Any, event: Any) -> None:
    # Nothing yields from the lock's check to the write, so no other send can come between:
    # a waiter for the lock holds it already (trio hands a released lock to the next one)
    if isinstance(event, RawData) and event.data and not self.send_lock.locked():
        written = _write_now(self.stream, event.data)
        if written == len(event.data):
            return
        if written:
            # a frame begun must be finished whatever happens to this task, or the next
            # send would land in its middle: Hypercorn shields a write once it starts too
            rest = RawData(data=event.data[written:], address=event.address)
            with trio.CancelScope(shield=True):
                await _send(self, rest)
            return
    await _send(self, event)


async def _send(self: Any, event: Any) -> None:
    """Hypercorn's send, and the guard for its close race."""
    try:
        await _original_send(self, event)
    except trio.BusyResourceError:  # the EOF of a close in progress (see the docstring)
        await self.protocol.handle(Closed())


def _write_now(stream: Any, data: bytes) -> int:
    """Write what a plain socket's buffer takes of ``data`` now, without blocking or a
    turn of the scheduler; how many bytes went (0: none, or not a plain socket, or an
    error, which Hypercorn's own send meets again and handles)."""
    if type(stream) is not trio.SocketStream:
        return 0
    try:
        return os.write(stream.socket.fileno(), data)
    except OSError:  # full (BlockingIOError), closed, reset: Hypercorn's way
        return 0


async def _run(self: Any) -> None:
    _stream.set(self.stream)
    await _original_run(self)


def bytes_waiting(stream: Any) -> int:
    """Bytes received on ``stream`` and not read yet: the kernel's count for a socket
    (``FIONREAD``), the stream's own ``bytes_waiting()`` for another (a virtual one)."""
    own = getattr(stream, "bytes_waiting", None)
    if own is not None:
        count: int = own()
        return count
    stream = getattr(stream, "transport_stream", stream)  # TLS: the socket beneath
    sock = getattr(stream, "socket", None)
    if sock is None:
        return 0
    fd = sock.fileno()
    if fd < 0:  # closed meanwhile: nothing waits
        return 0
    try:
        raw = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:  # closed meanwhile
        return 0
    return int.from_bytes(raw, sys.byteorder)


def _eager(stream: Any, put: Any) -> Any:
    """Hypercorn's ``app_put`` (a memory channel's ``send``), without its turn of the
    scheduler when the channel has room; each message stamped with ``stream``'s estimate
    of when the bytes of its last read arrived."""
    channel = getattr(put, "__self__", None)
    if not isinstance(channel, trio.MemorySendChannel):
        return put

    async def eager_put(message: Any) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()  # as ``send`` does: no turn taken
        message[ARRIVED] = stream.ringlab_arrived
        try:
            channel.send_nowait(message)
        except trio.WouldBlock:  # the app is behind: wait for room, as Hypercorn does
            await put(message)

    return eager_put


async def _handle(self: Any, event: Any) -> None:
    # Data is the bytes of one read of the socket
    if not isinstance(event, Data):
        await _original_handle(self, event)
        if isinstance(event, Request):  # the handshake: the app started, unless refused
            self.ringlab_arrived, self.ringlab_read = None, 0
            self.ringlab_seen = collections.deque()  # (time, bytes received by then)
            if self.app_put is not None:
                self.app_put = _eager(self, self.app_put)
        return
    now = trio.current_time()
    self.ringlab_read = end = self.ringlab_read + len(event.data)
    seen: collections.deque[tuple[float, int]] = self.ringlab_seen
    while seen and seen[0][1] < end:  # looks from before this read's last byte came
        seen.popleft()
    self.ringlab_arrived = seen[0][0] if seen else now
    _look(self, now)
    await _original_handle(self, event)  # its frames handed over (waiting for room)
    _look(self, trio.current_time())


def _look(ws: Any, now: float) -> None:
    """Note how many bytes the connection had received by ``now``, if more than it has
    read and than the last look found."""
    stream = _stream.get(None)
    waiting = 0 if stream is None else bytes_waiting(stream)
    received = ws.ringlab_read + waiting
    seen = ws.ringlab_seen
    if waiting and (not seen or seen[-1][1] < received):
        seen.append((now, received))


def apply() -> None:
    """Install the four changes (idempotent)."""
    TCPServer.protocol_send = _protocol_send  # type: ignore[method-assign]
    TCPServer.run = _run  # type: ignore[method-assign]
    WSStream.handle = _handle  # type: ignore[method-assign]
