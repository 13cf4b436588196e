"""The reference server served on a virtual network, for tests: Hypercorn's TCPServer and
the Quart-trio app over in-memory connections, under the autojump clock."""

import random
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
from trio_websocket import WebSocketConnection, wrap_client_stream

from server import protocol as p
from server.app import ServerConfig, create_app
from server.core.ids import SeededIds
from server.forwarded import behind_proxies
from server.serve import going_away_after, hypercorn_config
from simulator.network.virtual.hypercorn_worker import serve_virtual
from simulator.network.virtual.net import VirtualNetwork

HOST = "10.0.0.1"


def virtual_config(seed=1):
    return ServerConfig(
        threaded=False,
        clock=lambda: 1_800_000_000 + trio.current_time(),
        ids=SeededIds(random.Random(seed)),
        salt=lambda: b"0123456789abcdef",
        rng=random.Random(seed),
    )


@dataclass
class Served:
    net: VirtualNetwork
    url: str
    token: str  # the demo admin's, from an HTTP login over the virtual network

    async def open_ws(
        self, nursery: trio.Nursery, path: str, hello: Any, source: str = "10.0.0.2"
    ) -> WebSocketConnection:
        """A WebSocket to ``path`` from address ``source`` whose first frame is ``hello``."""
        stream = await self.net.connect(HOST, 80, source)
        ws = await wrap_client_stream(nursery, stream, HOST, path)
        await ws.send_message(p.encode(hello))
        return ws


@asynccontextmanager
async def served(app=None, trusted_proxies=()):
    """The reference app served on a virtual network (``HOST:80``) until the block ends,
    behind ``trusted_proxies`` as ``ringlab serve`` puts it (``behind_proxies``)."""
    net = VirtualNetwork()
    shutdown = trio.Event()
    app = app or create_app(virtual_config())
    asgi = behind_proxies(app, trusted_proxies)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_virtual(
                asgi,
                hypercorn_config(HOST, 80),
                net,
                HOST,
                80,
                shutdown_trigger=going_away_after(app.chat, shutdown.wait),
                task_status=task_status,
            )
        )
        async with net.http(url) as http:
            response = await http.post(
                "/api/login", json={"login": "alice", "password": "alice-demo"}
            )
        assert response.status_code == 200
        try:
            yield Served(net, url, response.json()["token"])
        finally:
            shutdown.set()
