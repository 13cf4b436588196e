"""``ringlab proxy`` over real loopback sockets, driven by a real Toxiproxy client library."""

import signal
import subprocess
import sys
import time

import httpx
import pytest
import toxiproxy
import trio

from simulator.link import parse
from simulator.proxy import open_proxy


async def echo_handler(stream):
    try:
        while data := await stream.receive_some():
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


async def open_echo(nursery):
    listeners = await nursery.start(trio.serve_tcp, echo_handler, 0)
    host, port = listeners[0].socket.getsockname()[:2]
    return f"{host}:{port}"


async def round_trip(stream, data=b"ping"):
    start = trio.current_time()
    await stream.send_all(data)
    got = b""
    while len(got) < len(data):
        chunk = await stream.receive_some()
        if not chunk:
            raise EOFError("the proxy closed the connection")
        got += chunk
    assert got == data
    return trio.current_time() - start


def connect(address):
    host, port = address.rsplit(":", 1)
    return trio.open_tcp_stream(host, int(port))


def toxiproxy_client(control_url):
    """The toxiproxy-python client pointed at our control API."""
    host, port = control_url.removeprefix("http://").rsplit(":", 1)
    client = toxiproxy.Toxiproxy()
    client.update_api_consumer(host, int(port))
    return client


async def test_toxiproxy_client_changes_the_link_mid_connection():
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            async with open_proxy(upstream, parse("latency=50ms")) as running:
                client = toxiproxy_client(running.control_url)
                stream = await connect(running.proxy.listen)
                base = await round_trip(stream)
                assert 0.1 <= base < 1.0  # 50 ms each way

                def add_latency():
                    proxy = client.get_proxy("ringlab")
                    proxy.add_toxic(
                        type="latency", name="slow", stream="upstream", attributes={"latency": 400}
                    )
                    return proxy

                proxy = await trio.to_thread.run_sync(add_latency)
                slower = await round_trip(stream)
                assert slower >= base + 0.35  # the live connection got the new toxic
                listed = await trio.to_thread.run_sync(proxy.toxics)
                assert listed["slow"].attributes["latency"] == 400
                assert listed["latency_upstream"].attributes["latency"] == 50
                await trio.to_thread.run_sync(proxy.destroy_toxic, "slow")
                assert await round_trip(stream) < slower - 0.3
                names = await trio.to_thread.run_sync(lambda: sorted(client.proxies()))
                assert names == ["ringlab"]
                await stream.aclose()
            nursery.cancel_scope.cancel()


async def test_toxiproxy_client_creates_disables_and_resets_proxies():
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            async with open_proxy(upstream) as running:
                client = toxiproxy_client(running.control_url)
                made = await trio.to_thread.run_sync(
                    lambda: client.create(upstream=upstream, name="extra")
                )
                stream = await connect(made.listen)
                assert await round_trip(stream) < 1.0
                with pytest.raises(toxiproxy.exceptions.ProxyExists):
                    await trio.to_thread.run_sync(
                        lambda: client.create(upstream=upstream, name="extra")
                    )
                await trio.to_thread.run_sync(made.disable)  # drops connections, stops listening
                with pytest.raises((EOFError, trio.BrokenResourceError)):
                    await round_trip(stream)
                with pytest.raises(OSError):
                    await connect(made.listen)
                await trio.to_thread.run_sync(
                    lambda: made.add_toxic(type="bandwidth", attributes={"rate": 10})
                )
                await trio.to_thread.run_sync(client.reset)
                info = await trio.to_thread.run_sync(lambda: client.get_proxy("extra"))
                assert info.enabled is True
                assert await trio.to_thread.run_sync(lambda: info.toxics()) == {}
                with pytest.raises(toxiproxy.exceptions.InvalidToxic):
                    await trio.to_thread.run_sync(
                        lambda: info.add_toxic(type="latency", attributes={"latency": -5})
                    )
                version = await trio.to_thread.run_sync(client.version)
                assert version
            nursery.cancel_scope.cancel()


async def test_ringlab_endpoints_list_connections_and_cut_them():
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            async with (
                open_proxy(upstream) as running,
                httpx.AsyncClient(base_url=running.control_url) as http,
            ):
                stream = await connect(running.proxy.listen)
                await round_trip(stream, b"x" * 1000)
                (conn,) = (await http.get("/ringlab/connections")).json()
                assert conn["statistics"]["up"]["bytes"] == 1000
                assert conn["statistics"]["down"]["bytes"] == 1000
                cut = await http.post(
                    f"/ringlab/connections/{conn['id']}/cut", json={"duration": 700}
                )
                assert cut.json() == {"cut": 1}
                assert await round_trip(stream) >= 0.6
                bad = await http.post("/ringlab/proxies/ringlab/cut", json={"duration": "long"})
                assert bad.status_code == 400 and "duration" in bad.json()["error"]
                missing = await http.post("/ringlab/connections/999/cut", json={"duration": 1})
                assert missing.status_code == 404
                await stream.aclose()
            nursery.cancel_scope.cancel()


async def test_reset_peer_reaches_the_client_as_a_reset():
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            async with open_proxy(upstream, parse("reset_peer=200ms")) as running:
                stream = await connect(running.proxy.listen)
                await round_trip(stream)
                await trio.sleep(0.4)
                with pytest.raises(trio.BrokenResourceError):
                    for _ in range(3):
                        await round_trip(stream)
            nursery.cancel_scope.cancel()


def test_ringlab_proxy_command_prints_connections_and_stops_on_ctrl_c():
    upstream = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(upstream.stdout.readline())
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator.cli",
                "proxy",
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                f"127.0.0.1:{port}",
                "--profile",
                "lan",
                "--control",
                "none",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        first = proc.stdout.readline()
        assert "-> 127.0.0.1:" in first and "lan" in first
        listen = first.split()[2]
        host, lport = listen.rsplit(":", 1)
        import socket

        with socket.create_connection((host, int(lport)), timeout=10) as s:
            s.sendall(b"hi")
            assert s.recv(10) == b"hi"
        deadline = time.monotonic() + 10
        lines = []
        while time.monotonic() < deadline and not any("closed" in x for x in lines):
            lines.append(proc.stdout.readline())
        assert any(" open " in x for x in lines) and any("closed" in x for x in lines)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "stopped" in out
    finally:
        upstream.kill()


ECHO_SERVER = """
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
def serve(c):
    with c:
        while data := c.recv(65536):
            c.sendall(data)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""
