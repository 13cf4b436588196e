"""Lean protocol clients for the server benchmarks, and a reference server in its own process.

The benchmarks measure the server, so the clients do as little as they can: a minimal
WebSocket over a plain socket (``rawws.py``), ``json`` in C, pings answered and acks batched
as the pages batch them, several events in a frame taken (``hello.batch``), replies paired
with requests, and a hook that sees every event with the time it was read.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, ClassVar

import trio
from rawws import RawWebSocket

from server.core import Operator, Settings, hash_password
from server.demo import ACCOUNT, BUTTON, bootstrap_demo
from server.store import Store

ACK_EVERY = 32
Hook = Callable[["Peer", dict[str, Any], float], None]


class Peer:
    """One connection: operator or visitor page. ``on_event(peer, event, t)`` sees every
    server event as it is read (``t``: ``trio.current_time()``)."""

    #: Ask for batched frames (``hello.batch``), as the pages do; ``server_bench
    #: --unbatched`` turns it off, as a client written from the protocol alone would.
    batch: ClassVar[bool] = True

    def __init__(self, index: int, on_event: Hook) -> None:
        self.index = index
        self.on_event = on_event
        self.ws: RawWebSocket
        self.replies: dict[str, Any] = {}
        self.waiting: dict[str, trio.Event] = {}
        self.ids = 0
        self.unacked = 0
        self.last_seq = 0
        self.welcome: dict[str, Any] = {}
        self.ready = trio.Event()

    async def open(self, nursery: trio.Nursery, url: str, hello: dict[str, Any]) -> None:
        self.ws = await RawWebSocket.connect(url)
        self.ws.send(json.dumps({"type": "hello", "batch": self.batch, **hello}))
        nursery.start_soon(self.ws.run, nursery, self._read)
        await self.ready.wait()

    def _read(self, text: str) -> None:
        t = trio.current_time()
        data = json.loads(text)
        for event in data if isinstance(data, list) else (data,):
            self._event(event, t)

    def _event(self, event: dict[str, Any], t: float) -> None:
        kind = event["type"]
        if kind == "ping":
            self.ws.send('{"type":"pong"}')
            return
        seq = event.get("seq")
        if seq:
            self.last_seq = seq
            self.unacked += 1
            if self.unacked >= ACK_EVERY:
                self.unacked = 0
                self.ws.send(f'{{"type":"ack","seq":{seq}}}')
        if kind == "welcome":
            self.welcome = event
        elif kind == "snapshot":
            self.ready.set()
        ref = event.get("ref")
        if ref in self.waiting:
            self.replies[ref] = event
            self.waiting.pop(ref).set()
        self.on_event(self, event, t)

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a request and wait for its ``ok``; raises on an ``error``."""
        self.ids += 1
        rid = f"r{self.ids}"
        done = self.waiting[rid] = trio.Event()
        self.ws.send(json.dumps({"type": kind, "id": rid, **fields}))
        await done.wait()
        reply = self.replies.pop(rid)
        if reply["type"] == "error":
            raise RuntimeError(f"{kind}: {reply['code']}: {reply['message']}")
        return reply

    async def send(self, text: str) -> None:
        self.send_now(text)

    def send_now(self, text: str) -> None:
        """Send a frame without waiting: the kernel takes it, or it is flushed later."""
        self.ws.send(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare_db(db: str, operators: int, max_chats: int) -> list[str]:
    """A database with the demo account and ``operators`` more operators, each with a login
    token (made here: logging in a thousand operators would cost a thousand scryptions)."""
    store = await Store.open(db, threaded=False)

    async def inline(fn: Callable[[], Any]) -> Any:
        return fn()

    await bootstrap_demo(store, lambda: b"0" * 16, inline, Settings(max_chats=max_chats))
    hashed = hash_password("bench", b"1" * 16)
    tokens = []
    now = time.time()
    for i in range(operators):
        op = Operator(f"op_b{i}", ACCOUNT, f"bench{i}", f"Bench {i}", hashed, False)
        await store.add_operator(op)
        token = f"tok_bench{i}"
        await store.add_token(token, op.id, now, 24 * 3600)
        tokens.append(token)
    await store.close()
    return tokens


#: The benchmarks' server config: abuse limits off (every client is on loopback, and the
#: benchmarks send as fast as they can).
LIMITS_OFF = (
    "[limits]\nframe_rate = 0\nconnections_per_address = 0\nlogin_rate = 0\n"
    "login_failure_rate = 0\n"
)


@contextlib.contextmanager
def server_process(
    db: str, config: str = LIMITS_OFF, log: IO[str] | None = None, tree: str | None = None
) -> Iterator[tuple[str, int]]:
    """``ringlab serve`` on a free loopback port with ``config`` (TOML text), its output to
    ``log`` (default: discarded), until the block ends: (ws url, pid). ``tree``: serve the
    code of that checkout (an earlier commit's worktree) with this venv."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ringlab-bench-") as tmp:
        config_file = Path(tmp) / "bench.toml"
        config_file.write_text(config)
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "simulator.cli", "serve", "--port", str(port)),
                *("--db", db, "--config", str(config_file)),
            ],
            stdout=log or subprocess.DEVNULL,
            stderr=None
            if os.environ.get("RL_DEBUG")
            else (subprocess.STDOUT if log else subprocess.DEVNULL),
            cwd=tree,
            env={**os.environ, "PYTHONPATH": tree} if tree else None,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"ws://127.0.0.1:{port}", proc.pid
        finally:
            proc.terminate()
            proc.wait(30)


def visitor_hello(page: str) -> dict[str, Any]:
    return {"account": ACCOUNT, "button": BUTTON, "page_instance": page, "url": "http://shop/"}


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
