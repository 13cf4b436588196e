"""The reference server on the virtual network, served by Hypercorn's own connection
handling (``TCPServer``: its HTTP/1.1 and WebSocket protocol code, timeouts and
lifespan), exactly as ``hypercorn.trio.serve`` does on sockets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app

from .net import VirtualNetwork


async def serve_virtual(
    app: Any,
    config: Config,
    net: VirtualNetwork,
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` at ``host:port`` of ``net`` until ``shutdown_trigger`` returns; reports
    the URL.

    Mirrors ``hypercorn.trio.run.worker_serve``: lifespan startup, a TCPServer per
    accepted connection, then on shutdown ``graceful_timeout`` for open connections
    and lifespan shutdown.
    """
    asgi = wrap_app(app, config.wsgi_max_body_size, None)
    state: dict[str, Any] = {}
    lifespan = Lifespan(asgi, config, state)
    context = WorkerContext(None)
    listener = net.listen(host, port)
    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                accepting.start_soon(
                    partial(
                        trio.serve_listeners,
                        partial(TCPServer, asgi, config, context, ConnectionState(state.copy())),
                        [listener],
                        handler_nursery=connections,
                    )
                )
                task_status.started(f"http://{listener.address[0]}:{listener.address[1]}")
                await shutdown_trigger()
                net.unlisten(listener)
                accepting.cancel_scope.cancel()
            await context.terminated.set()
            connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
