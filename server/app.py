"""The Quart-trio app: a thin adapter between WebSockets/HTTP and the core hub.

It decodes frames, feeds the hub under one lock (so the hub sees one event at
a time and effects are carried out in the order produced), and carries out
the effects: store first, then deliveries, timers and logs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
import trio
from quart import Response, request, websocket
from quart_trio import QuartTrio

from . import admin, pages
from . import protocol as p
from .core import (
    CancelTimer,
    CloseSession,
    CoreError,
    Deliver,
    Effect,
    Hub,
    IdSource,
    Lifecycle,
    Message,
    Operator,
    Persist,
    SecretIds,
    Settings,
    StartTimer,
    hash_password,
    verify_password,
)
from .core.passwords import COST as PASSWORD_COST
from .demo import bootstrap_demo
from .limits import KeyedBuckets, Limits, TokenBucket
from .metrics import Metrics
from .store import Store
from .timers import Key, Timers

log = logging.getLogger("ringlab.server")

#: Frames queued for one client before it counts as a slow consumer (closed 1008).
SEND_QUEUE = 4096
#: Seconds a closing connection waits for a write in progress before giving up on it.
WRITER_GRACE = 1.0
#: Seconds a shutting-down server waits for its WebSockets to close (1001) before Hypercorn
#: stops serving.
GOING_AWAY_WAIT = 3.0
#: Seconds an operator login token stays valid.
TOKEN_TTL = 12 * 3600.0


@dataclass
class ServerConfig:
    """How one reference server instance runs. Time, ids and randomness are injected."""

    db: str = ":memory:"
    demo: bool = True  # create the demo account on an empty database
    threaded: bool = True  # blocking work in a thread (False under the virtual clock)
    clock: Callable[[], float] = time.time
    ids: IdSource = field(default_factory=SecretIds)
    salt: Callable[[], bytes] = lambda: secrets.token_bytes(16)
    #: Draws that need no secrecy (each connection's heartbeat phase); seeded by simulations.
    rng: random.Random = field(default_factory=random.Random)
    #: scrypt's N for new password hashes; lowered only by simulations (throwaway passwords)
    password_cost: int = PASSWORD_COST
    heartbeat_interval: float = p.HEARTBEAT_INTERVAL
    dead_peer_timeout: float = p.DEAD_PEER_TIMEOUT
    session_grace: float = p.SESSION_GRACE
    #: Frames queued for one client before it counts as a slow consumer (closed 1008).
    send_queue: int = SEND_QUEUE
    #: Page origins allowed to open WebSockets besides the server's own ("*": any).
    #: Clients that send no Origin (not browsers) are always allowed.
    allowed_origins: tuple[str, ...] = ()
    #: Abuse limits: frame rate, login attempts, connections per address.
    limits: Limits = field(default_factory=Limits)
    #: Settings of the demo account when it is created.
    demo_settings: Settings = field(default_factory=Settings)
    #: Called with every lifecycle event (``ring_stopped``, ``call_accepted``...) as it is
    #: logged, and with ``frame_received`` ({owner, message}) as each request is read:
    #: the simulator's window on the server's side, on the same clock.
    observer: Callable[[str, dict[str, Any]], None] | None = None


class LoginRequest(msgspec.Struct):
    login: str
    password: str


class SettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/settings``: the settings to change; the others stay."""

    ring_timeout: Annotated[float, msgspec.Meta(gt=0, le=86400)] | None = None
    max_chats: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    binding: Literal["legacy", "strict"] | None = None


