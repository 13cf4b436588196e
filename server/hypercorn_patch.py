"""A guard for a race in Hypercorn's trio worker (0.18) that stopped the whole server.

``TCPServer._close`` sends EOF without the connection's send lock, while every other send
holds it. When the server closes a WebSocket just as the client closes it too, the task
answering the client's close frame (under the lock) finds the socket busy with that EOF,
and the ``trio.BusyResourceError`` left Hypercorn's connection task and cancelled every
connection of the server. Seen once in the browser suite (a console closed as the page
went away). The connection is closing either way: treat the error as the close it is, as
Hypercorn already does for a socket closed or broken under a send.
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.events import Closed
from hypercorn.trio.tcp_server import TCPServer

_original = TCPServer.protocol_send


async def _protocol_send(self: Any, event: Any) -> None:
    try:
        await _original(self, event)
    except trio.BusyResourceError:  # the EOF of a close in progress (see the docstring)
        await self.protocol.handle(Closed())


def apply() -> None:
    """Install the guard (idempotent)."""
    TCPServer.protocol_send = _protocol_send  # type: ignore[method-assign]
