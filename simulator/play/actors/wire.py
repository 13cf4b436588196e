"""One actor's session with the server, over its own emulated link.

It does what the real pages do (``server/static/js/client.js``): ``hello``,
``pong``, acknowledgements, dropping replays, pairing replies with requests (the
protocol itself is :class:`~simulator.play.actors.session.ClientSession`'s; this is its I/O),
and reconnecting with backoff and resuming the session when the link breaks.
Its connections cross the actor's :class:`~simulator.network.link.path.Path`: while the
path is down a connect gets no answer, as SYNs into an outage get none. Faults
reach it through :func:`cut` and :func:`switch` (the path, and the live
connection's link at once).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlsplit

import msgspec
import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection
from wsproto import ConnectionType, WSConnection

from server import protocol as p

from ...network.link import Link, LinkSpec, open_link
from ...network.link.path import Path, syn_times
from .session import ClientSession, outcome

BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between reconnect attempts, as the pages do


class Wire:
    """A resumable protocol session; :meth:`run` keeps it connected until cancelled."""

    def __init__(
        self,
        ws_url: str,
        role: p.Role,
        hello: Callable[[], Any],
        path: Path,
        rng: random.Random,
        on_event: Callable[[Any], None],
        on_state: Callable[[str, int], None],
        *,
        precise: bool,
        bare_when_clean: bool = False,
        on_frame: Callable[[str, Any], None] = lambda direction, message: None,
        connect: Callable[[str, int], Awaitable[trio.abc.Stream]] = trio.open_tcp_stream,
        on_stall: Callable[[str, float, float, int], None] | None = None,
    ) -> None:
        parts = urlsplit(ws_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.resource = f"/ws/{role}"
        self.role = role
        self.hello = hello
        self.path = path
        self.on_stall = on_stall  # (direction, sent, seconds held, retransmissions)
        self.rng = rng
        self.on_event = on_event
        self.on_state = on_state  # (state, close code of a lost connection or 0)
        self.close_code = 0  # the last connection's close code (0: none was received)
        self.on_frame = on_frame  # every frame, "in" or "out", as it crosses the socket
        self.connect = connect  # the machine's TCP stack, or the virtual network
        self.precise = precise
        # a link with nothing to emulate, that no fault will change, is left out: the
        # socket as it is, without the link's two tasks and buffers per connection
        self.bare_when_clean = bare_when_clean
        self.link: Link | None = None
        self.session: ClientSession[trio.MemorySendChannel[Any]] = ClientSession()
        self._nursery: trio.Nursery  # the live connection's, for the ack timer
        self._ws: Any = None
        self.closed_for_good = trio.Event()

    # ------------------------------------------------------------ requests

    async def request(self, message: Any) -> p.Ok:
        """Send a request (its ``id`` is set here); wait for its reply, across reconnects.
        Raises :class:`~simulator.play.actors.session.RequestFailed` for an ``error``, or when
        the session it was sent on is gone."""
        message = msgspec.structs.replace(message, id=self.session.next_id())
        send, receive = trio.open_memory_channel[Any](1)
        await self._send(self.session.request(message, send))
        return outcome(await receive.receive())

    async def send(self, message: Any) -> None:
        """A message without a reply (``typing``, ``bye``); dropped while disconnected."""
        await self._send(message)

    async def _send(self, message: Any) -> None:
        ws = self._ws
        if ws is None:
            return  # resent on resume (requests) or dropped (the rest)
        with contextlib.suppress(
            ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError
        ):
            await self._write(ws, message)  # if it fails, the reader reconnects

    async def flushed(self) -> None:
        """Wait until what was sent has crossed the link (a page's ``bye`` before it goes)."""
        if self.link is not None:
            await self.link.flushed()

    def relink(self) -> None:
        """The path's link changed: the live connection's toxics are replaced at once."""
        link = self.link
        if link is not None:
            for direction, pipe in link.pipes.items():
                for name in list(pipe.toxics):
                    link.remove(direction, name)
            link.add_all(self.path.toxics())

    # ------------------------------------------------------------ connection loop

    async def run(self) -> None:
        attempt = 0
        while not self.closed_for_good.is_set():
            try:
                if await self._connect_once():
                    attempt = 0
            except (OSError, HandshakeError, ConnectionClosed, trio.BrokenResourceError):
                pass
            if self.closed_for_good.is_set():
                return
            self.on_state("lost", self.close_code)
            await trio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1

    async def _connect_once(self) -> bool:
        """One connection, from TCP connect to its end; True if it got a ``welcome``."""
        welcomed = False
        self.close_code = 0
        # The pages' watchdog starts when they open the WebSocket: a connect or handshake
        # with no answer for dead_peer_timeout is dropped and tried again after the
        # backoff, as a silent connection is (so a reconnect into a long outage tries again
        # every ~30 s, not once per 127 s SYN timeout).
        began = trio.current_time()
        watchdog = began + p.DEAD_PEER_TIMEOUT
        *sends, gave_up = syn_times(began)
        for t in sends:
            if t >= watchdog:
                await trio.sleep_until(watchdog)
                return False
            await trio.sleep_until(t)
            if self.path.up(t):
                break
        else:  # no SYN got an answer
            await trio.sleep_until(min(gave_up, watchdog))
            if gave_up >= watchdog:
                return False
            raise self.path.timed_out(began)
        stream = await self.connect(self.host, self.port)
        # drawn either way, so the actor's own draws are the same with or without a link;
        # a generator (2.5 KiB) is made only for a link
        link_seed = self.rng.getrandbits(64)
        toxics = self.path.toxics()
        bare = self.bare_when_clean and not toxics
        async with (
            _bare(stream)
            if bare
            else open_link(
                stream, random.Random(link_seed), toxics, precise=self.precise, linger=1.0
            ) as link,
            trio.open_nursery() as nursery,
        ):
            self.link = link
            if link is not None and self.on_stall is not None:
                for pipe in link.pipes.values():
                    pipe.env.on_stall = self.on_stall
            try:
                # the watchdog goes on through the handshake. One scope whose deadline each
                # frame pushes on (a scope per read was a tenth of the cancel scopes of a
                # run); it also ends a write stuck that long.
                dead_after = p.DEAD_PEER_TIMEOUT
                with trio.CancelScope(deadline=watchdog) as quiet:
                    # typed for sockets, but any trio Stream works: the link is one
                    ws = await _open_websocket(
                        nursery,
                        cast(Any, stream if link is None else link),
                        self.host,
                        self.resource,
                    )
                    self._nursery = nursery
                    await self._write(ws, self.session.connect(self.hello()))
                    while True:
                        frame = await ws.get_message()
                        quiet.deadline = trio.current_time() + dead_after
                        for event in p.decode_events(self.role, frame):
                            self.on_frame("in", event)
                            if isinstance(event, p.Welcome):
                                welcomed = True
                                dead_after = event.dead_peer_timeout
                                quiet.deadline = trio.current_time() + dead_after
                                self._ws = ws
                                for message in self._welcome(event):  # deduped by id
                                    await self._write(ws, message)
                                continue
                            await self._receive(ws, event)
                # a dead peer (nothing heard for too long) answers no close frame, and
                # trio-websocket's aclose would wait for one forever: drop the connection
                await trio.aclose_forcefully(stream if link is None else link)
                return welcomed
            except ConnectionClosed as exc:
                code = exc.reason.code if exc.reason else None
                self.close_code = int(code or 0)
                if code in (1000, 4001, 4401, 4400):  # done, superseded, refused
                    self.closed_for_good.set()
                return welcomed
            finally:
                self._ws = None
                self.link = None
                nursery.cancel_scope.cancel()

    def _welcome(self, event: p.Welcome) -> list[Any]:
        """Take the session; returns the requests to send again."""
        welcomed = self.session.welcome(event)
        for waiter, error in welcomed.lost:
            waiter.send_nowait(error)
        self.on_event(event)  # first: an operator learns its id from the welcome
        self.on_state(welcomed.state, 0)
        return welcomed.resend

    async def _receive(self, ws: Any, event: Any) -> None:
        step = self.session.receive(event, trio.current_time())
        if step.resynced:
            self.on_state("resynced", 0)
        for message in step.send:
            await self._write(ws, message)
        if step.ack_at is not None:
            self._nursery.start_soon(self._ack_later, ws, step.ack_at)
        if step.reply is not None:
            waiter, reply = step.reply
            waiter.send_nowait(reply)
        if step.event is not None:
            self.on_event(step.event)

    async def _ack_later(self, ws: Any, deadline: float) -> None:
        await trio.sleep_until(deadline)
        for message in self.session.on_timer(trio.current_time()):
            with contextlib.suppress(ConnectionClosed, trio.BrokenResourceError):
                await self._write(ws, message)

    async def _write(self, ws: Any, message: Any) -> None:
        self.on_frame("out", message)
        await ws.send_message(p.encode(message))

    def close(self) -> None:
        """Stop reconnecting (the actor is leaving)."""
        self.closed_for_good.set()


def cut(path: Path, wire: Wire | None, seconds: float) -> None:
    """A fault's outage: ``path`` is down from now, the live connection included."""
    path.cut(trio.current_time(), seconds)
    if wire is not None and wire.link is not None:
        wire.link.schedule_changed()


def switch(path: Path, wire: Wire | None, spec: LinkSpec) -> None:
    """A fault's degrade or restore: ``path`` uses ``spec`` from now, the live connection
    included."""
    path.switch(spec, trio.current_time())
    if wire is not None:
        wire.relink()


async def _open_websocket(
    nursery: trio.Nursery, stream: trio.abc.Stream, host: str, resource: str
) -> WebSocketConnection:
    """trio-websocket's ``wrap_client_stream``, except that a connection the server
    closes before the handshake ends raises ``ConnectionClosed`` at once, as a browser
    fails the WebSocket. (trio-websocket 0.12 then sets only its close event and waits
    for the open one forever: an upgrade request stalled by loss past Hypercorn's 5 s
    wait for a request hung the console for the rest of the run.)"""
    ws = WebSocketConnection(stream, WSConnection(ConnectionType.CLIENT), host=host, path=resource)
    nursery.start_soon(ws._reader_task)
    async with trio.open_nursery() as race:
        for event in (ws._open_handshake, ws._close_handshake):
            race.start_soon(_set_then_cancel, event, race.cancel_scope)
    if ws.closed is not None:
        raise ConnectionClosed(ws.closed)
    return ws


async def _set_then_cancel(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


@contextlib.asynccontextmanager
async def _bare(stream: trio.abc.Stream) -> AsyncIterator[None]:
    """No link (``None``) over ``stream``, closed at the end as a link closes what it wraps."""
    try:
        yield None
    finally:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)
