"""The virtual network: the real server stack (Hypercorn's TCPServer, the Quart-trio app)
over in-memory connections, under the autojump clock."""

import random

import trio
from trio_websocket import wrap_client_stream

from server import protocol as p
from server.app import ServerConfig, create_app
from server.core.ids import SeededIds
from server.serve import hypercorn_config
from simulator.virtual import VirtualNetwork, serve_virtual


def virtual_config(seed=1):
    return ServerConfig(
        threaded=False,
        clock=lambda: 1_800_000_000 + trio.current_time(),
        ids=SeededIds(random.Random(seed)),
        salt=lambda: b"0123456789abcdef",
    )


async def test_http_and_websockets_over_the_virtual_network(autojump_clock):
    net = VirtualNetwork()
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_virtual(
                create_app(virtual_config()),
                hypercorn_config("10.0.0.1", 80),
                net,
                "10.0.0.1",
                80,
                shutdown=shutdown,
                task_status=task_status,
            )
        )
        assert url == "http://10.0.0.1:80"
        async with net.http(url) as http:
            response = await http.post(
                "/api/login", json={"login": "alice", "password": "alice-demo"}
            )
        assert response.status_code == 200
        token = response.json()["token"]
        start = trio.current_time()
        async with trio.open_nursery() as ws_nursery:
            stream = await net.connect("10.0.0.1", 80)
            ws = await wrap_client_stream(ws_nursery, stream, "10.0.0.1", "/ws/operator")
            await ws.send_message(p.encode(p.OperatorHello(token=token)))
            welcome = p.decode_event("operator", await ws.get_message())
            assert isinstance(welcome, p.Welcome) and welcome.operator.id == "op_alice"
            # a heartbeat comes after heartbeat_interval of virtual time, in no real time
            while not isinstance(p.decode_event("operator", await ws.get_message()), p.Ping):
                pass
            assert trio.current_time() - start >= welcome.heartbeat_interval
            await ws.aclose()
        shutdown.set()
    refused = False
    try:
        await net.connect("10.0.0.1", 80)
    except ConnectionRefusedError:
        refused = True
    assert refused
