"""Three changes to Hypercorn's trio worker (0.18), installed by :func:`apply`.

**A guard for a race that stopped the whole server.** ``TCPServer._close`` sends EOF without
the connection's send lock, while every other send holds it. When the server closes a
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

**When a WebSocket's frames arrived** (:data:`ARRIVED` in the connection's ASGI scope), as
estimated from the reads, for the frames that still waited in the socket:

- the read's own time, when the socket was empty after the previous read's frames were all
  handed over (the reader then waited for these bytes: they arrived as it read them);
- else the previous read's time: they came while its frames were being handed over;
- else, when the previous read filled its buffer (bytes were left in the socket), the same
  time as that read's frames: they are the rest of the same backlog.

The gateway sheds a request that arrived longer ago than the server may run late
(docs/protocol.md, Limits). The estimate errs by at most the time one read's frames took.
"""

from __future__ import annotations

import contextvars
import fcntl
import sys
import termios
from typing import Any

import hypercorn.trio.tcp_server
import trio
from hypercorn.events import Closed
from hypercorn.protocol.events import Data, Request
from hypercorn.protocol.ws_stream import WSStream
from hypercorn.trio.tcp_server import TCPServer

#: Scope key: ``trio.current_time()`` when the frames of Hypercorn's last read of this
#: WebSocket arrived, as estimated (see the module's docstring).
ARRIVED = "ringlab.arrived"
_NEXT = "ringlab.next_arrived"  # the estimate for the next read, if its bytes wait already

_original_send = TCPServer.protocol_send
_original_run = TCPServer.run
_original_handle = WSStream.handle
#: the connection's stream, in its Hypercorn task (which reads it and calls WSStream.handle)
_stream: contextvars.ContextVar[Any] = contextvars.ContextVar("ringlab_stream")


async def _protocol_send(self: Any, event: Any) -> None:
    try:
        await _original_send(self, event)
    except trio.BusyResourceError:  # the EOF of a close in progress (see the docstring)
        await self.protocol.handle(Closed())


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


def _eager(put: Any) -> Any:
    """Hypercorn's ``app_put`` (a memory channel's ``send``), without its turn of the
    scheduler when the channel has room."""
    channel = getattr(put, "__self__", None)
    if not isinstance(channel, trio.MemorySendChannel):
        return put

    async def eager_put(message: Any) -> None:
        try:
            channel.send_nowait(message)
        except trio.WouldBlock:  # the app is behind: wait for room, as Hypercorn does
            await put(message)

    return eager_put


async def _handle(self: Any, event: Any) -> None:
    # Data is the bytes of one read of the socket; the scope (set by the handshake's
    # request) is the dict the app was given
    scope = getattr(self, "scope", None)
    if not isinstance(event, Data) or scope is None:
        await _original_handle(self, event)
        if isinstance(event, Request) and self.app_put is not None:  # the app just started
            self.app_put = _eager(self.app_put)
        return
    now = trio.current_time()
    arrived = scope[ARRIVED] = scope.pop(_NEXT, now)
    await _original_handle(self, event)  # its frames handed over (waiting for room)
    stream = _stream.get(None)
    if stream is not None and bytes_waiting(stream):
        full = len(event.data) >= hypercorn.trio.tcp_server.MAX_RECV
        scope[_NEXT] = arrived if full else now


def apply() -> None:
    """Install the three changes (idempotent)."""
    TCPServer.protocol_send = _protocol_send  # type: ignore[method-assign]
    TCPServer.run = _run  # type: ignore[method-assign]
    WSStream.handle = _handle  # type: ignore[method-assign]
