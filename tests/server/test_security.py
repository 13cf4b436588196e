"""Abuse limits and secrets, end to end through Hypercorn on the virtual network (autojump
clock: rate windows pass in no real time)."""

import dataclasses
import inspect
import logging
import re

import hypercorn.trio.tcp_server
import pytest
import trio
from trio_websocket import ConnectionClosed

from server import demo
from server import protocol as p
from server.app import create_app
from server.limits import Limits
from server.serve import READ_SIZE
from tests.support.virtual_server import served, virtual_config

VISITOR = dict(account=demo.ACCOUNT, button=demo.BUTTON, url="http://shop/")


def app_with(**limits):
    return create_app(dataclasses.replace(virtual_config(), limits=Limits(**limits)))


async def until(ws, kind):
    """The next event of ``kind`` (skipping others)."""
    while True:
        event = p.decode_event("visitor", await ws.get_message())
        if isinstance(event, kind):
            return event


async def test_a_flood_of_requests_is_refused_frame_by_frame_and_the_connection_lives(
    autojump_clock,
):
    async with (
        served(app_with(frame_rate=2, frame_burst=10)) as server,
        trio.open_nursery() as nursery,
    ):
        ws = await server.open_ws(
            nursery, "/ws/visitor", p.VisitorHello(page_instance="pg", **VISITOR)
        )
        for i in range(30):
            await ws.send_message(p.encode(p.PlaceCall(id=f"c{i}")))
        replies = [await until(ws, p.Ok | p.Error) for _ in range(30)]
        assert [r.ref for r in replies] == [f"c{i}" for i in range(30)]  # every one answered
        ok = [r.ref for r in replies if isinstance(r, p.Ok)]
        limited = [r for r in replies if isinstance(r, p.Error)]
        assert ok == [f"c{i}" for i in range(10)]  # the burst
        assert {e.code for e in limited} == {"rate_limited"}
        # an unsequenced refusal (nothing applied), with a wait that is not "0.0 s"
        assert "send again in" in limited[0].message and " 0 ms" not in limited[0].message
        assert all(e.seq == 0 and e.retry_after > 0.001 for e in limited)
        # acks and pings are never limited: they answer the server's own traffic
        await ws.send_message(p.encode(p.Ping()))
        assert isinstance(await until(ws, p.Pong), p.Pong)
        await trio.sleep(1.0)  # the rate refills two tokens
        await ws.send_message(p.encode(p.PlaceCall(id="again")))
        assert isinstance(await until(ws, p.Ok | p.Error), p.Ok)
        await ws.aclose()


async def test_connections_per_address_are_capped_with_close_4429(autojump_clock):
    async with (
        served(app_with(connections_per_address=3)) as server,
        trio.open_nursery() as nursery,
    ):

        async def visitor(page, source):
            ws = await server.open_ws(
                nursery, "/ws/visitor", p.VisitorHello(page_instance=page, **VISITOR), source
            )
            return ws

        first = [await visitor(f"a{i}", "192.0.2.1") for i in range(3)]
        for ws in first:
            assert isinstance(await until(ws, p.Welcome), p.Welcome)
        with pytest.raises(ConnectionClosed) as closed:
            # closed as it opens: before its hello is sent, or after (scheduling decides)
            refused = await visitor("a4", "192.0.2.1")
            await refused.get_message()
        assert (closed.value.reason.code, closed.value.reason.reason) == (
            4429,
            "too many connections from this address",
        )
        other = await visitor("b1", "192.0.2.2")  # another address is not affected
        assert isinstance(await until(other, p.Welcome), p.Welcome)
        await first[0].aclose()
        await trio.sleep(0.1)
        again = await visitor("a5", "192.0.2.1")  # a closed connection frees its place
        assert isinstance(await until(again, p.Welcome), p.Welcome)
        for ws in [*first, other, again]:
            await ws.aclose()


