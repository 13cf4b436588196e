"""One pass over a run's event log, indexed for the report's explanations and charts.

A long run logs millions of events; the report reads them once here and every
explanation afterwards looks things up (per actor, sorted by time, with bisect)
instead of scanning the log again per call.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..record import events as ev

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

#: A window (start, stop); stop None: still open when the run ended.
Window = tuple[float, float | None]


class Spans(Generic[T]):
    """Time spans of one actor (stalls, outages), sorted by start, found by overlap."""

    def __init__(self, items: Iterable[tuple[float, float, T]]) -> None:
        ordered = sorted(items, key=lambda item: item[0])
        self.starts = [start for start, _, _ in ordered]
        self.items = ordered
        # the longest span bounds how far before a window a span overlapping it can start
        self.longest = max((length for _, length, _ in ordered), default=0.0)

    def __len__(self) -> int:
        return len(self.items)

    def overlapping(self, start: float, stop: float) -> list[tuple[float, float, T]]:
        """The spans that overlap [start, stop], in time order."""
        first = bisect_left(self.starts, start - self.longest)
        last = bisect_right(self.starts, stop)
        return [s for s in self.items[first:last] if s[0] + s[1] >= start]


def pair(changes: Iterable[tuple[K, float, bool]]) -> dict[K, list[Window]]:
    """Opening and closing changes, in log order, paired per key into windows.

    A key opened while already open stays as it was (a console offered a call again on
    reconnect), and a close with nothing open closes nothing (a stop replayed with it):
    counting them as +1 and -1 left consoles "ringing" to the end of the run.
    """
    out: dict[K, list[Window]] = defaultdict(list)
    open_at: dict[K, float] = {}
    for key, t, opens in changes:
        if opens:
            open_at.setdefault(key, t)
        elif key in open_at:
            out[key].append((open_at.pop(key), t))
    for key, t in open_at.items():
        out[key].append((t, None))
    return dict(out)


@dataclass
class Index:
    """What the report looks up, built in one pass over the log (:meth:`of`)."""

    who: dict[str, ev.ActorInfo] = field(default_factory=dict)
    placed: dict[str, tuple[float, str]] = field(default_factory=dict)  # call -> (t, visitor)
    outcome: dict[str, str] = field(default_factory=dict)
    rings: dict[tuple[str, str], list[Window]] = field(default_factory=dict)  # (call, op)
    consoles: dict[str, list[str]] = field(default_factory=dict)  # call -> ops, first ring first
    clicks: dict[tuple[str, str], float] = field(default_factory=dict)
    winner: dict[str, tuple[str, float]] = field(default_factory=dict)  # call -> (op, result t)
    call_room: dict[str, str] = field(default_factory=dict)  # call -> the winner's room
    received: dict[tuple[str, str], float] = field(default_factory=dict)
    decided: dict[tuple[str, str], float] = field(default_factory=dict)
    stalls: dict[str, Spans[tuple[str, int]]] = field(default_factory=dict)  # (dir, retrans)
    downs: dict[str, Spans[str]] = field(default_factory=dict)  # cause
    faults: list[ev.FaultApplied] = field(default_factory=list)
    connections: dict[str, list[ev.ConnectionLogged]] = field(default_factory=dict)
    arrivals: list[ev.VisitorArrivedLogged] = field(default_factory=list)
    visitor_rooms: dict[str, list[str]] = field(default_factory=dict)  # room -> visitors
    conflicts: list[ev.ServerConflict] = field(default_factory=list)
    calls_open: dict[str, list[Window]] = field(default_factory=dict)
    chats_open: dict[tuple[str, str], list[Window]] = field(default_factory=dict)
    end: float = 0.0  # the last event's time

    @classmethod
    def of(cls, events: Sequence[ev.Event]) -> Index:
        """Index a run's events (in log order, as written)."""
        index = cls()
        rings: list[tuple[tuple[str, str], float, bool]] = []
        calls: list[tuple[str, float, bool]] = []
        chats: list[tuple[tuple[str, str], float, bool]] = []
        stalls: dict[str, list[tuple[float, float, tuple[str, int]]]] = defaultdict(list)
        downs: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
        connections: dict[str, list[ev.ConnectionLogged]] = defaultdict(list)
        consoles: dict[str, dict[str, None]] = defaultdict(dict)  # ordered sets
        rooms: dict[str, dict[str, None]] = defaultdict(dict)
        for e in events:
            index.end = max(index.end, e.t)
            if isinstance(e, ev.RingStart):
                rings.append(((e.call, e.operator), e.t, True))
                consoles[e.call].setdefault(e.operator)
            elif isinstance(e, ev.RingStopLogged):
                rings.append(((e.call, e.operator), e.t, False))
            elif isinstance(e, ev.LinkStall):
                stalls[e.actor].append((e.t, e.seconds, (e.dir, e.retransmissions)))
            elif isinstance(e, ev.Frame | ev.MessageReceived | ev.MessageSent):
                continue  # the bulk of a log, and nothing the explanations use
            elif isinstance(e, ev.ActorInfo):
                index.who[e.actor] = e
            elif isinstance(e, ev.CallPlaced):
                index.placed.setdefault(e.call, (e.t, e.actor))
                calls.append((e.call, e.t, True))
            elif isinstance(e, ev.CallEnded):
                index.outcome.setdefault(e.call, e.outcome)
                calls.append((e.call, e.t, False))
            elif isinstance(e, ev.ClickAccept):
                index.clicks.setdefault((e.call, e.operator), e.t)
            elif isinstance(e, ev.AcceptResult) and e.won:
                index.winner.setdefault(e.call, (e.operator, e.t))
                if e.room:
                    index.call_room.setdefault(e.call, e.room)
            elif isinstance(e, ev.ServerReceived):
                index.received.setdefault((e.call, e.operator), e.t)
            elif isinstance(e, ev.ServerDecision):
                index.decided.setdefault((e.call, e.operator), e.t)
            elif isinstance(e, ev.LinkDown):
                downs[e.actor].append((e.t, e.seconds, e.cause))
            elif isinstance(e, ev.FaultApplied):
                index.faults.append(e)
            elif isinstance(e, ev.ConnectionLogged):
                connections[e.actor].append(e)
            elif isinstance(e, ev.VisitorArrivedLogged):
                index.arrivals.append(e)
            elif isinstance(e, ev.RoomJoined):
                if e.role == "visitor":
                    rooms[e.room].setdefault(e.actor)
                elif e.role == "operator":
                    chats.append(((e.room, e.actor), e.t, True))
            elif isinstance(e, ev.RoomLeft):
                chats.append(((e.room, e.actor), e.t, False))  # closes only what opened
            elif isinstance(e, ev.ServerConflict):
                index.conflicts.append(e)
        index.rings = pair(rings)
        index.calls_open = pair(calls)
        index.chats_open = pair(chats)
        index.consoles = {call: list(ops) for call, ops in consoles.items()}
        index.visitor_rooms = {room: list(who) for room, who in rooms.items()}
        index.stalls = {actor: Spans(items) for actor, items in stalls.items()}
        index.downs = {actor: Spans(items) for actor, items in downs.items()}
        index.connections = {
            actor: sorted(items, key=lambda c: c.t) for actor, items in connections.items()
        }
        index.faults.sort(key=lambda f: f.t)
        return index

    def name(self, actor: str) -> str:
        """An actor's name in the scenario (``ops[0]``), or its id when the log has none."""
        info = self.who.get(actor)
        return info.name if info else actor

    def floor(self, actor: str, path: str = "both") -> float:
        """The configured one-way latency of an actor's link: up, down or both added."""
        info = self.who.get(actor)
        if info is None:
            return 0.0
        return {"up": info.floor_up, "down": info.floor_down}.get(
            path, info.floor_up + info.floor_down
        )