class HttpError(Exception):
    """An HTTP API error, answered as ``{"error": code, "message": ...}``."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


class Connection:
    """One WebSocket connection, bound to a hub session after ``hello``."""

    def __init__(self, role: p.Role, frames: TokenBucket, send_queue: int = SEND_QUEUE) -> None:
        self.role = role
        self.frames = frames  # request frames this connection may still send
        self.session_id: str | None = None
        self.token: str | None = None  # operator connections: the login token used
        self.send, self.outgoing = trio.open_memory_channel[str](send_queue)
        self.scope = trio.CancelScope()
        self.close_with: tuple[int, str] | None = None
        self.last_rx = self.last_tx = trio.current_time()
        self.writer_scope = trio.CancelScope()
        self.writer_started = False
        self.writer_done = trio.Event()

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
            pass  # closing: the session was released, nothing more is owed to this socket

    def close(self, code: int, reason: str) -> None:
        if self.close_with is None:
            self.close_with = (code, reason)
        self.scope.cancel()


class ChatServer:
    """The running server: hub, store, timers, connections and metrics."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.hub = Hub(config.ids, grace=config.session_grace)
        self.metrics = Metrics()
        self.timers = Timers()
        self.conns: dict[str, Connection] = {}
        self.lock = trio.Lock()
        self.store: Store
        self.demo_logins: list[tuple[str, str]] = []
        limits = config.limits
        self.login_attempts = KeyedBuckets(limits.login_rate, limits.login_burst)
        self.login_failures = KeyedBuckets(limits.login_failure_rate, limits.login_failure_burst)
        self.per_address: dict[str, int] = {}
        self.live: set[Connection] = set()  # every open WebSocket, bound to a session or not
        self.going = False  # shutting down: new connections are turned away with 1001
        self.all_closed = trio.Event()

    def now(self) -> float:
        return self.config.clock()

    async def blocking(self, fn: Callable[[], Any]) -> Any:
        return await trio.to_thread.run_sync(fn) if self.config.threaded else fn()

    # ------------------------------------------------------------ lifecycle

    async def start(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery  # lives as long as the server: connection writers run here
        self.store = await Store.open(self.config.db, threaded=self.config.threaded)
        self.stand_in_hash = hash_password("", bytes(16), self.config.password_cost)
        if self.config.demo and await self.store.is_empty():
            self.demo_logins = await bootstrap_demo(
                self.store,
                self.config.salt,
                self.blocking,
                self.config.demo_settings,
                self.config.password_cost,
            )
        loaded = await self.store.load(self.now())
        self.hub.load(loaded.accounts, loaded.operators, loaded.buttons)
        await self.execute(self.hub.restore(self.now(), loaded.open_rooms, loaded.members))
        nursery.start_soon(self.timers.serve, self._fire)

    async def going_away(self) -> None:
        """Close every WebSocket with 1001 (what is queued for it is sent first) and wait
        for them to end: run when shutdown starts, before Hypercorn stops serving, since
        Hypercorn never closes a WebSocket itself (it cancels it after its graceful timeout,
        and the client would see a dropped connection instead of a going-away close)."""
        self.going = True
        self._close_all()
        with trio.move_on_after(GOING_AWAY_WAIT):
            if self.live:
                await self.all_closed.wait()

    async def stop(self) -> None:
        self._close_all()  # any still open (going_away gave up waiting, or never ran)
        await self.store.close()

    def _close_all(self) -> None:
        for conn in list(self.live):
            conn.close(1001, "server shutting down")

    async def _fire(self, key: Key) -> None:
        async with self.lock:
            await self.execute(self.hub.timer(self.now(), key))

    # ------------------------------------------------------------ effects

    async def execute(self, effects: list[Effect]) -> None:
        """Carry out effects: store first, so nothing is shown before it is kept."""
        records = [fx.record for fx in effects if isinstance(fx, Persist)]
        if records:
            await self.store.apply(records)
            self.metrics.messages.inc(sum(isinstance(r, Message) for r in records))
        for fx in effects:
            if isinstance(fx, Deliver):
                conn = self.conns.get(fx.session_id)
                if conn is not None:
                    conn.push(p.encode(fx.message))
            elif isinstance(fx, CloseSession):
                conn = self.conns.pop(fx.session_id, None)
                if conn is not None:
                    conn.close(fx.code, fx.reason)
            elif isinstance(fx, StartTimer):
                delay = max(0.0, fx.at - self.now())
                self.timers.start(fx.key, trio.current_time() + delay)
            elif isinstance(fx, CancelTimer):
                self.timers.cancel(fx.key)
            elif isinstance(fx, Lifecycle):
                self.metrics.observe(fx.event, fx.fields)
                if self.config.observer is not None:
                    self.config.observer(fx.event, fx.fields)
                log.info("%s", json.dumps({"event": fx.event, **fx.fields}, default=str))

    # ------------------------------------------------------------ websockets

    async def serve_connection(self, ws: Any, role: p.Role, address: str = "") -> None:
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
                        await self._reader(ws, conn)
        finally:
            with trio.CancelScope(shield=True):
                self.metrics.connections.labels(role).dec()
                if self.per_address[address] == 1:
                    del self.per_address[address]
                else:
                    self.per_address[address] -= 1
                sid = conn.session_id
                if sid is not None and self.conns.get(sid) is conn:
                    del self.conns[sid]
                    async with self.lock:
                        await self.execute(self.hub.disconnect(self.now(), sid))
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

    async def _handshake(self, ws: Any, conn: Connection) -> bool:
        """Read ``hello`` and bind the connection to a session; False if refused."""
        raw = None
        with trio.move_on_after(self.config.dead_peer_timeout):
            raw = await ws.receive()
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
            operator_id = None
            if isinstance(hello, p.OperatorHello):
                operator_id = await self.store.token_operator(hello.token, self.now())
                if operator_id is None:
                    raise p.FrameError("auth_failed", "the token is not valid (log in again)")
            async with self.lock:
                try:
                    if isinstance(hello, p.OperatorHello) and operator_id is not None:
                        session, effects = self.hub.operator_connect(self.now(), operator_id, hello)
                    else:
                        assert isinstance(hello, p.VisitorHello)
                        session, effects = self.hub.visitor_connect(self.now(), hello)
                except CoreError as exc:
                    raise p.FrameError(exc.code, exc.message) from None
                old = self.conns.get(session.id)
                if old is not None:
                    old.close(4001, "superseded by a newer connection")
                self.conns[session.id] = conn
                conn.session_id = session.id
                conn.token = getattr(hello, "token", None)
                await self.execute(effects)
            return True
        except p.FrameError as exc:
            await _quiet_send(ws, self._error_frame(exc))
            conn.close(
                4401 if exc.code in ("auth_failed", "not_authenticated") else 4400,
                exc.message[:120],
            )
            return False

    def _error_frame(self, exc: p.FrameError) -> str:
        self.metrics.frame_errors.labels(exc.code).inc()
        return p.encode(p.Error(code=exc.code, message=exc.message, ref=exc.ref))

    async def _reader(self, ws: Any, conn: Connection) -> None:
        sid = conn.session_id
        assert sid is not None
        while True:
            raw = await ws.receive()
            conn.last_rx = trio.current_time()
            try:
                msg = p.decode_inbound(conn.role, raw)
            except p.FrameError as exc:
                conn.push(self._error_frame(exc))
                continue
            if isinstance(msg, p.Ack):
                self.hub.ack(sid, msg.seq)
            elif isinstance(msg, p.Ping):
                conn.push(p.encode(p.Pong()))
            elif isinstance(msg, p.Pong):
                pass
            elif isinstance(msg, p.OperatorHello | p.VisitorHello):
                conn.push(
                    self._error_frame(
                        p.FrameError(
                            "not_authenticated", "`hello` was already sent on this connection"
                        )
                    )
                )
            elif not conn.frames.take(self.now()):
                wait = conn.frames.retry_after(self.now())
                conn.push(
                    self._error_frame(
                        p.FrameError(
                            "rate_limited",
                            f"more than {self.config.limits.frame_rate:g} requests/s; "
                            f"send again in {wait:.1f} s",
                            getattr(msg, "id", None),
                        )
                    )
                )
            else:
                if self.config.observer is not None:
                    session = self.hub.state.sessions.get(sid)
                    owner = session.owner if session is not None else ""
                    self.config.observer("frame_received", {"owner": owner, "message": msg})
                async with self.lock:
                    await self.execute(self.hub.handle(self.now(), sid, msg))

    async def _writer(self, ws: Any, conn: Connection) -> None:
        """Send what is queued for the client; never lets an error reach the server."""
        try:
            with conn.writer_scope:
                async for text in conn.outgoing:
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
        interval = self.config.heartbeat_interval
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
            if now - conn.last_rx > self.config.dead_peer_timeout:
                conn.close(4408, "heartbeat timeout")
                return
            if now - conn.last_rx >= interval or now - conn.last_tx >= interval:
                conn.push(ping, traffic=False)

    def origin_allowed(self, origin: str | None, host: str, scheme: str) -> bool:
        """Whether a WebSocket handshake's Origin may connect (no CSWSH).

        Browsers always send Origin; a page may connect from the server's own
        origin or from a configured one. Non-browser clients send none.
        """
        if origin is None:
            return True
        allowed = self.config.allowed_origins
        own = f"{'https' if scheme in ('https', 'wss') else 'http'}://{host}"
        return "*" in allowed or origin == own or origin in allowed

    # ------------------------------------------------------------ HTTP

    async def authorize(self, authorization: str, *, admin: bool = False) -> Operator:
        """The operator a ``Bearer`` token belongs to; raises :class:`HttpError`."""
        token = authorization.removeprefix("Bearer ").strip()
        op_id = await self.store.token_operator(token, self.now()) if token else None
        op = self.hub.operator(op_id) if op_id else None
        if op is None:
            raise HttpError(401, "auth_failed", "log in first (Authorization: Bearer <token>)")
        if admin and not op.is_admin:
            raise HttpError(403, "forbidden", "this needs an administrator")
        return op

    async def logout(self, token: str) -> None:
        """Revoke a token and end, at once, the sessions opened with it."""
        await self.store.revoke_token(token)
        async with self.lock:
            for sid, conn in list(self.conns.items()):
                if conn.token == token:
                    del self.conns[sid]
                    conn.close(4401, "logged out")
                    await self.execute(self.hub.end_session(self.now(), sid))

    async def end_sessions_of(self, operator_id: str, reason: str) -> None:
        """Close an operator's connections and end its sessions now (password reset)."""
        async with self.lock:
            for sid in self.hub.sessions_of(operator_id):
                conn = self.conns.pop(sid, None)
                if conn is not None:
                    conn.close(4401, reason)
                await self.execute(self.hub.end_session(self.now(), sid))

    async def update_settings(self, account_id: str, patch: SettingsPatch) -> Settings:
        current = self.hub.settings(account_id)
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}
        settings = Settings(**{**dataclasses.asdict(current), **changes})
        async with self.lock:
            await self.execute(self.hub.update_settings(self.now(), account_id, settings))
        return settings

    async def login(self, body: LoginRequest, address: str = "") -> dict[str, Any] | None:
        """A new token for a right login and password, None for a wrong one; raises
        :class:`HttpError` 429 when the address or the login name is over its limit."""
        now = self.now()
        if not self.login_attempts.take(address, now):
            raise self._login_limited(self.login_attempts.retry_after(address, now))
        if not self.login_failures.peek(body.login, now):
            raise self._login_limited(self.login_failures.retry_after(body.login, now))
        op = await self.store.operator_by_login(body.login)
        # an unknown login is checked against a stand-in hash: the same time as a wrong
        # password, so timing does not reveal which logins exist
        stored = op.password_hash if op is not None else self.stand_in_hash
        if not await self.blocking(lambda: verify_password(body.password, stored)) or op is None:
            self.login_failures.take(body.login, now)
            log.info("%s", json.dumps({"event": "login_failed", "address": address}))
            return None
        token = self.config.ids("tok")
        await self.store.add_token(token, op.id, self.now(), TOKEN_TTL)
        log.info("%s", json.dumps({"event": "operator_login", "operator": op.id}))
        return {
            "token": token,
            "operator": {
                "id": op.id,
                "login": op.login,
                "name": op.name,
                "account": op.account_id,
                "is_admin": op.is_admin,
            },
        }

    def _login_limited(self, wait: float) -> HttpError:
        self.metrics.frame_errors.labels("rate_limited").inc()
        return HttpError(
            429, "rate_limited", f"too many login attempts; try again in {wait:.0f} s", wait
        )


