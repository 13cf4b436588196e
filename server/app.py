"""The Quart-trio app: the reference server's parts wired together, and its HTTP API.

:class:`ChatServer` holds the hub (the sans-I/O core), the store, the runtime that applies
every change to them in order (:mod:`server.runtime`) and the WebSocket gateway
(:mod:`server.connection`). The routes here are the operator login, the account settings,
health and metrics; the Control Panel's are in :mod:`server.admin`, the pages' in
:mod:`server.pages`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Annotated, Any, Literal

import msgspec
import trio
from quart import Response, request
from quart_trio import QuartTrio

from . import admin, pages
from .config import ServerConfig
from .connection import Gateway
from .core import Effect, Hub, Operator, Settings, hash_password, verify_password
from .demo import bootstrap_demo
from .limits import KeyedBuckets
from .metrics import Metrics
from .runtime import Runtime
from .store import Store, token_hash
from .timers import Key, Timers
from .websocket import websocket_endpoints

__all__ = ["ChatServer", "HttpError", "ServerConfig", "create_app", "json_response"]

log = logging.getLogger("ringlab.server")

#: Seconds an operator login token stays valid.
TOKEN_TTL = 12 * 3600.0
#: Seconds between two reloads of account data on a miss (an unknown account or operator).
REFRESH_EVERY = 1.0
#: Seconds between two WAL checkpoints.
CHECKPOINT_EVERY = 1.0


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


class ChatServer:
    """The running server: hub, store, runtime, WebSocket gateway, timers and metrics."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.hub = Hub(config.ids, config.timings)
        self.metrics = Metrics()
        self.timers = Timers()
        self.store: Store
        self.runtime: Runtime
        self.gateway: Gateway
        self.demo_logins: list[tuple[str, str]] = []
        limits = config.limits
        self.login_attempts = KeyedBuckets(limits.login_rate, limits.login_burst)
        self.login_failures = KeyedBuckets(limits.login_failure_rate, limits.login_failure_burst)
        self._refreshed_at = float("-inf")

    def now(self) -> float:
        return self.config.clock()

    async def blocking(self, fn: Any) -> Any:
        return await trio.to_thread.run_sync(fn) if self.config.threaded else fn()

    @property
    def conns(self) -> dict[str, Any]:
        """Session id -> its live connection."""
        return self.runtime.conns

    # ------------------------------------------------------------ lifecycle

    async def start(self, nursery: trio.Nursery) -> None:
        config = self.config
        self.store = await Store.open(
            config.db, threaded=config.threaded, runner=config.store_runner
        )
        self.stand_in_hash = hash_password("", bytes(16), config.password_cost)
        if config.demo and await self.store.is_empty():
            self.demo_logins = await bootstrap_demo(
                self.store, config.salt, self.blocking, config.demo_settings, config.password_cost
            )
        self.runtime = Runtime(
            self.store,
            self.timers,
            self.metrics,
            config.clock,
            config.observer,
            queue_limit=config.queue_limit,
            max_wait=config.max_wait,
            max_lag=config.max_lag,
        )
        self.metrics.queue.set_function(lambda: self.runtime.waiting)
        self.gateway = Gateway(
            config, self.hub, self.store, self.runtime, self.metrics, self.refresh
        )
        self.gateway.nursery = nursery  # lives as long as the server: connection writers
        loaded = await self.store.load(self.now())
        self.hub.load(loaded.accounts, loaded.operators, loaded.buttons)
        nursery.start_soon(self.runtime.run)
        await self.runtime.do(
            lambda now: self.hub.restore(now, loaded.open_rooms, loaded.members, loaded.missed)
        )
        nursery.start_soon(self.timers.serve, self._fire)
        if self.store.checkpoints:
            nursery.start_soon(self._checkpoints)

    async def _checkpoints(self) -> None:
        """The WAL back into the database every second, in a worker thread (server.store)."""
        while True:
            await trio.sleep(CHECKPOINT_EVERY)
            await self.store.checkpoint()

    async def stop(self) -> None:
        """Close what is still open, store what is queued, close the store."""
        self.gateway.close_all()  # any still open (going_away gave up waiting, or never ran)
        await self.runtime.drain()
        await self.store.close()

    async def _fire(self, key: Key) -> None:
        self.runtime.submit(lambda now: self.hub.timer(now, key))

    async def refresh(self) -> None:
        """Take account data added to the store since startup (another process, a script):
        at most once a second, so unknown ids in hellos cannot keep the store busy."""
        if self.now() - self._refreshed_at < REFRESH_EVERY:
            return
        self._refreshed_at = self.now()
        accounts, operators, buttons = await self.store.account_data()

        def load(now: float) -> list[Effect]:
            self.hub.load(accounts, operators, buttons)
            return []

        await self.runtime.do(load)

    def origin_allowed(self, origin: str | None, host: str) -> bool:
        """Whether a WebSocket handshake's Origin may connect (no CSWSH).

        Browsers always send Origin; a page may connect from the server's own host (over
        http or https: a TLS-terminating proxy in front changes the scheme) or from a
        configured origin. Non-browser clients send none.
        """
        if origin is None:
            return True
        allowed = self.config.allowed_origins
        return (
            "*" in allowed or origin in allowed or origin in (f"http://{host}", f"https://{host}")
        )

    # ------------------------------------------------------------ HTTP

    async def authorize(self, authorization: str, *, admin: bool = False) -> Operator:
        """The operator an ``Authorization: Bearer <token>`` header names; raises
        :class:`HttpError`."""
        token = bearer(authorization)
        op_id = await self.store.token_operator(token, self.now()) if token else None
        if op_id is not None and self.hub.operator(op_id) is None:
            await self.refresh()  # added to the store since this process started
        op = self.hub.operator(op_id) if op_id else None
        if op is None:
            raise HttpError(401, "auth_failed", "log in first (Authorization: Bearer <token>)")
        if admin and not op.is_admin:
            raise HttpError(403, "forbidden", "this needs an administrator")
        return op

    async def logout(self, token: str) -> None:
        """Revoke a token and end, at once, every session opened with it: connected, or in
        its grace period after the console closed its connection first."""
        await self.store.revoke_token(token)
        await self._end(lambda: self.hub.sessions_with(token_hash(token)), "logged out")

    async def end_sessions_of(self, operator_id: str, reason: str) -> None:
        """Close an operator's connections and end its sessions now (password reset)."""
        await self._end(lambda: self.hub.sessions_of(operator_id), reason)

    async def _end(self, which: Any, reason: str) -> None:
        def end(now: float) -> list[Effect]:
            return [fx for sid in which() for fx in self.hub.end_session(now, sid, reason)]

        await self.runtime.do(end)

    async def update_settings(self, account_id: str, patch: SettingsPatch) -> Settings:
        current = self.hub.settings(account_id)
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}
        settings = Settings(**{**dataclasses.asdict(current), **changes})
        await self.runtime.do(lambda now: self.hub.update_settings(now, account_id, settings))
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


def bearer(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ("" for any other)."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


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

    # the WebSocket endpoints are ASGI middleware in front of the routes: see websocket.py
    app.asgi_app = websocket_endpoints(app.asgi_app, chat)  # type: ignore[method-assign,assignment]

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
        token = bearer(request.headers.get("Authorization", ""))
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
        failure = chat.runtime.failure
        return json_response(
            {"status": "failed" if failure else "ok", "connections": len(chat.conns)}
            | ({"failure": failure} if failure else {}),
            503 if failure else 200,
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(chat.metrics.render(), content_type="text/plain; version=0.0.4")

    pages.register(app)
    admin.register(app, chat)

    return app
