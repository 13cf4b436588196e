"""The HTTP side over real sockets: settings, logout, WebSocket Origin checks."""

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from server import demo
from server import protocol as p
from server.app import ServerConfig
from server.serve import open_server
from simulator.play.client import login, open_client

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


async def test_authorization_needs_the_bearer_scheme():
    with trio.fail_after(30):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            token = (await login(server.url, "bob", "bob-demo"))["token"]
            for header, status in [
                (token, 401),
                (f"Basic {token}", 401),
                (f"bearer {token}", 200),
                (f"Bearer  {token}", 200),
            ]:
                got = await http.get("/api/settings", headers={"Authorization": header})
                assert got.status_code == status, header


async def test_logout_after_the_console_closed_its_socket_ends_the_grace_session_at_once():
    """The console closes its WebSocket first, then logs out: the session was waiting its
    grace period, and the logout ends it now: colleagues see the operator offline."""
    with trio.fail_after(30):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            bob = (await login(server.url, "bob", "bob-demo"))["token"]
            alice = p.OperatorHello(token=(await login(server.url, "alice", "alice-demo"))["token"])
            async with open_client(server.ws_url, "operator", alice) as colleague:
                async with open_websocket_url(f"{server.ws_url}/ws/operator") as ws:
                    await ws.send_message(p.encode(p.OperatorHello(token=bob)))
                    await ws.get_message()
                while (await colleague.next(p.OperatorStatusEvent)).operator.status != "online":
                    pass
                assert server.chat.hub.sessions_of("op_bob")  # in its grace period
                assert (await http.post("/api/logout", headers=bearer(bob))).status_code == 204
                status = await colleague.next(p.OperatorStatusEvent, timeout=2)
                assert (status.operator.id, status.operator.status) == ("op_bob", "offline")
                assert server.chat.hub.sessions_of("op_bob") == []


async def test_behind_a_trusted_proxy_the_client_address_and_scheme_come_from_its_headers():
    proxied = [
        ("Origin", "https://chat.example"),
        ("X-Forwarded-Host", "chat.example"),
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
    ]
    hello = p.encode(p.VisitorHello(page_instance="pg", **VISITOR))
    with trio.fail_after(30):
        trusting = ServerConfig(trusted_proxies=("127.0.0.0/8",))
        async with (
            open_server(trusting) as server,
            open_websocket_url(f"{server.ws_url}/ws/visitor", extra_headers=proxied) as ws,
        ):
            await ws.send_message(hello)
            assert isinstance(p.decode_event("visitor", await ws.get_message()), p.Welcome)
            assert set(server.chat.gateway.per_address) == {"203.0.113.9"}
        async with (  # nobody trusted: the headers count for nothing
            open_server() as server,
            open_websocket_url(f"{server.ws_url}/ws/visitor", extra_headers=proxied[2:]) as ws,
        ):
            await ws.send_message(hello)
            await ws.get_message()
            assert set(server.chat.gateway.per_address) == {"127.0.0.1"}


async def test_the_page_of_the_servers_own_host_may_connect_over_https():
    """A TLS-terminating proxy that sends no forwarding headers: the page is
    https://<Host>, the server sees http; it is still the server's own host."""
    with trio.fail_after(30):
        async with open_server() as server:
            host = server.url.removeprefix("http://").rstrip("/")
            async with open_websocket_url(
                f"{server.ws_url}/ws/visitor", extra_headers=[("Origin", f"https://{host}")]
            ) as ws:
                await ws.send_message(p.encode(p.VisitorHello(page_instance="pg", **VISITOR)))
                assert isinstance(p.decode_event("visitor", await ws.get_message()), p.Welcome)


async def test_transcripts_come_in_pages_newest_first():
    with trio.fail_after(60):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            token = (await login(server.url, "alice", "alice-demo"))["token"]
            rooms = []
            async with open_client(server.ws_url, "operator", p.OperatorHello(token=token)) as op:
                for i in range(5):
                    hello = p.VisitorHello(page_instance=f"pg{i}", **VISITOR)
                    async with open_client(server.ws_url, "visitor", hello) as visitor:
                        call = (await visitor.request(p.PlaceCall(id="c"))).call
                        room = (await op.request(p.Accept(id=f"a{i}", call=call))).room
                        await op.request(p.Close(id=f"x{i}", room=room))
                        rooms.append(room)
            seen, before = [], None
            while True:
                query = {"limit": 2} | ({"before": before} if before else {})
                page = await http.get("/api/transcripts", params=query, headers=bearer(token))
                body = page.json()
                seen += [t["id"] for t in body["transcripts"]]
                before = body["next"]
                if before is None:
                    break
            assert seen == rooms[::-1]
            bad = await http.get("/api/transcripts?limit=0", headers=bearer(token))
            assert bad.status_code == 400 and "limit" in bad.json()["message"]
