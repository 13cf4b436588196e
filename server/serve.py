"""Running the reference server under Hypercorn's trio worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import hypercorn.trio.tcp_server
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from .app import ChatServer, ServerConfig, create_app
from .forwarded import TrustedProxies

#: Largest WebSocket message Hypercorn reads, in bytes.
WS_MAX_MESSAGE = 1 << 20
#: Bytes Hypercorn asks of a socket per read; its own is 64 KiB, with no setting. CPython
#: allocates the whole buffer for each read and then shrinks it to what arrived, so with
#: thousands of connections sending small frames glibc's heap fragmented: in the soak the
#: server's RSS grew ~150 MiB/h while its live memory (Python objects, malloc in use) was
#: flat. Frames here are small; a large one just takes a few reads more.
READ_SIZE = 4096
hypercorn.trio.tcp_server.MAX_RECV = READ_SIZE


@dataclass
class RunningServer:
    """A server started by :func:`open_server`: where it listens and its internals."""

    url: str
    chat: ChatServer

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


def hypercorn_config(host: str, port: int) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 5.0
    # our own heartbeats detect dead peers; Hypercorn's would close idle browsers
    config.websocket_ping_interval = None
    # Hypercorn buffers a whole message before the app sees it (default 16 MiB): a frame
    # over this is closed with 1009; between MAX_FRAME_BYTES and this, it gets `too_large`.
    config.websocket_max_message_size = WS_MAX_MESSAGE
    return config


def going_away_after(
    chat: ChatServer, shutdown_trigger: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    """A Hypercorn shutdown trigger: ``shutdown_trigger`` (or the server failing: a write
    the database refused), then every WebSocket closed with 1001 (Hypercorn itself would
    only cancel them after its graceful timeout)."""

    async def trigger() -> None:
        async with trio.open_nursery() as nursery:

            async def first(wait: Callable[[], Awaitable[None]]) -> None:
                await wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(first, shutdown_trigger)
            nursery.start_soon(first, chat.runtime.failed.wait)
        await chat.gateway.going_away()

    return trigger


async def serve_hypercorn(
    app: Any,
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve an ASGI app with Hypercorn's trio worker; reports the bound URL when ready."""

    class _Started:
        """Hypercorn reports a list of bound URLs; we report the first."""

        def started(self, binds: list[str] | None = None) -> None:
            task_status.started((binds or [""])[0])

    await hypercorn_serve(
        app,
        hypercorn_config(host, port),
        shutdown_trigger=shutdown_trigger,
        task_status=cast("trio.TaskStatus[list[str]]", _Started()),
    )


async def serve_reference(
    config: ServerConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``shutdown_trigger`` returns (or forever); reports the URL when ready."""
    app = create_app(config)
    chat: ChatServer = app.chat  # type: ignore[attr-defined]
    trigger = going_away_after(chat, shutdown_trigger or trio.sleep_forever)
    async with trio.open_nursery() as nursery:
        served = TrustedProxies(app, config.trusted_proxies) if config.trusted_proxies else app
        url = await nursery.start(
            partial(serve_hypercorn, served, host, port, shutdown_trigger=trigger)
        )
        task_status.started(RunningServer(url, chat))


@asynccontextmanager
async def open_server(
    config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningServer]:
    """Run a reference server on a free loopback port for the duration of the block."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            lambda task_status: serve_reference(
                config or ServerConfig(),
                host,
                port,
                shutdown_trigger=stop.wait,
                task_status=task_status,
            )
        )
        try:
            yield running
        finally:
            stop.set()
