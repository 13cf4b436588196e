"""What the browser tests share besides their fixtures (conftest.py): how long they wait,
Debian's Chromium and its flags, the reference server in a thread of its own, and the
server's lifecycle events as it carries them out.

Playwright's Python API runs on asyncio (its sync API hides that), and the server
runs on trio, so the server gets a thread with its own trio loop and the tests
drive the browser with the sync API.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from server.app import ServerConfig
from server.protocol import SESSION_GRACE
from server.serve import RunningServer, open_server

if TYPE_CHECKING:
    from playwright.sync_api import Page

T = TypeVar("T")

# How long the browser tests wait, derived from what they wait for (milliseconds).
#: Something that must happen "at once", not when a session's grace period ends: well
#: inside the grace, so that waiting out the grace could never pass for it.
AT_ONCE = SESSION_GRACE * 1000 / 3
#: A page reconnecting after its connection broke: client.js retries with a backoff of at
#: most 10 s, +20 % jitter; then hello, welcome and a snapshot or replay.
RECONNECT = 10_000 * 1.2 + 5_000
#: A tab that explains itself ("taken", "ended while you were reconnecting") goes by itself
#: after REMOVE_AFTER (4 s) in consoletabs.js.
REMOVED = 4_000 + 4_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextmanager
def in_trio_thread(open_cm: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """Enter an async context manager in a background thread's trio loop; yield its value."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = trio.Event()
        box["token"], box["stop"] = trio.lowlevel.current_trio_token(), stop
        async with open_cm() as value:
            box["value"] = value
            started.set()
            await stop.wait()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    assert started.wait(30), "did not start"
    try:
        yield box["value"]
    finally:
        trio.from_thread.run_sync(box["stop"].set, trio_token=box["token"])
        thread.join(10)


def running_server(config: ServerConfig | None = None) -> AbstractContextManager[RunningServer]:
    """A reference server on a free loopback port, served from a background thread."""
    return in_trio_thread(lambda: open_server(config))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Restartable:
    """A reference server on a fixed port with a database file, which the test stops and
    starts again (a restart): the URL stays, so the pages reconnect to the new process."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: AbstractContextManager[RunningServer] | None = None

    def start(self) -> None:
        config = ServerConfig(db=str(self.db))
        self._running = in_trio_thread(lambda: open_server(config, port=self.port))
        self._running.__enter__()

    def stop(self) -> None:
        """Shut down as in production: every WebSocket is closed with 1001 first."""
        running, self._running = self._running, None
        if running is not None:
            running.__exit__(None, None, None)


class Observed:
    """The server's lifecycle events as it carries them out (``ServerConfig.observer``,
    called on the server's thread): ``ring_started``, ``ring_stopped``, ``frame_received``..."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, fields: dict[str, Any]) -> None:
        self.events.append((name, fields))  # list.append is atomic: no lock needed

    def named(
        self, name: str, where: Callable[[dict[str, Any]], bool] | None = None, **match: Any
    ) -> list[dict[str, Any]]:
        """The events called `name` whose fields have the `match` values (and pass `where`)."""
        return [
            fields
            for event, fields in list(self.events)
            if event == name
            and all(fields.get(k) == v for k, v in match.items())
            and (where is None or where(fields))
        ]

    def wait_for(
        self,
        page: Page,
        name: str,
        timeout: float,
        count: int = 1,
        where: Callable[[dict[str, Any]], bool] | None = None,
        **match: Any,
    ) -> list[dict[str, Any]]:
        """At least `count` such events, waiting at most `timeout` ms (the page runs on)."""
        deadline = time.monotonic() + timeout / 1000
        while len(found := self.named(name, where, **match)) < count:
            assert time.monotonic() < deadline, f"{len(found)} {name} {match} in {timeout:.0f} ms"
            page.wait_for_timeout(50)
        return found
