"""A protocol client over trio-websocket: the building block of virtual actors.

It does what ``docs/protocol.md`` asks of every client: sends ``hello``,
answers ``ping``, acknowledges sequenced events, drops replayed duplicates
(``seq`` at or below the last one seen), and pairs replies with requests.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from server import protocol as p

from .slim_httpx import httpx


class ProtocolError(Exception):
    """The server answered a request with an ``error`` frame."""

    def __init__(self, error: p.Error) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


async def login(
    base_url: str,
    login_name: str,
    password: str,
    *,
    client: Callable[[str], httpx.AsyncClient] = lambda url: httpx.AsyncClient(base_url=url),
) -> dict[str, Any]:
    """HTTP login; returns ``{"token": ..., "operator": {...}}``. ``client`` makes the HTTP
    client for ``base_url`` (the virtual network passes its own)."""
    async with client(base_url) as http:
        response = await http.post("/api/login", json={"login": login_name, "password": password})
    if response.status_code != 200:
        raise ProtocolError(p.Error(code="auth_failed", message=response.text))
    result: dict[str, Any] = response.json()
    return result


class Client:
    """One connected session. Use :func:`open_client`."""

    def __init__(self, ws: WebSocketConnection, role: p.Role) -> None:
        self.ws = ws
        self.role = role
        self.welcome: p.Welcome | None = None
        self.last_seq = 0
        self._ids = itertools.count(1)
        self._waiters: dict[str, trio.MemorySendChannel[Any]] = {}
        self._events_in, self.events = trio.open_memory_channel[Any](10_000)

    async def _send(self, message: msgspec.Struct) -> None:
        await self.ws.send_message(p.encode(message))

    def next_id(self) -> str:
        return f"r{next(self._ids)}"

    async def request(self, message: Any) -> p.Ok:
        """Send a request (its ``id`` set if empty) and wait for its reply."""
        send, receive = trio.open_memory_channel[Any](1)
        self._waiters[message.id] = send
        await self._send(message)
        reply = await receive.receive()
        if isinstance(reply, p.Error):
            raise ProtocolError(reply)
        assert isinstance(reply, p.Ok)
        return reply

    async def send(self, message: Any) -> None:
        """Send a message that gets no reply (``typing``, ``bye``...)."""
        await self._send(message)

    async def next(self, *kinds: type, timeout: float = 10.0) -> Any:
        """The next event (of one of ``kinds``), skipping others."""
        with trio.fail_after(timeout):
            while True:
                event = await self.events.receive()
                if not kinds or isinstance(event, kinds):
                    return event

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.ws.get_message()
                event = p.decode_event(self.role, frame)
                if isinstance(event, p.Ping):
                    await self._send(p.Pong())
                    continue
                if isinstance(event, p.Welcome):
                    self.welcome = event
                    self._events_in.send_nowait(event)
                    continue
                seq = getattr(event, "seq", 0)
                if seq:
                    if seq <= self.last_seq:
                        continue  # replayed duplicate
                    self.last_seq = seq
                    await self._send(p.Ack(seq=seq))
                ref = getattr(event, "ref", None)
                if ref is not None and ref in self._waiters:
                    self._waiters.pop(ref).send_nowait(event)
                self._events_in.send_nowait(event)
        except ConnectionClosed:
            self._events_in.close()


@asynccontextmanager
async def open_client(ws_url: str, role: p.Role, hello: Any) -> AsyncIterator[Client]:
    """Connect to ``/ws/<role>``, send ``hello`` and wait for ``welcome``."""
    async with open_websocket_url(f"{ws_url}/ws/{role}") as ws, trio.open_nursery() as nursery:
        client = Client(ws, role)
        nursery.start_soon(client._run)
        await client._send(hello)
        first = await client.next()
        if isinstance(first, p.Error):
            raise ProtocolError(first)
        yield client
        nursery.cancel_scope.cancel()
