"""``ringlab proxy`` over real loopback sockets, driven by a real Toxiproxy client library."""

import socket

import pytest
import toxiproxy
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
    async with proxied() as (_, running, http):
        stream = await connect(running.proxy.listen)
        await round_trip(stream, b"x" * 1000)
        (conn,) = (await http.get("/ringlab/connections")).json()
        assert conn["statistics"]["up"]["bytes"] == 1000
        assert conn["statistics"]["down"]["bytes"] == 1000
        cut = await http.post(f"/ringlab/connections/{conn['id']}/cut", json={"duration": 700})
        assert cut.json() == {"cut": 1}
        assert await round_trip(stream) >= 0.6
        bad = await http.post("/ringlab/proxies/ringlab/cut", json={"duration": "long"})
        assert bad.status_code == 400 and "duration" in bad.json()["error"]
        missing = await http.post("/ringlab/connections/999/cut", json={"duration": 1})
        assert missing.status_code == 404
        await stream.aclose()


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
    with echo_process() as port, ProxyProcess("--upstream", f"127.0.0.1:{port}") as proc:
        assert "-> 127.0.0.1:" in proc.banner[0] and "lan" in proc.banner[0]
        with socket.create_connection(proc.address, timeout=10) as s:
            s.sendall(b"hi")
            assert s.recv(10) == b"hi"
        lines = proc.lines_until(lambda line: "closed" in line)
        assert any(" open " in x for x in lines) and "closed" in lines[-1]
        out, err = proc.stop()
        assert "stopped" in out and err == ""