async def test_password_guessing_is_rate_limited_per_login_and_per_address(autojump_clock):
    app = app_with(login_failure_rate=1 / 60, login_failure_burst=3, login_rate=1, login_burst=8)
    async with served(app) as server, server.net.http(server.url) as http:

        async def attempt(login, password):
            return await http.post("/api/login", json={"login": login, "password": password})

        assert [(await attempt("bob", "guess")).status_code for _ in range(3)] == [401] * 3
        limited = await attempt("bob", "bob-demo")  # even the right password, for now
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        retry = int(limited.headers["Retry-After"])
        assert 1 <= retry <= 61
        assert (await attempt("alice", "alice-demo")).status_code == 200  # others may log in
        await trio.sleep(retry)
        assert (await attempt("bob", "bob-demo")).status_code == 200
        # attempts per address, whatever the login: the burst (8, one used by served()
        # long ago and refilled), then one per second
        statuses = [(await attempt(f"nobody{i}", "x")).status_code for i in range(12)]
        assert statuses.count(429) >= 3 and statuses[:6] == [401] * 6


async def test_frames_beyond_hypercorns_buffer_close_1009_and_smaller_oversize_get_an_error(
    autojump_clock,
):
    async with served() as server, trio.open_nursery() as nursery:
        ws = await server.open_ws(
            nursery, "/ws/visitor", p.VisitorHello(page_instance="pg", **VISITOR)
        )
        await until(ws, p.Welcome)
        await ws.send_message('{"type":"call","id":"big","x":"' + "a" * 100_000 + '"}')
        error = await until(ws, p.Error)
        assert (error.code, error.ref) == ("too_large", None)
        await ws.send_message("x" * (2 << 20))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.get_message()
        assert closed.value.reason.code == 1009


def test_hypercorn_reads_sockets_in_small_pieces():
    """server/serve.py sets Hypercorn's read size, a module constant: should Hypercorn rename
    or stop reading it, the setting would silently do nothing and the heap fragment again
    (see READ_SIZE)."""
    assert hypercorn.trio.tcp_server.MAX_RECV == READ_SIZE < 1 << 16
    assert "receive_some(MAX_RECV)" in inspect.getsource(hypercorn.trio.tcp_server.TCPServer)


async def test_no_token_or_password_reaches_the_logs(autojump_clock, caplog):
    caplog.set_level(logging.DEBUG)
    async with served() as server, server.net.http(server.url) as http:
        auth = {"Authorization": f"Bearer {server.token}"}
        bob = await http.post("/api/login", json={"login": "bob", "password": "bob-demo"})
        bob_token = bob.json()["token"]
        await http.post("/api/login", json={"login": "bob", "password": "wrong-secret"})
        created = await http.post(
            "/api/operators",
            headers=auth,
            json={"login": "dave", "name": "Dave", "password": "dave-secret-1"},
        )
        assert created.status_code in (200, 201)
        dave = created.json()["id"]
        await http.post(
            f"/api/operators/{dave}/password", headers=auth, json={"password": "dave-secret-2"}
        )
        async with trio.open_nursery() as nursery:
            ws = await server.open_ws(nursery, "/ws/operator", p.OperatorHello(token=bob_token))
            await ws.get_message()
            await ws.send_message('{"type":"hello","token":"' + bob_token + '"}')
            await ws.get_message()
            await ws.aclose()
        await http.post("/api/logout", headers={"Authorization": f"Bearer {bob_token}"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "operator_login" in text  # logging was on
    for secret in (server.token, bob_token, "bob-demo", "wrong-secret", "dave-secret"):
        assert secret not in text


async def test_ids_and_tokens_are_128_bit_and_no_page_sets_a_cookie():
    """The real server's sources (not the simulation's seeded ones): unguessable; tokens
    travel in an Authorization header, never a cookie, so there is nothing to forge."""
    from server.serve import open_server
    from simulator.play.client import login

    with trio.fail_after(30):
        async with open_server() as server:
            token = (await login(server.url, "alice", "alice-demo"))["token"]
            assert re.fullmatch(r"tok_[0-9A-Za-z]{20,22}", token)
            import httpx

            async with httpx.AsyncClient(base_url=server.url) as http:
                for path in ["/", "/console", "/control", "/demo", "/demo/pinned", "/healthz"]:
                    response = await http.get(path)
                    assert "set-cookie" not in response.headers
                    assert response.headers["x-content-type-options"] == "nosniff"
                    if response.headers["content-type"].startswith("text/html"):
                        csp = response.headers["content-security-policy"]
                        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
