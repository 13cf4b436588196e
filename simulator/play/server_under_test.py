"""The server a run plays against: the embedded reference server, or a ``target`` URL.

The embedded server keeps its data in an SQLite file of its own, so a
``server_restart`` fault stops it (open connections get a going-away close),
keeps it down for a while and starts it again on the same port and data, as a
deployment would. A target is a server running elsewhere; the runner only
speaks HTTP and the wire protocol to it.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import trio

from ..network.stack import Network
from ..network.virtual.net import VirtualNetwork
from ..scenario import Loaded

if TYPE_CHECKING:
    from .embedded import Observer


class ServerUnderTest(Protocol):
    """Where the server is, and what the runner may do to it."""

    url: str

    async def restart(self, down: float) -> None:
        """Stop, stay down ``down`` seconds, start again."""
        ...


class Target:
    """A server running elsewhere: the runner can reach it, not restart it."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def restart(self, down: float) -> None:
        raise NotImplementedError("only the embedded server can be restarted by a run")


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
        yield Target(s.server.target.rstrip("/"))
        return
    # the server's code (Quart, Hypercorn) is loaded only when it runs here: a run against
    # a target is a lighter process (load generators are judged by their memory)
    from .embedded import Embedded, VirtualEmbedded, embedded_config

    with tempfile.TemporaryDirectory(prefix="ringlab-") as tmp:
        config = embedded_config(loaded, observe, db or str(Path(tmp) / "server.db"), seed)
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


class TargetRefused(Exception):
    """The server under test answered, but not as a ringlab server lets a run start (the
    scenario's admin login was refused)."""


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
            raise TargetRefused(
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
