"""The running server: the chat's parts, and their life from start to stop.

:class:`ChatServer` holds the hub (the sans-I/O core), the store, the runtime that applies
every change to them in order (:mod:`server.runtime`) and the WebSocket gateway
(:mod:`server.connection`). Its HTTP API is in :mod:`server.http`; :mod:`server.app` wires
both into the Quart app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import trio

from .config import ServerConfig
from .connection import Gateway
from .core import Effect, Hub
from .demo import bootstrap_demo
from .metrics import Metrics
from .runtime import Runtime
from .store import Store
from .timers import Key, Timers

#: Seconds between two reloads of account data on a miss (an unknown account or operator).
REFRESH_EVERY = 1.0
#: Seconds between two WAL checkpoints.
CHECKPOINT_EVERY = 1.0


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
        self._refreshed_at = float("-inf")

    def now(self) -> float:
        """The time on the server's clock (the configured one: virtual in simulations)."""
        return self.config.clock()

    async def blocking(self, fn: Any) -> Any:
        """``fn()``, in a worker thread unless the server runs unthreaded."""
        return await trio.to_thread.run_sync(fn) if self.config.threaded else fn()

    @property
    def conns(self) -> dict[str, Any]:
        """Session id -> its live connection."""
        return self.runtime.conns

    async def start(self, nursery: trio.Nursery) -> None:
        """Open the store, load accounts and open rooms, and start the runtime, the timers
        and the checkpoints in ``nursery``."""
        config = self.config
        self.store = await Store.open(
            config.db, threaded=config.threaded, runner=config.store_runner
        )
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

    async def end_sessions(self, which: Callable[[], Iterable[str]], reason: str) -> None:
        """End at once, closing their connections, the sessions ``which`` names when the
        runtime applies it (a logout, a password reset)."""

        def end(now: float) -> list[Effect]:
            return [fx for sid in which() for fx in self.hub.end_session(now, sid, reason)]

        await self.runtime.do(end)

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
