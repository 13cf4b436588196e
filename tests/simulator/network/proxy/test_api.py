"""The control API where test suites can tell ``ringlab proxy`` from Toxiproxy: populate,
delete, version, metrics, and how toxics and a dead upstream end a connection."""

import json
import re
import socket
import subprocess
import sys

import httpx
import pytest
import trio

from simulator.network.link import parse
from simulator.network.proxy import open_proxy
from tests.simulator.network.proxy.loopback import (
    ProxyProcess,
    connect,
    echo_process,
    open_echo,
    proxied,
    round_trip,
)


async def read_to_end(stream, limit=10):
    """Everything until EOF; a reset raises BrokenResourceError."""
    got = b""
    with trio.fail_after(limit):
        while data := await stream.receive_some():
            got += data
    return got


async def add_toxic(http, proxy, **toxic):
    reply = await http.post(f"/proxies/{proxy}/toxics", json=toxic)
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_populate_leaves_an_identical_proxy_alone_and_replaces_a_different_one():
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            other = await open_echo(nursery)
            async with (
                open_proxy(upstream, parse("latency=10ms")) as running,
                httpx.AsyncClient(base_url=running.control_url) as http,
            ):
                listen = running.proxy.listen
                stream = await connect(listen)
                await round_trip(stream)
                same = {"name": "ringlab", "listen": listen, "upstream": upstream}
                reply = await http.post("/populate", json=[same])
                assert reply.status_code == 201
                (shown,) = reply.json()["proxies"]
                assert [t["name"] for t in shown["toxics"]] == [
                    "latency_upstream",
                    "latency_downstream",
                ]
                assert await round_trip(stream) < 5  # the live connection goes on
                # a host name that resolves to the same address is the same proxy (2.12)
                port = listen.rsplit(":", 1)[1]
                alias = same | {"listen": f"localhost:{port}", "enabled": None}
                assert (await http.post("/populate", json=[alias])).status_code == 201
                assert len((await http.get("/proxies/ringlab")).json()["toxics"]) == 2
                # another upstream: a new proxy, without toxics; the old one's connections close
                moved = same | {"upstream": other}
                (shown,) = (await http.post("/populate", json=[moved])).json()["proxies"]
                assert shown["toxics"] == [] and shown["upstream"] == other
                assert await read_to_end(stream) == b""
                assert await round_trip(await connect(listen)) < 5
            nursery.cancel_scope.cancel()


async def test_populate_checks_every_proxy_first_and_reports_a_failure_with_what_was_done():
    async with proxied() as (upstream, running, http):
        bad = [{"name": "a", "upstream": upstream}, {"name": "b"}]
        reply = await http.post("/populate", json=bad)
        assert reply.status_code == 400
        assert reply.json()["error"] == "missing required field: upstream at proxy 2"
        assert "a" not in (await http.get("/proxies")).json()  # nothing was created
        taken = running.proxy.listen
        clash = [
            {"name": "a", "upstream": upstream},
            {"name": "b", "upstream": upstream, "listen": taken},
        ]
        reply = await http.post("/populate", json=clash)
        assert reply.status_code == 409
        body = reply.json()
        assert "cannot listen on" in body["error"] and body["status"] == 409
        assert [p["name"] for p in body["proxies"]] == ["a"]


async def test_update_to_another_upstream_restarts_the_proxy():
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            other = await open_echo(nursery)
            async with (
                open_proxy(upstream) as running,
                httpx.AsyncClient(base_url=running.control_url) as http,
            ):
                stream = await connect(running.proxy.listen)
                await round_trip(stream)
                reply = await http.patch("/proxies/ringlab", json={"upstream": other})
                assert reply.json()["upstream"] == other and reply.json()["enabled"]
                assert await read_to_end(stream) == b""  # Toxiproxy's stop closes connections
                assert await round_trip(await connect(running.proxy.listen)) < 5
            nursery.cancel_scope.cancel()


async def test_delete_has_closed_the_listener_when_it_returns():
    async with open_proxy("127.0.0.1:9") as running:
        host, port = running.proxy.listen.rsplit(":", 1)
        running.server.delete("ringlab")
        # no checkpoint since: had the close been left to the accept task, the kernel
        # would still accept this connect
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=10).close()


def test_delete_closes_the_listener_before_it_answers():
    """A connect right after the 204 is refused: it was accepted and reset 3-4 times in 15."""
    with (
        echo_process() as port,
        ProxyProcess() as proc,
        httpx.Client(base_url=proc.control_url) as api,
    ):
        for i in range(15):
            made = api.post("/proxies", json={"name": f"p{i}", "upstream": f"127.0.0.1:{port}"})
            host, lport = made.json()["listen"].rsplit(":", 1)
            with socket.create_connection((host, int(lport)), timeout=10) as s:
                s.sendall(b"hi")
                assert s.recv(10) == b"hi"
            assert api.delete(f"/proxies/p{i}").status_code == 204
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((host, int(lport)), timeout=10).close()
        assert api.get("/proxies").json() == {}
        api.close()  # an idle keep-alive connection would make Ctrl-C wait
        proc.stop()


async def test_version_is_json_as_toxiproxy_2_6_answers():
    async with (
        open_proxy("127.0.0.1:9") as running,
        httpx.AsyncClient(base_url=running.control_url) as http,
    ):
        reply = await http.get("/version")
        assert reply.headers["content-type"].startswith("application/json")
        assert set(json.loads(reply.text)) == {"version"}


