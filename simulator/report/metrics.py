"""Checks: pure functions from an event log to metrics and expectation verdicts.

Nothing here reads a clock or a socket. Every metric is defined in
``docs/metrics.md``; names are dotted so scenario files can expect them
(``"ring_stop.others.p95" = "< 2s"``).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..record.events import (
    AcceptResult,
    ActorInfo,
    CallEnded,
    CallPlaced,
    ClickAccept,
    ColleagueInvited,
    ConnectionLogged,
    Event,
    InvitationAnswered,
    InvitationSentLogged,
    RingStart,
    RingStopLogged,
    RoomJoined,
    ServerConflict,
    ServerDecision,
    ServerReceived,
    VisitorArrivedLogged,
)
from ..scenario import Expectation
from .deliveries import deliveries

Metrics = dict[str, float | None]


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: always a value that was measured; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def summarize(prefix: str, values: Sequence[float]) -> Metrics:
    """``prefix.count``, ``.p50``, ``.p95``, ``.p99``, ``.max`` and ``.mean``."""
    return {
        f"{prefix}.count": float(len(values)),
        f"{prefix}.p50": percentile(values, 50),
        f"{prefix}.p95": percentile(values, 95),
        f"{prefix}.p99": percentile(values, 99),
        f"{prefix}.max": max(values) if values else None,
        f"{prefix}.mean": sum(values) / len(values) if values else None,
    }


@dataclass(frozen=True, slots=True)
class RingStopSample:
    """The ring-stop latency of one (call, operator), and where the time went.

    ``uplink`` (click to the server reading the accept), ``server`` (reading it to
    deciding) and ``downlink`` (deciding to the console stopping) add up to the
    latency when the console waited for the server; an optimistic console stops at
    the click, so there is nothing to split (all three are None). For ``other``
    consoles the whole latency is downlink. ``floor`` is the link's configured
    one-way latency on the path the stop had to take: what it cannot beat on average.
    """

    call: str
    operator: str
    role: str  # acceptor | other
    should_stop: float  # the click (acceptor) or the server's decision (others)
    stopped: float
    reason: str
    uplink: float | None = None
    server: float | None = None
    downlink: float | None = None
    floor: float = 0.0

    @property
    def latency(self) -> float:
        return self.stopped - self.should_stop


def actors(events: Iterable[Event]) -> dict[str, ActorInfo]:
    """Who is who: the id the events use -> the actor's description."""
    return {e.actor: e for e in events if isinstance(e, ActorInfo)}


def ring_stops(events: Sequence[Event]) -> list[RingStopSample]:
    """Ring-stop latency per (call, operator), as ``docs/metrics.md`` defines it.

    A console offered the call only after it was taken (a late offer: it was away and
    got the ring and its stop together) never rang when it should have stopped, so it
    gives no sample; :func:`late_offers` counts it.
    """
    clicks: dict[tuple[str, str], float] = {}
    winners: set[tuple[str, str]] = set()
    decisions: dict[tuple[str, str], float] = {}
    received: dict[tuple[str, str], float] = {}
    starts: dict[tuple[str, str], float] = {}
    stops: dict[tuple[str, str], RingStopLogged] = {}
    for e in events:
        if isinstance(e, ClickAccept):
            clicks.setdefault((e.call, e.operator), e.t)
        elif isinstance(e, AcceptResult) and e.won:
            winners.add((e.call, e.operator))
        elif isinstance(e, ServerReceived):
            received.setdefault((e.call, e.operator), e.t)
        elif isinstance(e, ServerDecision):
            decisions.setdefault((e.call, e.operator), e.t)
        elif isinstance(e, RingStart):
            starts.setdefault((e.call, e.operator), e.t)
        elif isinstance(e, RingStopLogged):
            stops.setdefault((e.call, e.operator), e)
    who = actors(events)
    samples = []
    for key, stop in stops.items():
        info = who.get(key[1])
        up, down = (info.floor_up, info.floor_down) if info else (0.0, 0.0)
        if key in winners and key in clicks:
            click, got, decided = clicks[key], received.get(key), decisions.get(key)
            sample = RingStopSample(*key, "acceptor", click, stop.t, stop.reason, floor=up + down)
            if got is not None and decided is not None and stop.t >= decided:
                sample = dataclasses.replace(
                    sample, uplink=got - click, server=decided - got, downlink=stop.t - decided
                )
            samples.append(sample)
        elif key in decisions and key not in winners and starts.get(key, -1.0) < decisions[key]:
            decided = decisions[key]
            samples.append(
                RingStopSample(
                    *key, "other", decided, stop.t, stop.reason, 0.0, 0.0, stop.t - decided, down
                )
            )
    return sorted(samples, key=lambda s: (s.should_stop, s.call, s.operator))


