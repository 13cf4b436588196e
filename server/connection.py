"""The WebSocket side of the server: each connection from accept to close.

A connection reads ``hello`` and binds to a session through the runtime; then its reader
decodes frames and queues requests, its writer sends what is queued for it, and its
heartbeat pings it when quiet and drops it when silent. Nothing here changes the chat
state itself: every change goes through :class:`server.runtime.Runtime`, so a connection
that breaks can never leave one half done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio

from . import protocol as p
from .config import ServerConfig
from .core import CoreError, Effect, Hub
from .limits import TokenBucket
from .metrics import Metrics
from .runtime import Runtime, RuntimeFailed
from .store import Store, token_hash
from .websocket import AsgiWebSocket, Disconnected

log = logging.getLogger("ringlab.server")

#: Seconds a closing connection waits for a write in progress before giving up on it.
WRITER_GRACE = 1.0
#: Seconds a shutting-down server waits for its WebSockets to close (1001) before Hypercorn
#: stops serving.
GOING_AWAY_WAIT = 3.0
#: At most this many events, or about this many characters, go in one batched frame. A
#: console holding many chats gets one write per turn of the scheduler, and past the
#: ceiling a turn takes up to a second: at 256 events a frame, consoles taking 1,000
#: messages/s fell behind until their queue filled and they were closed (1008).
BATCH_EVENTS = 1024
BATCH_CHARS = 262_144
#: Close codes that refuse a ``hello``: authentication, and every other refusal.
REFUSED = {"auth_failed": 4401, "not_authenticated": 4401}
#: What an unsequenced refusal of a decoded request says.
REFUSALS = {
    "server_busy": "the server is busy; send it again later",
    "internal": "the server failed to apply it; nothing of it was stored",
}


class Connection:
    """One WebSocket connection, bound to a hub session after ``hello``."""

    def __init__(self, role: p.Role, frames: TokenBucket, send_queue: int) -> None:
        self.role = role
        self.frames = frames  # request frames this connection may still send
        self.session_id: str | None = None
        self.send, self.outgoing = trio.open_memory_channel[str](send_queue)
        self.scope = trio.CancelScope()
        self.close_with: tuple[int, str] | None = None
        self.last_rx = self.last_tx = trio.current_time()
        self.writer_scope = trio.CancelScope()
        self.writer_started = False
        self.writer_done = trio.Event()
        self.batch = False  # the client takes several events in one frame (hello.batch)

    def push(self, text: str, *, traffic: bool = True) -> None:
        """Queue a frame for the writer. The heartbeat's own ping is not ``traffic``: it
        leaves a quiet connection quiet, so the next check pings it again."""
        if traffic:
            self.last_tx = trio.current_time()
        try:
            self.send.send_nowait(text)
        except trio.WouldBlock:
            self.close(1008, "slow consumer: send queue full")
        except trio.ClosedResourceError:
            pass  # closing: the session keeps its events for a resume

    def close(self, code: int, reason: str) -> None:
        if self.close_with is None:
            self.close_with = (code, reason)
        self.scope.cancel()


class Gateway:
    """Every open WebSocket of the server. ``refresh`` reloads account data from the store
    when a ``hello`` names an account, button or operator the hub does not know yet."""

    def __init__(
        self,
        config: ServerConfig,
        hub: Hub,
        store: Store,
        runtime: Runtime,
        metrics: Metrics,
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.config = config
        self.hub = hub
        self.store = store
        self.runtime = runtime
        self.metrics = metrics
        self.refresh = refresh
        self.per_address: dict[str, int] = {}
        self.live: set[Connection] = set()  # every open WebSocket, bound to a session or not
        self.going = False  # shutting down: new connections are turned away with 1001
        self.all_closed = trio.Event()
        self.nursery: trio.Nursery  # the server's: connection writers run there

    def now(self) -> float:
        return self.config.clock()

    async def going_away(self) -> None:
        """Close every WebSocket with 1001 (what is queued for it is sent first) and wait
        for them to end: run when shutdown starts, before Hypercorn stops serving, since
        Hypercorn never closes a WebSocket itself (it cancels it after its graceful timeout,
        and the client would see a dropped connection instead of a going-away close)."""
        self.going = True
        self.close_all()
        with trio.move_on_after(GOING_AWAY_WAIT):
            if self.live:
                await self.all_closed.wait()

    def close_all(self) -> None:
        for conn in list(self.live):
            conn.close(1001, "server shutting down")

    async def serve(self, ws: AsgiWebSocket, role: p.Role, address: str = "") -> None:
        """Run one WebSocket connection from accept to close."""
        await ws.accept()
        limits = self.config.limits
        conn = Connection(
            role,
            TokenBucket(limits.frame_rate, limits.frame_burst, self.now()),
            self.config.send_queue,
        )
        open_here = self.per_address.get(address, 0) + 1
        self.per_address[address] = open_here
        self.live.add(conn)
        self.metrics.connections.labels(role).inc()
        try:
            with conn.scope:
                if self.going:
                    conn.close(1001, "server shutting down")
                elif 0 < limits.connections_per_address < open_here:
                    self.metrics.frame_errors.labels("too_many_connections").inc()
                    conn.close(4429, "too many connections from this address")
                elif await self._handshake(ws, conn):
                    # The writer runs apart from this connection's tasks: Hypercorn shields
                    # each socket write, so a write blocked by a peer that stopped reading
                    # cannot be cancelled, and the connection must end without waiting for it.
                    self.nursery.start_soon(self._writer, ws, conn)
                    conn.writer_started = True
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._heartbeat, conn)
                        await self._reader(ws, conn)  # returns when the client is gone
                        nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self._closed(ws, conn, address)

    async def _closed(self, ws: AsgiWebSocket, conn: Connection, address: str) -> None:
        self.metrics.connections.labels(conn.role).dec()
        if self.per_address[address] == 1:
            del self.per_address[address]
        else:
            self.per_address[address] -= 1
        # queued behind this connection's own requests and its bind: the session waits
        # its grace period after everything it asked for is done
        self.runtime.submit(partial(self._unbind, conn))
        conn.send.close()  # the writer sends what is queued, then ends
        if not conn.writer_started:
            conn.writer_done.set()
        with trio.move_on_after(WRITER_GRACE):
            await conn.writer_done.wait()
        conn.writer_scope.cancel()
        # a writer still blocked: the peer reads nothing, a close frame would block too
        if conn.close_with is not None and conn.writer_done.is_set():
            await _quiet_close(ws, *conn.close_with)
        self.live.discard(conn)
        if self.going and not self.live:
            self.all_closed.set()

    def _unbind(self, conn: Connection, now: float) -> list[Effect]:
        sid = conn.session_id
        if sid is None or self.runtime.conns.get(sid) is not conn:
            return []  # never bound, or closed by the server, or superseded
        del self.runtime.conns[sid]
        return self.hub.disconnect(now, sid)

    async def _handshake(self, ws: AsgiWebSocket, conn: Connection) -> bool:
        """Read ``hello`` and bind the connection to a session; False if refused."""
        raw = None
        with trio.move_on_after(self.hub.timings.dead_peer_timeout):
            try:
                raw = await ws.receive()
            except Disconnected:
                return False
        if raw is None:
            conn.close(4408, "no hello in time")
            return False
        try:
            hello = p.decode_inbound(conn.role, raw)
            if not isinstance(hello, p.OperatorHello | p.VisitorHello):
                raise p.FrameError(
                    "not_authenticated",
                    "the first frame must be `hello`",
                    getattr(hello, "id", None),
                )
            conn.batch = hello.batch
            bind = await self._binder(hello, conn)
            refused: list[CoreError] = []
            await self.runtime.do(partial(bind, refused))
            if refused:
                raise p.FrameError(refused[0].code, refused[0].message)
            return True
        except p.FrameError as exc:
            await _quiet_send(ws, self.error_frame(exc))
            conn.close(REFUSED.get(exc.code, 4400), exc.message[:120])
            return False
        except RuntimeFailed:
            return False

    async def _binder(
        self, hello: p.OperatorHello | p.VisitorHello, conn: Connection
    ) -> Callable[[list[CoreError], float], list[Effect]]:
        """The change that binds ``conn`` to its session, once the credentials are read."""
        hub, st = self.hub, self.hub.state
        if isinstance(hello, p.OperatorHello):
            operator_id = await self.store.token_operator(hello.token, self.now())
            if operator_id is None:
                raise p.FrameError("auth_failed", "the token is not valid (log in again)")
            if operator_id not in st.operators:
                await self.refresh()  # added to the store since this process started
            credential = token_hash(hello.token)

            def connect(now: float) -> Any:
                return hub.operator_connect(now, operator_id, hello, credential)

        else:
            if hello.account not in st.accounts or hello.button not in st.buttons:
                await self.refresh()

            def connect(now: float) -> Any:
                return hub.visitor_connect(now, hello)

        def bind(refused: list[CoreError], now: float) -> list[Effect]:
            try:
                session, effects = connect(now)
            except CoreError as exc:
                refused.append(exc)
                return []
            old = self.runtime.conns.get(session.id)
            if old is not None:
                old.close(4001, "superseded by a newer connection")
            self.runtime.conns[session.id] = conn
            conn.session_id = session.id
            return effects  # type: ignore[no-any-return]

        return bind

    def error_frame(self, exc: p.FrameError, retry_after: float | None = None) -> str:
        """An unsequenced error: the frame was not taken (nothing of it applied)."""
        self.metrics.frame_errors.labels(exc.code).inc()
        return p.encode(
            p.Error(code=exc.code, message=exc.message, ref=exc.ref, retry_after=retry_after)
        )

    async def _reader(self, ws: AsgiWebSocket, conn: Connection) -> None:
        sid = conn.session_id
        assert sid is not None
        observer = self.config.observer
        while True:
            try:
                raw = await ws.receive()
            except Disconnected:
                return
            conn.last_rx = trio.current_time()
            try:
                msg = p.decode_inbound(conn.role, raw)
            except p.FrameError as exc:
                conn.push(self.error_frame(exc))
                continue
            if isinstance(msg, p.Ack):
                self.hub.ack(sid, msg.seq)
            elif isinstance(msg, p.Ping):
                conn.push(p.encode(p.Pong()))
            elif isinstance(msg, p.Pong):
                pass
            elif isinstance(msg, p.OperatorHello | p.VisitorHello):
                refusal = "`hello` was already sent on this connection"
                conn.push(self.error_frame(p.FrameError("not_authenticated", refusal)))
            elif not conn.frames.take(self.now()):
                wait = conn.frames.retry_after(self.now())
                rate = self.config.limits.frame_rate
                refusal = f"more than {rate:g} requests/s; send again in {wait * 1000:.0f} ms"
                ref = getattr(msg, "id", None)
                conn.push(self.error_frame(p.FrameError("rate_limited", refusal, ref), wait))
            else:
                if observer is not None:
                    session = self.hub.state.sessions.get(sid)
                    owner = session.owner if session is not None else ""
                    observer("frame_received", {"owner": owner, "message": msg})
                self._request(conn, sid, msg, ws.arrived)

    def _request(self, conn: Connection, sid: str, msg: Any, arrived: float | None) -> None:
        """Queue a decoded request: from here on it is applied whole, or answered
        (``server_busy``, ``internal``) and not applied at all."""
        ref = getattr(msg, "id", None)

        def refuse(code: str, retry_after: float | None) -> None:
            error = p.FrameError(code, REFUSALS[code], ref)
            conn.push(self.error_frame(error, retry_after))

        change = partial(self.hub.handle, session_id=sid, request=msg)
        if self.runtime.submit_request(change, refuse, arrived) is None:
            refuse("server_busy", self.runtime.max_wait)

    async def _writer(self, ws: AsgiWebSocket, conn: Connection) -> None:
        """Send what is queued for the client; never lets an error reach the server."""
        try:
            with conn.writer_scope:
                outgoing = conn.outgoing
                async for text in outgoing:
                    if conn.batch:
                        text = _batched(text, outgoing)
                    await ws.send(text)
        except Exception:  # the connection broke under the write: the reader sees it too
            log.debug("a connection's writer ended with an error", exc_info=True)
        finally:
            conn.writer_done.set()

    async def _heartbeat(self, conn: Connection) -> None:
        """Close a connection silent for ``dead_peer_timeout``; ping one that was quiet in
        either direction for ``heartbeat_interval``. Frames both ways already prove both
        peers alive, and a busy connection's pings were a quarter of all frames."""
        ping = p.encode(p.Ping())
        timings = self.hub.timings
        interval = timings.heartbeat_interval
        # Each connection keeps a phase of its own: a random one, and checks on deadlines
        # (not a sleep after each check). Connections opened together, or whose checks a
        # stall of the server delayed together, were otherwise pinged together from then
        # on, in bursts of hundreds that a client holding them all had to answer at once.
        check = trio.current_time() + interval * (1 + self.config.rng.random())
        while True:
            await trio.sleep_until(check)
            now = trio.current_time()
            while check <= now:  # a stall longer than an interval skips the missed checks
                check += interval
            if now - conn.last_rx > timings.dead_peer_timeout:
                conn.close(4408, "heartbeat timeout")
                return
            if now - conn.last_rx >= interval or now - conn.last_tx >= interval:
                conn.push(ping, traffic=False)


def _batched(first: str, outgoing: trio.MemoryReceiveChannel[str]) -> str:
    """``first`` and whatever else waits already, as one frame: a JSON array of events when
    there are several. Nothing waits for more to come: a batch is only what queued while
    the writer waited for its turn (and for a write the socket could not take at once), so
    batching adds no delay and under load one write carries many events (a send is one
    socket write, the server's largest cost)."""
    texts = [first]
    size = len(first)
    while len(texts) < BATCH_EVENTS and size < BATCH_CHARS:
        try:
            text = outgoing.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            break
        texts.append(text)
        size += len(text)
    return first if len(texts) == 1 else "[" + ",".join(texts) + "]"


async def _quiet_send(ws: AsgiWebSocket, text: str) -> None:
    try:
        await ws.send(text)
    except Exception:  # the peer may be gone already; nothing to tell it then
        log.debug("could not send to a closing connection", exc_info=True)


async def _quiet_close(ws: AsgiWebSocket, code: int, reason: str) -> None:
    try:
        await ws.close(code, reason)
    except Exception:
        log.debug("could not close a closing connection", exc_info=True)
