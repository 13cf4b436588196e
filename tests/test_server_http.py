"""The HTTP side over real sockets: settings, logout, WebSocket Origin checks."""

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from server import demo
from server import protocol as p
from server.app import ServerConfig
from server.serve import open_server
from simulator.client import login, open_client

VISITOR = dict(account=demo.ACCOUNT, button=demo.BUTTON, url="http://shop/")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def test_settings_read_by_operators_changed_by_admins_only():
    with trio.fail_after(30):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            admin = (await login(server.url, "alice", "alice-demo"))["token"]
            plain = (await login(server.url, "bob", "bob-demo"))["token"]
            assert (await http.get("/api/settings")).status_code == 401
            got = await http.get("/api/settings", headers=bearer(plain))
            assert got.json() == {"ring_timeout": 120.0, "max_chats": 5, "binding": "legacy"}
            denied = await http.put("/api/settings", json={"max_chats": 1}, headers=bearer(plain))
            assert (denied.status_code, denied.json()["error"]) == (403, "forbidden")
            bad = await http.put("/api/settings", json={"max_chats": 0}, headers=bearer(admin))
            assert bad.status_code == 400 and "`max_chats`" in bad.json()["message"]
            bad = await http.put("/api/settings", json={"colour": "red"}, headers=bearer(admin))
            assert bad.status_code == 400 and "colour" in bad.json()["message"]
            done = await http.put(
                "/api/settings", json={"binding": "strict", "max_chats": 2}, headers=bearer(admin)
            )
            assert done.json() == {"ring_timeout": 120.0, "max_chats": 2, "binding": "strict"}
            assert server.chat.hub.settings(demo.ACCOUNT).max_chats == 2


async def test_settings_change_reaches_ringing_consoles_at_once():
    with trio.fail_after(30):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            token = (await login(server.url, "alice", "alice-demo"))["token"]
            async with (
                open_client(server.ws_url, "operator", p.OperatorHello(token=token)) as alice,
                open_client(
                    server.ws_url, "visitor", p.VisitorHello(page_instance="a", **VISITOR)
                ) as v1,
                open_client(
                    server.ws_url, "visitor", p.VisitorHello(page_instance="b", **VISITOR)
                ) as v2,
            ):
                c1 = (await v1.request(p.PlaceCall(id="c"))).call
                await alice.request(p.Accept(id="a", call=c1))
                c2 = (await v2.request(p.PlaceCall(id="c"))).call
                while (await alice.next(p.Ring)).call != c2:
                    pass
                await http.put("/api/settings", json={"max_chats": 1}, headers=bearer(token))
                while (stop := await alice.next(p.RingStop)).call != c2:
                    pass
                assert stop.reason == "max_chats"


async def test_logout_closes_live_sessions_and_kills_the_token():
    with trio.fail_after(30):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            token = (await login(server.url, "bob", "bob-demo"))["token"]
            async with open_websocket_url(f"{server.ws_url}/ws/operator") as ws:
                await ws.send_message(p.encode(p.OperatorHello(token=token)))
                assert isinstance(p.decode_event("operator", await ws.get_message()), p.Welcome)
                assert (await http.post("/api/logout", headers=bearer(token))).status_code == 204
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await ws.get_message()
                assert closed.value.reason.code == 4401
            assert server.chat.hub.sessions_of("op_bob") == []
            assert (await http.get("/api/settings", headers=bearer(token))).status_code == 401


async def test_websocket_origin_must_be_own_or_allowed():
    config = ServerConfig(allowed_origins=("https://shop.example",))
    with trio.fail_after(30):
        async with open_server(config) as server:
            own = server.url.rstrip("/")
            for origin in (own, "https://shop.example"):
                async with open_websocket_url(
                    f"{server.ws_url}/ws/visitor", extra_headers=[("Origin", origin)]
                ) as ws:
                    await ws.send_message(p.encode(p.VisitorHello(page_instance="pg", **VISITOR)))
                    assert isinstance(p.decode_event("visitor", await ws.get_message()), p.Welcome)
            with pytest.raises(ConnectionRejected) as rejected:
                async with open_websocket_url(
                    f"{server.ws_url}/ws/operator",
                    extra_headers=[("Origin", "https://evil.example")],
                ):
                    pass
            assert rejected.value.status_code == 403
