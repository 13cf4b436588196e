"""The server a run plays against: the embedded reference server, or a ``target`` URL.

The embedded server keeps its data in an SQLite file of its own, so a
``server_restart`` fault stops it (open connections get a going-away close),
keeps it down for a while and starts it again on the same port and data, as a
deployment would. A target is a server running elsewhere; the runner only
speaks HTTP and the wire protocol to it.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import trio

from server.app import ServerConfig, create_app
from server.core import Settings
from server.core.ids import SeededIds
from server.limits import Limits
from server.serve import RunningServer, going_away_after, hypercorn_config, serve_reference

from .network import Network
from .scenario import Loaded
from .virtual import VirtualNetwork, serve_virtual

Observer = Callable[[str, dict[str, Any]], None]


class ServerUnderTest:
    """Where the server is, and what the runner may do to it."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def restart(self, down: float) -> None:
        raise NotImplementedError("only the embedded server can be restarted by a run")


class Embedded(ServerUnderTest):
    """The reference server in this process, on a loopback port; restartable."""

    def __init__(self, config: ServerConfig, nursery: trio.Nursery) -> None:
        super().__init__("")
        self.config = config
        self.nursery = nursery
        self.port = 0
        self._stop = trio.Event()
        self._stopped = trio.Event()

    async def start(self) -> None:
        self._stop, self._stopped = trio.Event(), trio.Event()
        self.url = await self.nursery.start(self._serve, self._stop, self._stopped)
        self.port = int(self.url.rsplit(":", 1)[1])

    async def _serve(
        self, stop: trio.Event, stopped: trio.Event, task_status: trio.TaskStatus[str]
    ) -> None:
        try:
            await self._run(stop, task_status)
        finally:
            stopped.set()

    async def _run(self, stop: trio.Event, task_status: trio.TaskStatus[str]) -> None:
        """Hypercorn's trio worker on a loopback socket."""
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(
                partial(
                    serve_reference, self.config, "127.0.0.1", self.port, shutdown_trigger=stop.wait
                )
            )
            task_status.started(running.url)

    async def stop(self) -> None:
        self._stop.set()
        await self._stopped.wait()

    async def restart(self, down: float) -> None:
        """Stop (clients get close 1001), stay down ``down`` seconds, start again."""
        await self.stop()
        await trio.sleep(down)
        await self.start()


class VirtualEmbedded(Embedded):
    """The same server on the virtual network: Hypercorn's TCPServer per connection."""

    HOST = "10.0.0.1"

    def __init__(self, config: ServerConfig, nursery: trio.Nursery, net: VirtualNetwork) -> None:
        super().__init__(config, nursery)
        self.net = net
        self.port = 80

    async def _run(self, stop: trio.Event, task_status: trio.TaskStatus[str]) -> None:
        app = create_app(self.config)
        await serve_virtual(
            app,
            hypercorn_config(self.HOST, self.port),
            self.net,
            self.HOST,
            self.port,
            shutdown_trigger=going_away_after(app.chat, stop.wait),  # type: ignore[attr-defined]
            task_status=task_status,
        )


#: Where the virtual clock's wall time starts: 2027-01-01T00:00:00Z, any fixed date will do.
VIRTUAL_EPOCH = 1_798_761_600.0


def server_config(loaded: Loaded, observe: Observer, db: str, seed: int | None) -> ServerConfig:
    """The embedded server's configuration; with ``seed``, for the virtual clock: time from
    trio's clock, ids and salts from a seeded generator, blocking work in the trio thread."""
    s = loaded.scenario
    settings = Settings(
        ring_timeout=s.server.ring_timeout.seconds,
        max_chats=s.server.max_chats,
        binding=s.server.binding,  # type: ignore[arg-type]
    )
    config = ServerConfig(
        db=db,
        demo_settings=settings,
        observer=observe,
        # every simulated actor comes from one address: per-address limits would refuse
        # the crowd the scenario asks for; the per-connection frame rate stays on
        limits=Limits(connections_per_address=0, login_rate=0),
    )
    if seed is None:
        return config
    rng = random.Random(seed)
    return dataclasses.replace(
        config,
        threaded=False,
        clock=lambda: VIRTUAL_EPOCH + trio.current_time(),
        ids=SeededIds(rng),
        salt=lambda: rng.getrandbits(128).to_bytes(16, "big"),
        password_cost=2**4,  # throwaway passwords; full-cost scrypt was a fifth of a run
    )


@asynccontextmanager
async def open_server_under_test(
    loaded: Loaded,
    observe: Observer,
    net: Network,
    seed: int | None = None,
    db: str | None = None,
) -> AsyncIterator[ServerUnderTest]:
    """The scenario's server: its ``target``, or an embedded one with its settings (on the
    virtual network, seeded with ``seed``, when ``net`` is one), keeping its data in ``db``
    (default: a file in a temporary directory)."""
    s = loaded.scenario
    if s.server.target is not None:
        yield ServerUnderTest(s.server.target.rstrip("/"))
        return
    with tempfile.TemporaryDirectory(prefix="ringlab-") as tmp:
        config = server_config(loaded, observe, db or str(Path(tmp) / "server.db"), seed)
        async with trio.open_nursery() as nursery:
            server = (
                VirtualEmbedded(config, nursery, net)
                if isinstance(net, VirtualNetwork)
                else Embedded(config, nursery)
            )
            await server.start()
            try:
                yield server
            finally:
                await server.stop()


async def prepare(url: str, loaded: Loaded, password: str, net: Network) -> None:
    """Make the scenario's operators (``GROUP-i``) accounts of the server with ``password``,
    through the Control Panel API as its admin; on a target, also apply the scenario's
    server settings."""
    s = loaded.scenario
    async with net.http(url) as http:
        response = await http.post(
            "/api/login", json={"login": s.server.admin_login, "password": s.server.admin_password}
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"{url}: cannot log in as {s.server.admin_login!r} (server.admin_login and "
                f"server.admin_password): {response.status_code} {response.text[:200]}"
            )
        headers = {"Authorization": f"Bearer {response.json()['token']}"}
        if s.server.target is not None:
            patch = {
                "ring_timeout": s.server.ring_timeout.seconds,
                "max_chats": s.server.max_chats,
                "binding": s.server.binding,
            }
            (await http.put("/api/settings", json=patch, headers=headers)).raise_for_status()
        existing: dict[str, str] | None = None
        for group in s.operators:
            for i in range(group.count):
                login = f"{group.name}-{i}"
                response = await http.post(
                    "/api/operators",
                    json={"login": login, "name": f"{group.name} {i}", "password": password},
                    headers=headers,
                )
                if response.status_code == 409:  # left by an earlier run against the target
                    if existing is None:
                        listed = (await http.get("/api/operators", headers=headers)).json()
                        existing = {o["login"]: o["id"] for o in listed}
                    response = await http.post(
                        f"/api/operators/{existing[login]}/password",
                        json={"password": password},
                        headers=headers,
                    )
                response.raise_for_status()