async def _quiet_send(ws: Any, text: str) -> None:
    try:
        await ws.send(text)
    except Exception:  # the peer may be gone already; nothing to tell it then
        log.debug("could not send to a closing connection", exc_info=True)


async def _quiet_close(ws: Any, code: int, reason: str) -> None:
    try:
        await ws.close(code, reason)
    except Exception:
        log.debug("could not close a closing connection", exc_info=True)


def _settingsjson_response(settings: Settings) -> dict[str, Any]:
    return {
        "ring_timeout": settings.ring_timeout,
        "max_chats": settings.max_chats,
        "binding": str(settings.binding),
    }


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON body with its content type."""
    return Response(json.dumps(data), status=status, content_type="application/json")


def create_app(config: ServerConfig | None = None) -> QuartTrio:
    """Build the reference server's app; ``app.chat`` is its :class:`ChatServer`."""
    chat = ChatServer(config or ServerConfig())
    app = QuartTrio(__name__)
    app.chat = chat  # type: ignore[attr-defined]

    @app.before_serving
    async def startup() -> None:
        await chat.start(app.nursery)

    @app.after_serving
    async def shutdown() -> None:
        await chat.stop()

    async def serve_websocket(role: p.Role) -> Response | None:
        ws = websocket._get_current_object()  # type: ignore[attr-defined]
        if not chat.origin_allowed(ws.headers.get("Origin"), ws.host, ws.scheme):
            # answered before the upgrade: the page's script sees the handshake fail
            return Response("origin not allowed", status=403)
        await chat.serve_connection(ws, role, ws.remote_addr or "")
        return None

    @app.websocket("/ws/operator")
    async def ws_operator() -> Response | None:
        return await serve_websocket("operator")

    @app.websocket("/ws/visitor")
    async def ws_visitor() -> Response | None:
        return await serve_websocket("visitor")

    @app.errorhandler(HttpError)
    async def http_error(exc: HttpError) -> Response:
        response = json_response({"error": exc.code, "message": exc.message}, exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
        return response

    @app.post("/api/login")
    async def login() -> Response:
        try:
            body = msgspec.json.decode(await request.get_data(), type=LoginRequest)
        except msgspec.MsgspecError as exc:
            return json_response({"error": "invalid_field", "message": str(exc)}, 400)
        result = await chat.login(body, request.remote_addr or "")
        if result is None:
            return json_response(
                {"error": "auth_failed", "message": "wrong login or password"}, 401
            )
        return json_response(result)

    @app.post("/api/logout")
    async def logout() -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token:
            await chat.logout(token)
        return Response("", status=204)

    @app.get("/api/settings")
    async def get_settings() -> Response:
        op = await chat.authorize(request.headers.get("Authorization", ""))
        return json_response(_settingsjson_response(chat.hub.settings(op.account_id)))

    @app.put("/api/settings")
    async def put_settings() -> Response:
        op = await chat.authorize(request.headers.get("Authorization", ""), admin=True)
        try:
            patch = msgspec.json.decode(await request.get_data(), type=SettingsPatch)
        except msgspec.MsgspecError as exc:
            raise HttpError(400, "invalid_field", str(exc).replace("`$.", "`")) from None
        return json_response(
            _settingsjson_response(await chat.update_settings(op.account_id, patch))
        )

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok", "connections": len(chat.conns)})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(chat.metrics.render(), content_type="text/plain; version=0.0.4")

    pages.register(app)
    admin.register(app, chat)

    @app.get("/")
    async def index() -> Response:
        return json_response(
            {
                "service": "ringlab reference chat server",
                "endpoints": [
                    "/ws/operator",
                    "/ws/visitor",
                    "/api/login",
                    "/api/logout",
                    "/api/settings",
                    "/console",
                    "/control",
                    "/demo",
                    "/demo/pinned",
                    "/healthz",
                    "/metrics",
                ],
                "docs": "docs/protocol.md",
            }
        )

    return app
