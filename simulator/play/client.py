"""A protocol client over trio-websocket, for the demo and tests: one connection.

It does what ``docs/protocol.md`` asks of every client, through the same
:class:`~simulator.play.actors.session.ClientSession` as the virtual actors' wire: sends
``hello``, answers ``ping``, acknowledges every sequenced event at once (no batching),
drops replayed duplicates (``seq`` at or below the last one seen), and pairs replies
with requests. It does not reconnect: a resume is a new client with a resuming hello.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from server import protocol as p

from ..network.slim_httpx import httpx
from .actors.session import ClientSession, RequestFailed, outcome

__all__ = ["Client", "ProtocolError", "RequestFailed", "login", "open_client"]

#: The name this module used for :class:`RequestFailed`; tests/server/test_e2e.py imports it.
ProtocolError = RequestFailed


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
        raise RequestFailed(p.Error(code="auth_failed", message=response.text))
    result: dict[str, Any] = response.json()
    return result


class Client:
    """One connected session. Use :func:`open_client`."""

    def __init__(self, ws: WebSocketConnection, role: p.Role) -> None:
        self.ws = ws
        self.role = role
        # every event acknowledged at once, as this client always has: no ack timer, so
        # no task of its own besides the reader
        self.session: ClientSession[trio.MemorySendChannel[Any]] = ClientSession(ack_every=1)
        self._events_in, self.events = trio.open_memory_channel[Any](10_000)

    @property
    def welcome(self) -> p.Welcome | None:
        """The server's ``welcome`` (``None`` until it came)."""
        return self.session.welcome_event

    @property
    def last_seq(self) -> int:
        """The highest ``seq`` processed; set it to drop a resume's replay up to there."""
        return self.session.last_seq

    @last_seq.setter
    def last_seq(self, seq: int) -> None:
        self.session.last_seq = seq

    async def _send(self, message: msgspec.Struct) -> None:
        await self.ws.send_message(p.encode(message))

    def next_id(self) -> str:
        """A fresh request id for this client."""
        return self.session.next_id()

    async def request(self, message: Any) -> p.Ok:
        """Send a request (its ``id`` set by the caller, e.g. from :meth:`next_id`) and
        wait for its reply; raises :class:`RequestFailed` for an ``error``."""
        send, receive = trio.open_memory_channel[Any](1)
        await self._send(self.session.request(message, send))
        return outcome(await receive.receive())

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

    async def _take(self, event: Any) -> None:
        if isinstance(event, p.Welcome):
            # one connection per client: nothing is waiting yet, nothing to resend
            for waiter, error in self.session.welcome(event).lost:
                waiter.send_nowait(error)
            self._events_in.send_nowait(event)
            return
        step = self.session.receive(event, trio.current_time())
        for message in step.send:
            await self._send(message)
        if step.reply is not None:
            waiter, reply = step.reply
            waiter.send_nowait(reply)
        if step.event is not None:
            self._events_in.send_nowait(step.event)

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.ws.get_message()
                for event in p.decode_events(self.role, frame):
                    await self._take(event)
        except ConnectionClosed:
            self._events_in.close()


@asynccontextmanager
async def open_client(ws_url: str, role: p.Role, hello: Any) -> AsyncIterator[Client]:
    """Connect to ``/ws/<role>``, send ``hello`` and wait for ``welcome``."""
    async with open_websocket_url(f"{ws_url}/ws/{role}") as ws, trio.open_nursery() as nursery:
        client = Client(ws, role)
        nursery.start_soon(client._run)
        await client._send(client.session.connect(hello))
        first = await client.next()
        if isinstance(first, p.Error):
            raise RequestFailed(first)
        yield client
        nursery.cancel_scope.cancel()
