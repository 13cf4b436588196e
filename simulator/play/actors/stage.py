"""What every actor of a run shares: the clock, the log, the server, the links, ids."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from server import protocol as p

from ... import scenario
from ...network.link import LinkSpec
from ...network.link.path import Path
from ...network.stack import Network
from ...record import events as ev
from ..client import login
from .wire import Wire

_MID = re.compile(r"^\[(m-[0-9a-z-]+)\]")


@dataclass
class Stage:
    """One run's shared context. ``t0`` is the trio time the run started."""

    url: str
    t0: float
    seed: int
    log: Callable[[ev.Event], None]
    link_for: Callable[[str], LinkSpec]
    precise: bool  # real clock: precise link timers
    server: scenario.Server  # account and button of the visitors' code
    net: Network  # how actors reach the server
    #: the scenario changes links while it runs (outage, degrade, restore, reset faults):
    #: then every connection is wrapped in a link, even one with nothing to emulate
    link_faults: bool = False
    closing: bool = False  # the run is over: start nothing new
    _mids: int = 0

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def now(self) -> float:
        """Seconds since the run started, on the run's clock."""
        return trio.current_time() - self.t0

    async def sleep_until(self, t: float) -> None:
        await trio.sleep_until(self.t0 + t)

    def seed_for(self, actor: str) -> int:
        """A seed per actor from the scenario seed, stable across runs and processes."""
        return self.derive(self.seed, actor)

    @staticmethod
    def derive(seed: int, name: str) -> int:
        """A seed for ``name`` from the scenario seed (no ``hash()``: PYTHONHASHSEED varies)."""
        digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    async def login(self, name: str, password: str) -> str:
        """An operator's HTTP login, as the console's login form does; its token."""
        result = await login(self.url, name, password, client=self.net.http)
        return str(result["token"])

    def next_mid(self) -> str:
        self._mids += 1
        return f"m-{self._mids}"

    @staticmethod
    def mid_of(text: str) -> str | None:
        """The message id a virtual actor put at the start of its text."""
        match = _MID.match(text)
        return match[1] if match else None

    def introduce(
        self,
        actor: str,
        name: str,
        role: str,
        group: scenario.OperatorGroup | scenario.VisitorGroup,
    ) -> None:
        """Log who an actor is, with its link's floor (``ActorInfo``)."""
        spec = self.link_for(group.link)
        self.log(
            ev.ActorInfo(
                t=self.now(),
                actor=actor,
                name=name,
                role=role,
                group=group.name,
                link=group.link,
                floor_up=spec.up.latency,
                floor_down=spec.down.latency,
            )
        )

    def path(self, name: str, link: str) -> ActorPath:
        """An actor's path to the server over ``link``, for all of its connections; what
        happens on it (outages, retransmission stalls) is logged for the actor."""
        log = ActorPath(self, name)
        log.path = Path(
            self.link_for(link),
            self.derive(self.seed, f"{name}:path"),
            on_down=log.down,
            faults=self.link_faults,
        )
        return log

    def wire(
        self,
        role: p.Role,
        actor: Callable[[], str],
        hello: Callable[[], Any],
        path: ActorPath,
        rng: random.Random,
        on_event: Callable[[Any], None],
    ) -> Wire:
        """An actor's session over its path, its connection changes and frames logged for
        ``actor()`` (an operator's id is known only once the server has welcomed it)."""
        return Wire(
            self.ws_url,
            role,
            hello,
            path.path,
            rng,
            on_event,
            lambda state, code: self.log(
                ev.ConnectionLogged(t=self.now(), actor=actor(), state=state, code=code)
            ),
            precise=self.precise,
            bare_when_clean=not self.link_faults,
            connect=self.net.connect,
            on_frame=self._frame_logger(actor),
            on_stall=path.stall,
        )

    def _frame_logger(self, actor: Callable[[], str]) -> Callable[[str, Any], None]:
        """What a wire calls for every frame: logs it for ``actor()``."""

        def log(direction: str, message: Any) -> None:
            self.log(
                ev.Frame(
                    t=self.now(),
                    actor=actor(),
                    dir=direction,
                    type=type(message).__struct_config__.tag,
                    id=getattr(message, "id", None) or getattr(message, "ref", None) or "",
                    seq=getattr(message, "seq", 0) or 0,
                )
            )

        return log

    @staticmethod
    def first_sight(seen: set[tuple[str, int]], message: p.ChatMessage | p.MessageItem) -> bool:
        """Whether to count a message as received, as the pages show it: a room's history
        (a snapshot after a reconnect) adds only what is new; a live message always counts,
        so a duplicate the server sends is still seen."""
        key = (message.room, message.n)
        new = key not in seen
        seen.add(key)
        return new or isinstance(message, p.ChatMessage)

    async def say(self, wire: Wire, actor: str, room: str) -> None:
        """Send one chat message carrying a fresh id; log it as sent once the server took it.

        A message the server refuses (the room closed meanwhile) was never sent, so it
        cannot be lost; the sender was told. ``t`` is still the moment it was written.
        """
        if self.closing:
            return
        mid = self.next_mid()
        t = self.now()
        await wire.request(p.Send(id="", room=room, text=f"[{mid}] hello from {actor}"))
        self.log(ev.MessageSent(t=t, actor=actor, room=room, mid=mid))


class ActorPath:
    """An actor's :class:`Path` and the log of what happens on it.

    An operator's events name the id the server gives it, known only at its first
    welcome; what happens on the path before that (the link's first outage windows are
    drawn at the first connect) waits until :meth:`identify`.
    """

    path: Path

    def __init__(self, stage: Stage, actor: str) -> None:
        self.stage = stage
        self.actor: str | None = actor
        self._waiting: list[Callable[[str], ev.Event]] = []

    def identify(self, actor: str) -> None:
        """The actor's id from now on; what waited for it is logged."""
        self.actor = actor
        for make in self._waiting:
            self.stage.log(make(actor))
        self._waiting.clear()

    def unknown(self) -> None:
        """Hold what happens until :meth:`identify` (an operator before its welcome)."""
        self.actor = None

    def _log(self, make: Callable[[str], ev.Event]) -> None:
        if self.actor is None:
            self._waiting.append(make)
        else:
            self.stage.log(make(self.actor))

    def down(self, start: float, seconds: float, cause: str) -> None:
        t = start - self.stage.t0
        self._log(lambda actor: ev.LinkDown(t=t, actor=actor, seconds=seconds, cause=cause))

    def stall(self, direction: str, sent: float, seconds: float, retries: int) -> None:
        t = sent - self.stage.t0
        self._log(
            lambda actor: ev.LinkStall(
                t=t, actor=actor, dir=direction, seconds=seconds, retransmissions=retries
            )
        )
