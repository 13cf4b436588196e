"""What the core asks its adapter to do, and the collector that gathers it.

The adapter executes a batch in this order: every :class:`Persist` in one
transaction, then :class:`Deliver` and :class:`CloseSession` in order, then
timers, then the lifecycle events (:mod:`server.core.lifecycle`). So nothing is
shown to anybody before it is stored, and a sender's ``ok`` implies its message
is on disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .lifecycle import Lifecycle

if TYPE_CHECKING:
    from .state import State

TimerKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Deliver:
    """Send an already sequenced (or unsequenced) message to one session."""

    session_id: str
    message: Any


@dataclass(frozen=True, slots=True)
class CloseSession:
    """Close the session's connection (if any) with a WebSocket close code."""

    session_id: str
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Persist:
    """Store (insert or update) one record."""

    record: Any


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Call ``Hub.timer(key)`` at Unix time ``at`` (replacing a timer of that key)."""

    key: TimerKey
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: TimerKey


Effect = Deliver | CloseSession | Persist | StartTimer | CancelTimer | Lifecycle


@dataclass(slots=True)
class Ctx:
    """One step of the hub: the time it happens at and the effects it produces."""

    state: State
    now: float
    effects: list[Effect] = field(default_factory=list)
    dirty_operators: set[str] = field(default_factory=set)
    dirty_accounts: set[str] = field(default_factory=set)
    #: sessions whose snapshot follows later in this step: it carries what they would be
    #: sent meanwhile (a console's rings), so it is not sent twice
    muted: set[str] = field(default_factory=set)

    def send(self, session_id: str, message: Any) -> Any:
        """Sequence ``message`` on the session's outbox and deliver it."""
        if session_id in self.muted:
            return message
        session = self.state.sessions[session_id]
        stamped = session.outbox.push(message)
        self.effects.append(Deliver(session_id, stamped))
        return stamped

    def send_many(self, session_ids: Iterable[str], message: Any) -> None:
        for sid in session_ids:
            self.send(sid, message)

    def to_operator(self, operator_id: str, message: Any) -> None:
        self.send_many(sorted(self.state.operators[operator_id].sessions), message)

    def to_visitor(self, account_id: str, visitor_id: str, message: Any) -> None:
        visitor = self.state.visitors.get((account_id, visitor_id))
        if visitor is not None:
            self.send_many(sorted(p.session_id for p in visitor.pages.values()), message)

    def to_account_operators(self, account_id: str, message: Any, *, skip: str = "") -> None:
        for op in self.state.account_operators(account_id):
            if op.operator.id != skip:
                self.to_operator(op.operator.id, message)

    def persist(self, record: Any) -> None:
        self.effects.append(Persist(record))

    def timer(self, key: TimerKey, at: float) -> None:
        self.effects.append(StartTimer(key, at))

    def cancel(self, key: TimerKey) -> None:
        self.effects.append(CancelTimer(key))

    def log(self, event: Lifecycle) -> None:
        """Report a lifecycle event (:mod:`server.core.lifecycle`)."""
        self.effects.append(event)
