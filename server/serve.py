"""Running the reference server under Hypercorn's trio worker, and what ``ringlab serve``
runs: its options over the config file, the server until Ctrl-C, the banner it prints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import hypercorn.trio.tcp_server
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from . import collector, demo
from .app import ChatServer, ServerConfig, create_app
from .config import FileConfig, load_config, server_config
from .forwarded import behind_proxies
from .http.pages import PAGES

#: Largest WebSocket message Hypercorn reads, in bytes.
WS_MAX_MESSAGE = 1 << 20
#: Bytes Hypercorn asks of a socket per read; its own is 64 KiB, with no setting. CPython
#: allocates the whole buffer for each read and then shrinks it to what arrived, so with
#: thousands of connections sending small frames glibc's heap fragmented: in the soak the
#: server's RSS grew ~150 MiB/h while its live memory (Python objects, malloc in use) was
#: flat. Frames here are small; a large one just takes a few reads more.
READ_SIZE = 4096
hypercorn.trio.tcp_server.MAX_RECV = READ_SIZE

log = logging.getLogger("ringlab.serve")


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
        served = behind_proxies(app, config.trusted_proxies)
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


@dataclass(frozen=True)
class ServeOptions:
    """What ``ringlab serve`` runs: each flag given over the config file over the defaults."""

    host: str
    port: int
    log_level: str
    config: ServerConfig

    @classmethod
    def of(
        cls,
        config_file: str | None,
        *,
        host: str | None = None,
        port: int | None = None,
        db: str | None = None,
        log_level: str | None = None,
    ) -> ServeOptions:
        """The flags given and the config file, if any; :class:`ConfigError` if it cannot
        be used."""
        file = load_config(config_file) if config_file else FileConfig()
        port = port if port is not None else file.server.port
        return cls(
            host=host or file.server.host or "127.0.0.1",
            port=8000 if port is None else port,
            log_level=log_level or file.server.log_level or "info",
            config=server_config(file, db),
        )


async def serve_until(
    options: ServeOptions,
    shutdown_trigger: Callable[[], Awaitable[None]],
    announce: Callable[[RunningServer], None],
) -> str | None:
    """Serve until ``shutdown_trigger`` returns; ``announce`` is told once the server
    listens. The reason the server stopped, if it stopped on its own."""
    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            lambda task_status: serve_reference(
                options.config,
                options.host,
                options.port,
                shutdown_trigger=shutdown_trigger,
                task_status=task_status,
            )
        )
        frozen = collector.settle()
        # a tuning detail (server/collector.py), not something to act on at every start
        log.debug(
            "collector: %d startup objects frozen, young threshold %d",
            frozen,
            collector.YOUNG_THRESHOLD,
        )
        announce(running)
    return running.chat.runtime.failure


def serve_banner(url: str, demo_logins: list[tuple[str, str]]) -> list[str]:
    """What ``ringlab serve`` prints once it listens: where to point a browser (the pages
    open with a click in most terminals) and a program, and the demo logins if it created
    them. The first line's fifth word is the URL (scripts and tests read it)."""
    ws_url = "ws" + url.removeprefix("http")
    lines = [f"ringlab reference server on {url}  (Ctrl-C stops)"]
    lines += [f"  {name:<19} {url}{path}" for path, name, _ in PAGES]
    lines += [
        f"  operator websocket  {ws_url}/ws/operator",
        f"  visitor websocket   {ws_url}/ws/visitor",
        f"  health / metrics    {url}/healthz  {url}/metrics",
    ]
    if demo_logins:
        admins = {login for login, _, _, admin in demo.OPERATORS if admin}
        lines.append(f"created demo account '{demo.ACCOUNT}' (button '{demo.BUTTON}'):")
        for login, password in demo_logins:
            role = "  (admin)" if login in admins else ""
            lines.append(f"  login {login!r}  password {password!r}{role}")
    return lines
