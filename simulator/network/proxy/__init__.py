"""``ringlab proxy``: a TCP proxy that puts an emulated link between a client and a server.

It speaks Toxiproxy's control API, so Toxiproxy clients drive it unchanged.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import trio
from quart_trio import QuartTrio

from server.serve import serve_hypercorn

from ..link.spec import LinkSpec
from ..link.toxiproxy import from_toxics
from .api import create_control_app
from .carry import describe_error
from .proxies import ProxiedConnection, Proxy, ProxyError, ProxyServer, split_address

#: The name of the proxy ``--listen``/``--upstream`` create.
DEFAULT_PROXY = "ringlab"
#: Seconds the control API's requests under way get to finish when the proxy stops.
CONTROL_GRACE = 1.0


@dataclass
class RunningProxy:
    """A started proxy process: its proxies and where its control API listens."""

    server: ProxyServer
    control_url: str | None

    @property
    def proxy(self) -> Proxy:
        return self.server.get(DEFAULT_PROXY)


async def serve_proxy(
    *,
    listen: str | None,
    upstream: str | None,
    spec: LinkSpec | None = None,
    seed: int | None = None,
    control: str | None = "127.0.0.1:8474",
    log: Callable[[str], None] = print,
    shutdown_trigger: Callable[[], Awaitable[None]] = trio.sleep_forever,
    task_status: trio.TaskStatus[RunningProxy] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run proxies (and the control API) until ``shutdown_trigger`` returns."""
    stopping = trio.Event()
    control_scope = trio.CancelScope()

    async def serve_control(
        app: QuartTrio, host: str, port: int, task_status: trio.TaskStatus[str]
    ) -> None:
        with control_scope:
            await serve_hypercorn(
                app, host, port, shutdown_trigger=stopping.wait, task_status=task_status
            )

    async with trio.open_nursery() as nursery:
        server = ProxyServer(nursery, random.Random(seed), log)
        if listen is not None and upstream is not None:
            toxics = from_toxics(spec.toxics()) if spec is not None else []
            await server.create(DEFAULT_PROXY, listen, upstream, toxics=toxics)
        control_url = None
        if control is not None:
            host, port = split_address(control)
            app = create_control_app(server)
            try:
                control_url = await nursery.start(serve_control, app, host, port)
            except* OSError as group:  # Hypercorn's bind, inside its nurseries
                message = f"control API: cannot listen on {control}: {describe_error(group)}"
                raise ProxyError(409, message) from None
        task_status.started(RunningProxy(server, control_url))
        await shutdown_trigger()
        stopping.set()  # Hypercorn closes the control API gracefully...
        for proxy in list(server.proxies.values()):
            server.delete(proxy.name)  # ...and the proxies drop their connections
        # A request under way gets its answer, but an idle keep-alive connection (a test
        # suite's HTTP client) must not hold Ctrl-C for Hypercorn's graceful timeout (5 s).
        control_scope.deadline = trio.current_time() + CONTROL_GRACE


@asynccontextmanager
async def open_proxy(
    upstream: str,
    spec: LinkSpec | None = None,
    *,
    seed: int = 1,
    control: str | None = "127.0.0.1:0",
    log: Callable[[str], None] = lambda line: None,
) -> AsyncIterator[RunningProxy]:
    """A proxy on a free loopback port (and its control API) for the block's duration."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        running: RunningProxy = await nursery.start(
            partial(
                serve_proxy,
                listen="127.0.0.1:0",
                upstream=upstream,
                spec=spec,
                seed=seed,
                control=control,
                log=log,
                shutdown_trigger=stop.wait,
            )
        )
        try:
            yield running
        finally:
            stop.set()


__all__ = [
    "DEFAULT_PROXY",
    "ProxiedConnection",
    "Proxy",
    "ProxyError",
    "ProxyServer",
    "RunningProxy",
    "open_proxy",
    "serve_proxy",
]
