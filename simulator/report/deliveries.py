"""Delivery accounting: every chat message owed to someone, and what became of it.

``docs/metrics.md`` (Messages) defines the counts; :func:`simulator.report.metrics.metrics`
reports them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..record.events import (
    ConnectionLogged,
    Event,
    MessageReceived,
    MessageSent,
    RoomJoined,
    RoomLeft,
)

#: the connection states that put an actor in touch with the server again
BACK = frozenset({"connected", "resumed", "snapshot"})
#: the close codes of a ``lost`` connection whose link broke: none (0), the client's own
#: "abnormal closure" (1006), the server's heartbeat giving up on a silent peer (4408)
CUT = frozenset({0, 1006, 4408})
#: ``room_left`` reasons that are not the server's word that the room closed: an operator's
#: own click (logged as it clicks, before the server acts on it) and an operator leaving a
#: room that goes on with the others (``you_left``)
NOT_CLOSED = frozenset({"closed", "you_left"})
#: ``room_left`` reasons that are not an event the server sent in the room's order: the
#: click, and a page's inference from a snapshot without the room (``gone``)
NOT_HEARD = frozenset({"closed", "gone"})


@dataclass(frozen=True, slots=True)
class Delivery:
    lost: int
    duplicated: int
    reordered: int
    expected: int
    gone_with_session: int = 0  # owed to someone whose session expired before it arrived
    unreachable: int = 0  # owed to someone out of reach from the send on, for good
    past_replay: int = 0  # owed to someone whose next resume was past the replay buffer


def resynced_after(states: Sequence[ConnectionLogged], sent: float) -> float | None:
    """When an actor got a snapshot instead of the events it missed, if that was how it
    first came back after a message was sent at ``sent``: a resume past the server's replay
    buffer (``resumed`` then ``resynced``). A room still open is in that snapshot with its
    history (docs/protocol.md, Reconnect and resume); one closed by then is not. A first
    return that was not a resync counts as a replay, even one lost again before anything
    came (it may have replayed): the strict reading, which never excuses a delivery the
    server owed."""
    after = [e for e in states if e.t >= sent and e.state != "left"]
    back = next((i for i, e in enumerate(after) if e.state in BACK), None)
    if back is None or back + 1 >= len(after) or after[back].state != "resumed":
        return None
    return after[back + 1].t if after[back + 1].state == "resynced" else None


def unreachable(states: Sequence[ConnectionLogged], sent: float) -> bool:
    """Whether an actor owed a message sent at ``sent`` was out of the server's reach from
    then on: it never connected again after the send (its last ``connected``, ``resumed``
    or ``snapshot`` came before it), and since that last connection its link broke
    (``lost`` without a close from the server, or closed by the server's heartbeat after
    silence: :data:`CUT`), before the send or after it with the message on its way. Its
    presence ended so: it left the site (``left``) still disconnected, or the run ended
    while it was (the runner's goodbye to the visitors still on the site is a ``left``
    too). No server could deliver to it; one that came back was owed the message
    (replayed on resume, in the room's history on a new page), one still connected was
    owed it, and one the server itself closed otherwise (1008 slow consumer, 1011, 1001)
    lost it to the server.

    :func:`deliveries` also counts it lost when the actor got a later message of the room,
    or heard the room close: delivery is in order, so that one was skipped, not on its way.
    The blind spot left: a server that failed to deliver to a live connection that then
    broke for good before anything else of the room came is counted here, not as lost."""
    back = max((i for i, e in enumerate(states) if e.state in BACK), default=-1)
    if back >= 0 and states[back].t >= sent:
        return False
    return any(e.state == "lost" and e.code in CUT for e in states[back + 1 :])


def deliveries(events: Sequence[Event]) -> Delivery:
    """Every message sent must reach, exactly once and in order, everyone in the room
    when it was sent (the sender included: the server echoes it)."""
    joined: dict[str, dict[str, float]] = defaultdict(dict)  # room -> actor -> first join
    for e in events:
        if isinstance(e, RoomJoined):
            joined[e.room].setdefault(e.actor, e.t)
    got: Counter[tuple[str, str]] = Counter()  # (actor, mid)
    order: dict[tuple[str, str], list[int]] = defaultdict(list)  # (actor, room) -> n seen
    for e in events:
        if isinstance(e, MessageReceived):
            got[(e.actor, e.mid)] += 1
            order[(e.actor, e.room)].append(e.n)
    states: dict[str, list[ConnectionLogged]] = defaultdict(list)
    for e in events:
        if isinstance(e, ConnectionLogged):
            states[e.actor].append(e)
    for changes in states.values():
        changes.sort(key=lambda e: e.t)  # stable: ties keep their logged order
    # when each actor came back with a new session (its old one had expired)
    renewed = {a: [e.t for e in changes if e.state == "snapshot"] for a, changes in states.items()}
    sent: dict[str, list[MessageSent]] = defaultdict(list)  # room -> its messages, in order
    closed_at: dict[str, float] = {}  # room -> when someone first heard it had closed
    heard_close: set[tuple[str, str]] = set()  # (actor, room): the server said it closed
    for e in events:
        if isinstance(e, MessageSent):
            sent[e.room].append(e)
        elif isinstance(e, RoomLeft):
            if e.reason not in NOT_CLOSED:
                closed_at.setdefault(e.room, e.t)
            if e.reason not in NOT_HEARD:
                heard_close.add((e.actor, e.room))

    def skipped(actor: str, e: MessageSent) -> bool:
        # it got one sent after e, or the room's end: delivery is in order (a message is
        # taken only while its room is open), so e was not on its way
        return (actor, e.room) in heard_close or any(
            got[(actor, later.mid)] for later in sent[e.room] if later.t > e.t
        )

    def past_replay(actor: str, e: MessageSent) -> bool:
        # its resume was a snapshot, and the room had closed by then: not in it
        t = resynced_after(states[actor], e.t)
        return t is not None and closed_at.get(e.room, t + 1) <= t

    lost = duplicated = expected = gone = away = past = 0
    for e in events:
        if isinstance(e, MessageSent):
            for actor, since in joined[e.room].items():
                if since <= e.t:
                    expected += 1
                    n = got[(actor, e.mid)]
                    if n == 0 and any(t > e.t for t in renewed.get(actor, ())):
                        gone += 1  # its session, and its place in the room, expired first
                    elif n == 0 and past_replay(actor, e) and not skipped(actor, e):
                        past += 1  # the resume that owed it was a snapshot: the room had closed
                    elif n == 0 and unreachable(states[actor], e.t) and not skipped(actor, e):
                        away += 1  # out of reach from the send on, and it never came back
                    else:
                        lost += n == 0
                    duplicated += max(0, n - 1)
    reordered = sum(sum(1 for a, b in pairwise(seen) if b < a) for seen in order.values())
    return Delivery(lost, duplicated, reordered, expected, gone, away, past)
