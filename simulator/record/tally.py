"""What is going on right now, for the live progress display: a running tally of the log.

Pure and incremental: :meth:`Tally.take` sees each event once, as it is logged, so a
long run costs the display nothing that grows with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import events as ev


@dataclass
class Tally:
    """Counts of the moment: connected actors, calls waiting, chats, rings, overruns."""

    connected: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)  # calls placed and not yet ended
    chats: set[tuple[str, str]] = field(default_factory=set)  # (operator, room)
    ringing: set[tuple[str, str]] = field(default_factory=set)  # (call, console)
    overdue: set[tuple[str, str]] = field(default_factory=set)  # ringing past a decision
    calls: int = 0
    messages: int = 0

    def counts(self) -> dict[str, int]:
        """The counts now."""
        return {
            "connected": len(self.connected),
            "calls": self.calls,
            "waiting": len(self.waiting),
            "chats": len(self.chats),
            "ringing": len(self.ringing),
            "overrunning": len(self.overdue),
            "messages": self.messages,
        }

    def take(self, e: ev.Event) -> None:
        """Count one event, as it is logged."""
        if isinstance(e, ev.ConnectionLogged):
            if e.state in ("lost", "left"):
                self.connected.discard(e.actor)
            else:
                self.connected.add(e.actor)
        elif isinstance(e, ev.CallPlaced):
            self.calls += 1
            self.waiting.add(e.call)
        elif isinstance(e, ev.CallEnded):
            self.waiting.discard(e.call)
        elif isinstance(e, ev.RingStart):
            self.ringing.add((e.call, e.operator))
        elif isinstance(e, ev.RingStopLogged):
            self.ringing.discard((e.call, e.operator))
            self.overdue.discard((e.call, e.operator))
        elif isinstance(e, ev.ServerDecision | ev.ClickAccept):
            if (e.call, e.operator) in self.ringing:  # it should stop now
                self.overdue.add((e.call, e.operator))
        elif isinstance(e, ev.RoomJoined) and e.role == "operator":
            self.chats.add((e.actor, e.room))
        elif isinstance(e, ev.RoomLeft):
            self.chats.discard((e.actor, e.room))
        elif isinstance(e, ev.MessageSent):
            self.messages += 1
