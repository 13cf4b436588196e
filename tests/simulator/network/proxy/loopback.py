"""``ringlab proxy`` over real loopback sockets, for the proxy's tests: echo servers (in
this process or in one of their own), the proxy in front of one in-process with a client of
its control API, round trips through it, and the proxy as a user runs it (a subprocess)."""

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time

import httpx
import trio

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