def ring_intervals(events: Iterable[Event]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """When each console rang, per (call, operator): (start, stop) pairs. A stop with no
    ring open closes nothing; a ring still open at the end is left out."""
    open_at: dict[tuple[str, str], float] = {}
    out: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        if isinstance(e, RingStart):
            open_at.setdefault((e.call, e.operator), e.t)
        elif isinstance(e, RingStopLogged) and (e.call, e.operator) in open_at:
            out[(e.call, e.operator)].append((open_at.pop((e.call, e.operator)), e.t))
    return dict(out)


def _taken(events: Sequence[Event]) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """Per accepted call: the winning click, when the server took the call (its decision
    for the winner; the winner's answer against a target, which logs no decisions), the
    winner."""
    clicks = {(e.call, e.operator): e.t for e in events if isinstance(e, ClickAccept)}
    decisions = {(e.call, e.operator): e.t for e in events if isinstance(e, ServerDecision)}
    click: dict[str, float] = {}
    taken: dict[str, float] = {}
    winner: dict[str, str] = {}
    for e in events:
        if isinstance(e, AcceptResult) and e.won and e.call not in winner:
            winner[e.call] = e.operator
            click[e.call] = clicks.get((e.call, e.operator), e.t)
            taken[e.call] = decisions.get((e.call, e.operator), e.t)
    return click, taken, winner


def ring_overruns(events: Sequence[Event]) -> dict[str, float]:
    """Per accepted call: how long after the winning Accept click any console actually
    rang, ``max(0, stop - max(click, ring start))`` over its rings (0 when every ring had
    stopped by the click)."""
    click, _, _ = _taken(events)
    overrun = dict.fromkeys(click, 0.0)
    for (call, _), rings in ring_intervals(events).items():
        if call in click:
            for start, stop in rings:
                overrun[call] = max(overrun[call], stop - max(click[call], start))
    return overrun


def late_offers(events: Sequence[Event]) -> list[tuple[str, str]]:
    """(call, operator): rings that reached a console only after the call was taken,
    as when a console away (an outage) gets the ring and its stop together on return."""
    _, taken, winner = _taken(events)
    return sorted(
        {
            (e.call, e.operator)
            for e in events
            if isinstance(e, RingStart)
            and e.call in taken
            and e.operator != winner[e.call]
            and e.t >= taken[e.call]
        }
    )


@dataclass(frozen=True, slots=True)
class CallRow:
    """One visitor call, for the report's per-call table."""

    call: str
    visitor: str
    placed: float
    outcome: str  # accepted | missed | abandoned | open (the run ended first)
    consoles: int  # consoles it rang at
    answered_by: str | None
    time_to_answer: float | None
    overrun: float | None


def calls(events: Sequence[Event]) -> list[CallRow]:
    """Every call placed, in order: how it ended, who answered, how long it rang on."""
    rang: dict[str, set[str]] = defaultdict(set)
    ended: dict[str, str] = {}
    won: dict[str, tuple[str, float]] = {}
    for e in events:
        if isinstance(e, RingStart):
            rang[e.call].add(e.operator)
        elif isinstance(e, CallEnded):
            ended.setdefault(e.call, e.outcome)
        elif isinstance(e, AcceptResult) and e.won:
            won.setdefault(e.call, (e.operator, e.t))
    overruns = ring_overruns(events)
    rows = []
    for e in events:
        if isinstance(e, CallPlaced):
            winner = won.get(e.call)
            rows.append(
                CallRow(
                    e.call,
                    e.actor,
                    e.t,
                    ended.get(e.call, "open"),
                    len(rang[e.call]),
                    winner[0] if winner else None,
                    winner[1] - e.t if winner else None,
                    overruns.get(e.call),
                )
            )
    return sorted(rows, key=lambda r: (r.placed, r.call))


def rings_never_stopped(events: Iterable[Event]) -> list[tuple[str, str]]:
    """(call, operator) pairs whose console started ringing and never stopped."""
    ringing: Counter[tuple[str, str]] = Counter()
    for e in events:
        if isinstance(e, RingStart):
            ringing[(e.call, e.operator)] += 1
        elif isinstance(e, RingStopLogged):
            ringing[(e.call, e.operator)] = 0
    return sorted(k for k, n in ringing.items() if n)


def merges(events: Iterable[Event]) -> dict[str, set[str]]:
    """Rooms that held more than one real visitor: room -> the visitors (true identities)."""
    visitors: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if isinstance(e, RoomJoined) and e.role == "visitor":
            visitors[e.room].add(e.actor)
    return {room: who for room, who in visitors.items() if len(who) > 1}


def unreported_merges(events: Sequence[Event]) -> set[str]:
    """Merged visitors (true identities) that no conflict the server reported names."""
    pages: dict[str, str] = {e.page: e.actor for e in events if isinstance(e, VisitorArrivedLogged)}
    reported = {
        pages[page]
        for e in events
        if isinstance(e, ServerConflict)
        for page in (e.first_page, e.page)
        if page in pages
    }
    merged = set().union(*merges(events).values())
    return merged - reported


def metrics(events: Sequence[Event]) -> Metrics:
    """Every metric of a run, by dotted name."""
    samples = ring_stops(events)
    out: Metrics = {}
    out |= summarize("ring_stop.acceptor", [s.latency for s in samples if s.role == "acceptor"])
    out |= summarize("ring_stop.others", [s.latency for s in samples if s.role == "other"])
    out |= summarize("ring_overrun", list(ring_overruns(events).values()))
    out["rings_never_stopped"] = float(len(rings_never_stopped(events)))
    out["late_offers"] = float(len(late_offers(events)))
    merged = merges(events)
    out["merged_rooms"] = float(len(merged))
    # real visitors, each once: one in two merged rooms (a pinned code on two chats) is
    # still one visitor
    out["merged_visitors"] = float(len(set().union(*merged.values())))
    out["conflicts.reported"] = float(sum(isinstance(e, ServerConflict) for e in events))
    out["merged_visitors.unreported"] = float(len(unreported_merges(events)))
    d = deliveries(events)
    out |= {
        "messages.expected": float(d.expected),
        "lost_messages": float(d.lost),
        "duplicated_messages": float(d.duplicated),
        "reordered_messages": float(d.reordered),
        "messages.gone_with_session": float(d.gone_with_session),
        "messages.unreachable": float(d.unreachable),
        "messages.past_replay": float(d.past_replay),
    }
    wins = Counter(e.call for e in events if isinstance(e, AcceptResult) and e.won)
    out["double_accepts"] = float(sum(1 for n in wins.values() if n > 1))
    placed = {e.call: e.t for e in events if isinstance(e, CallPlaced)}
    outcomes = Counter(e.outcome for e in events if isinstance(e, CallEnded))
    out["calls.placed"] = float(len(placed))
    for outcome in ("accepted", "missed", "abandoned"):
        out[f"calls.{outcome}"] = float(outcomes[outcome])
    answered = {
        e.call: e.t for e in events if isinstance(e, AcceptResult) and e.won and e.call in placed
    }
    out |= summarize("time_to_answer", [t - placed[c] for c, t in answered.items()])
    states = Counter(e.state for e in events if isinstance(e, ConnectionLogged))
    out["reconnects"] = float(states["lost"])
    out["resumes"] = float(states["resumed"])
    out["snapshots"] = float(states["snapshot"])
    out["resyncs"] = float(states["resynced"])
    answers = Counter(e.accepted for e in events if isinstance(e, InvitationAnswered))
    out["invitations.sent"] = float(sum(isinstance(e, InvitationSentLogged) for e in events))
    out["invitations.accepted"] = float(answers[True])
    out["invitations.declined"] = float(answers[False])
    invited = {(e.room, e.invited) for e in events if isinstance(e, ColleagueInvited)}
    joined = {(e.room, e.actor) for e in events if isinstance(e, RoomJoined)}
    out["colleague_invites.sent"] = float(len(invited))
    out["colleague_invites.joined"] = float(len(invited & joined))
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    expectation: Expectation
    value: float | None
    passed: bool


def verdicts(expectations: Iterable[Expectation], values: Metrics) -> list[Verdict]:
    """Each expectation against the run's metrics; an unknown or empty metric fails."""
    return [Verdict(x, values.get(x.metric), x.holds(values.get(x.metric))) for x in expectations]
