"""A tiny in-test driver for the sans-I/O hub: a clock, timers and inboxes."""

from __future__ import annotations

import random
from typing import Any

from server import protocol as p
from server.core import (
    Account,
    Button,
    CancelTimer,
    CloseSession,
    Deliver,
    Effect,
    Hub,
    Lifecycle,
    Operator,
    Persist,
    SeededIds,
    Settings,
    StartTimer,
)


class World:
    """Drives a :class:`Hub` the way the adapter does, without I/O."""

    def __init__(self, operators: int = 2, seed: int = 1, **settings: Any) -> None:
        self.hub = Hub(SeededIds(random.Random(seed)))
        self.now = 1_000_000.0
        self.timers: dict[tuple[str, str], float] = {}
        self.inbox: dict[str, list[Any]] = {}
        self.persisted: list[Any] = []
        self.closed: list[CloseSession] = []
        self.logs: list[Lifecycle] = []
        self.hub.load(
            [Account("acc", "Acme", Settings(**settings))],
            [Operator(f"op{i}", "acc", f"op{i}", f"Operator {i}", "x") for i in range(operators)],
            [Button("btn", "acc", "Main")],
        )

    def apply(self, effects: list[Effect]) -> list[Effect]:
        for fx in effects:
            if isinstance(fx, Deliver):
                self.inbox.setdefault(fx.session_id, []).append(fx.message)
            elif isinstance(fx, StartTimer):
                self.timers[fx.key] = fx.at
            elif isinstance(fx, CancelTimer):
                self.timers.pop(fx.key, None)
            elif isinstance(fx, Persist):
                self.persisted.append(fx.record)
            elif isinstance(fx, CloseSession):
                self.closed.append(fx)
            elif isinstance(fx, Lifecycle):
                self.logs.append(fx)
        return effects

    def advance(self, seconds: float) -> None:
        """Move the clock, firing due timers in deadline order."""
        end = self.now + seconds
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= end)
            if not due:
                break
            at, key = due[0]
            del self.timers[key]
            self.now = max(self.now, at)
            self.apply(self.hub.timer(self.now, key))
        self.now = end

    def operator(self, index: int, **hello: Any) -> str:
        session, effects = self.hub.operator_connect(
            self.now, f"op{index}", p.OperatorHello(token="t", **hello)
        )
        self.apply(effects)
        return session.id

    def visitor(
        self, page: str, visitor_id: str | None = None, url: str = "https://shop/", **hello: Any
    ) -> str:
        session, effects = self.hub.visitor_connect(
            self.now,
            p.VisitorHello(
                account="acc",
                button="btn",
                page_instance=page,
                url=url,
                visitor_id=visitor_id,
                **hello,
            ),
        )
        self.apply(effects)
        return session.id

    def do(self, session_id: str, request: Any) -> Any:
        """Send a request; return its ok/error reply."""
        self.apply(self.hub.handle(self.now, session_id, request))
        ref = getattr(request, "id", None)
        replies = [
            m
            for m in self.inbox.get(session_id, [])
            if isinstance(m, p.Ok | p.Error) and m.ref == ref
        ]
        return replies[-1] if replies else None

    def drop(self, session_id: str) -> None:
        self.apply(self.hub.disconnect(self.now, session_id))

    def take(self, session_id: str, kind: type | None = None) -> list[Any]:
        """Remove and return the messages delivered to a session (only those of ``kind``)."""
        inbox = self.inbox.get(session_id, [])
        taken = [m for m in inbox if kind is None or isinstance(m, kind)]
        self.inbox[session_id] = [m for m in inbox if not (kind is None or isinstance(m, kind))]
        return taken

    def ringing(self, session_id: str) -> set[str]:
        """Calls this console rings for now, replaying its whole inbox history."""
        rings: set[str] = set()
        for m in self.inbox.get(session_id, []):
            if isinstance(m, p.OperatorSnapshot):  # replaces what the console knew
                rings = {r.call for r in m.rings}
            elif isinstance(m, p.Ring):
                rings.add(m.call)
            elif isinstance(m, p.RingStop):
                rings.discard(m.call)
        return rings
