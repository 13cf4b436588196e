"""The two WebSocket endpoints, ``/ws/operator`` and ``/ws/visitor``, at the ASGI level.

Installed as the Quart app's ASGI middleware (``app.asgi_app``), in front of its routes:
Hypercorn serves the app as before, every HTTP route and the app's lifespan still go
through Quart, and only these two paths are taken here. The reason is the message path's
cost: Quart hands each received frame from its own task to the route's through a channel
(one more trip through trio's scheduler per frame, and under load each trip waits out a
whole round of the scheduler, where the runtime's shedding cannot see the backlog), and
checks the handshake again on every send (figures: bench/RESULTS.md).

:class:`AsgiWebSocket` gives :class:`server.connection.Gateway` what it used of Quart's
websocket object: ``accept``, ``receive``, ``send`` and ``close``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import trio

from . import protocol as p
from .hypercorn_patch import ARRIVED

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Coroutine[Any, Any, None]]

#: path -> the role of the clients it serves
ENDPOINTS: dict[str, p.Role] = {"/ws/operator": "operator", "/ws/visitor": "visitor"}


class Disconnected(Exception):
    """The client's connection ended (ASGI ``websocket.disconnect``)."""


class AsgiWebSocket:
    """One WebSocket of an ASGI server, as the gateway uses it."""

    __slots__ = ("_nowait", "_receive", "_send", "arrived", "headers")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._receive = receive
        #: ``trio.current_time()`` when the frame last received arrived, as estimated from
        #: the socket's reads (see :mod:`server.hypercorn_patch`); None when the ASGI
        #: server does not say
        self.arrived: float | None = None
        # Hypercorn's ``receive`` is a memory channel's: what waits there already is taken
        # without a turn of the scheduler each (see receive)
        channel = getattr(receive, "__self__", None)
        self._nowait = (
            channel.receive_nowait if isinstance(channel, trio.MemoryReceiveChannel) else None
        )
        self._send = send
        self.headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }

    async def accept(self) -> None:
        """Complete the handshake (the ASGI ``websocket.connect`` comes first)."""
        message = await self._receive()
        if message["type"] != "websocket.connect":
            raise Disconnected(message["type"])
        await self._send({"type": "websocket.accept"})

    async def refuse(self, status: int, body: str) -> None:
        """Answer the handshake with a plain HTTP response instead of an upgrade."""
        await self._send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await self._send({"type": "websocket.http.response.body", "body": body.encode()})

    async def receive(self) -> str | bytes:
        """The next frame's data; raises :class:`Disconnected` when the client is gone.

        A frame already waiting is returned at once, without a checkpoint: a busy client's
        frames are taken together, so they reach the runtime's queue (where waiting is
        measured and bounded) instead of each waiting a whole round of the scheduler. It
        checkpoints when it waits, at the latest after Hypercorn's queue (10 frames)."""
        await trio.lowlevel.checkpoint_if_cancelled()  # a closed connection takes no more
        message = None
        if self._nowait is not None:
            with contextlib.suppress(trio.WouldBlock):
                message = self._nowait()
        if message is None:
            message = await self._receive()
        if message["type"] == "websocket.receive":
            self.arrived = message.get(ARRIVED)
            text: str | None = message.get("text")
            return text if text is not None else bytes(message.get("bytes") or b"")
        raise Disconnected(message["type"])

    async def send(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


def websocket_endpoints(app: ASGIApp, chat: Any) -> ASGIApp:
    """``app`` with the chat's WebSocket endpoints in front of it (see the module's
    docstring); ``chat`` is the :class:`server.chat.ChatServer`."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        role = ENDPOINTS.get(scope["path"]) if scope["type"] == "websocket" else None
        if role is None:
            await app(scope, receive, send)
            return
        ws = AsgiWebSocket(scope, receive, send)
        host = ws.headers.get("host", "")
        if not chat.origin_allowed(ws.headers.get("origin"), host):
            # answered before the upgrade: the page's script sees the handshake fail
            await ws.refuse(403, "origin not allowed")
            return
        client = scope.get("client")
        with contextlib.suppress(Disconnected):  # gone before the handshake completed
            await chat.gateway.serve(ws, role, client[0] if client else "")

    return asgi
