"""``ringlab proxy`` over real loopback sockets, driven by a real Toxiproxy client library."""

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import toxiproxy
import trio

from simulator.network.link import parse
from simulator.network.proxy import open_proxy


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


@contextlib.asynccontextmanager
async def proxied(spec=None):
    """An echo server, ``ringlab proxy`` in front of it (``spec``: its link) and a client of
    its control API, for 30 s at most: (the upstream's address, the proxy, the client)."""
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            upstream = await open_echo(nursery)
            async with (
                open_proxy(upstream, spec) as running,
                httpx.AsyncClient(base_url=running.control_url) as http,
            ):
                yield upstream, running, http
            nursery.cancel_scope.cancel()


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


class ProxyProcess:
    """``ringlab proxy`` as a user runs it: a subprocess, its output read line by line.

    Without ``--listen`` it listens on a free loopback port (with ``--upstream``); the
    control API too unless ``--control`` is given. ``banner`` holds the lines printed
    up to "Ctrl-C stops"; ``address`` is the proxy's, ``control_url`` the API's.
    """

    def __init__(self, *args, profile="lan"):
        args = list(args)
        if "--upstream" in args and "--listen" not in args:
            args += ["--listen", "127.0.0.1:0"]
        if "--control" not in args:
            args += ["--control", "127.0.0.1:0"]
        command = [sys.executable, "-m", "simulator.cli", "proxy", "--profile", profile, *args]
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines = queue.Queue()
        self.errors = []  # stderr, read meanwhile so that the pipe never fills
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr_reader = threading.Thread(target=self._read_errors, daemon=True)
        self.stderr_reader.start()
        self.banner = self.lines_until(lambda line: line.startswith("Ctrl-C stops"), timeout=60)
        self.address = self.control_url = None
        for line in self.banner:
            if line.startswith("proxy "):
                host, port = line.split()[2].rsplit(":", 1)
                self.address = (host, int(port))
            if line.startswith("control API"):
                self.control_url = line.split()[-1]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_errors(self):
        self.errors.extend(self.proc.stderr)

    def lines_until(self, done, timeout=20):
        """Lines printed until one for which ``done`` is true (included)."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"timed out; printed so far: {out}") from None
            if line is None:
                self.proc.wait(timeout=10)
                self.stderr_reader.join(timeout=10)
                raise AssertionError(f"exited {self.proc.returncode}: {out} {self.errors}")
            out.append(line)
            if done(line):
                return out

    def stop(self):
        """Ctrl-C; (stdout lines not read yet, stderr). It must exit 0."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=20)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        self.stderr_reader.join(timeout=10)
        err = "".join(self.errors)
        assert self.proc.returncode == 0, (rest, err)
        return "\n".join(rest), err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def echo_process():
    """An echo server in a subprocess (not in the proxy's process): its port."""
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.communicate(timeout=10)


ECHO_SERVER = """
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
def serve(c):
    with c:
        try:
            while data := c.recv(65536):
                c.sendall(data)
        except OSError:  # a reset client
            pass
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""