async def test_a_web_page_cannot_drive_the_proxy():
    async with (
        open_proxy("127.0.0.1:9") as running,
        httpx.AsyncClient(base_url=running.control_url) as http,
    ):
        browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"}
        reply = await http.post("/reset", headers=browser)
        assert reply.status_code == 403


async def test_limit_data_ends_with_fin_after_exactly_the_limit():
    async with proxied() as (_, running, http):
        await add_toxic(http, "ringlab", type="limit_data", attributes={"bytes": 5})
        stream = await connect(running.proxy.listen)
        await stream.send_all(b"0123456789")
        assert await read_to_end(stream) == b"01234"  # then EOF, not a reset


async def test_timeout_zero_holds_until_removed_then_closes():
    async with proxied() as (_, running, http):
        toxic = {"type": "timeout", "attributes": {"timeout": 0}}
        await add_toxic(http, "ringlab", **toxic, stream="upstream")
        stream = await connect(running.proxy.listen)
        await stream.send_all(b"lost")
        with trio.move_on_after(0.5) as held:
            await stream.receive_some()
        assert held.cancelled_caught  # dropped, and the connection stays open
        reply = await http.delete("/proxies/ringlab/toxics/timeout_upstream")
        assert reply.status_code == 204
        assert await read_to_end(stream) == b""  # as Toxiproxy's cleanup: closed
        assert (await http.get("/ringlab/connections")).json() == []


async def test_timeout_ends_with_fin():
    async with proxied() as (_, running, http):
        await add_toxic(http, "ringlab", type="timeout", attributes={"timeout": 300})
        stream = await connect(running.proxy.listen)
        await stream.send_all(b"into the void")
        try:
            ending = await read_to_end(stream)
        except trio.BrokenResourceError:
            ending = "reset"
    assert ending == b""


async def test_an_unreachable_upstream_accepts_then_closes():
    lines = []
    with trio.fail_after(30):
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            dead = f"127.0.0.1:{s.getsockname()[1]}"
        async with open_proxy(dead, log=lines.append) as running:
            stream = await connect(running.proxy.listen)
            assert await read_to_end(stream) == b""  # a FIN, as Toxiproxy's Close
            await stream.aclose()
            assert running.server.metrics.unreachable == {"ringlab": 1}
    (line,) = [x for x in lines if "upstream" in x]
    assert f"-> {dead}: cannot reach the upstream (connection refused)" in line


async def test_slicer_cuts_writes_into_delayed_slices():
    async with proxied() as (_, running, http):
        bad = {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 10}}
        reply = await http.post("/proxies/ringlab/toxics", json=bad)
        assert reply.status_code == 400 and "size_variation" in reply.json()["error"]
        attributes = {"average_size": 100, "size_variation": 20, "delay": 20_000}
        toxic = await add_toxic(http, "ringlab", type="slicer", attributes=attributes)
        assert toxic["attributes"] == attributes and toxic["name"] == "slicer_downstream"
        stream = await connect(running.proxy.listen)
        data = bytes(range(256)) * 4
        start = trio.current_time()
        await stream.send_all(data)
        reads = []
        while sum(map(len, reads)) < len(data):
            reads.append(await stream.receive_some())
        assert b"".join(reads) == data
        assert len(reads) >= 4 and max(map(len, reads)) < len(data)
        assert trio.current_time() - start >= 0.1  # >= 7 slices, 20 ms apart


def metric(text, name, **labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_count_bytes_as_toxiproxy_and_stalls_per_toxic():
    async with proxied() as (upstream, running, http):
        lossy = {"probability": 0.3, "mss": 100, "min_rto": 5}
        await add_toxic(
            http, "ringlab", type="loss", name="lossy", stream="upstream", attributes=lossy
        )
        listen = running.proxy.listen
        stream = await connect(listen)
        await round_trip(stream, b"x" * 2000)
        live = (await http.get("/metrics")).text
        assert metric(live, "ringlab_proxy_connections", proxy="ringlab") == 1
        await stream.aclose()
        with trio.move_on_after(10):
            while running.server.connections() or running.server.metrics._live:
                await trio.sleep(0.05)
        text = (await http.get("/metrics")).text
    where = {"proxy": "ringlab", "listener": listen, "upstream": upstream}
    for kind in ("received", "sent"):
        for direction in ("upstream", "downstream"):
            name = f"toxiproxy_proxy_{kind}_bytes_total"
            assert metric(text, name, direction=direction, **where) == 2000, (name, direction)
    assert metric(text, "ringlab_proxy_accepted_connections_total", proxy="ringlab") == 1
    stalls = metric(text, "ringlab_proxy_stalls_total", toxic="lossy", direction="upstream")
    assert stalls and stalls >= 1
    assert metric(text, "ringlab_proxy_stall_seconds_total", toxic="lossy") > 0
    assert re.search(r"^# TYPE toxiproxy_proxy_sent_bytes_total counter$", text, re.M)


def test_control_port_in_use_is_named():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-m", "simulator.cli", "proxy", "--control", address],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr == (
        f"ringlab proxy: control API: cannot listen on {address}: address already in use\n"
    )


def test_without_listen_it_says_only_the_control_api_runs():
    with ProxyProcess() as proc:
        assert proc.address is None
        assert any("no proxy yet" in line for line in proc.banner)
        proc.stop()
    done = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "proxy", "--control", "none"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "nothing to run" in done.stderr
    assert "Traceback" not in done.stderr
