"""The reference server embedded in the run's process, on loopback or the virtual network."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import trio

from server.app import ServerConfig, create_app
from server.core import Settings
from server.core.ids import SeededIds
from server.limits import Limits
from server.serve import RunningServer, going_away_after, hypercorn_config, serve_reference

from ..network.virtual.hypercorn_worker import serve_virtual
from ..network.virtual.net import VirtualNetwork
from ..scenario import Loaded

#: What the embedded server tells of its lifecycle events (``ServerConfig.observer``).
Observer = Callable[[str, dict[str, Any]], None]


class Embedded:
    """The reference server in this process, on a loopback port; restartable."""

    def __init__(self, config: ServerConfig, nursery: trio.Nursery) -> None:
        self.url = ""
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


def embedded_config(loaded: Loaded, observe: Observer, db: str, seed: int | None) -> ServerConfig:
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
        rng=random.Random(rng.getrandbits(64)),
        password_cost=2**4,  # throwaway passwords; full-cost scrypt was a fifth of a run
    )
