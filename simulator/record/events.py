"""The event log of a run: ground truth, every line timed on the run's one clock.

Actors log what really happened: who each visitor really is, every ring start and
stop on every console, every click, every message sent and received. The
embedded server adds its decisions. Checks and charts are computed afterwards
from this log alone (``events.jsonl``), never while recording.

``t`` is seconds since the run started, on the clock every actor and the
embedded server share. Under the virtual clock it is exact.

A kind whose name a protocol message or a server class also bears is named ``...Logged``
(:class:`RingStopLogged` beside the ``ring_stop`` message the server sends): the log
says what an actor saw. Each kind's tag (``kind`` in ``events.jsonl``) is its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec


class Event(msgspec.Struct, tag_field="kind", omit_defaults=True, gc=False):
    """One logged fact at ``t`` (seconds since the start). Plain data, never in a reference
    cycle, so not tracked by the garbage collector (``gc=False``): a long run logs millions
    of them, and each full collection walked them all, every timer of the run as late
    as the pass was long."""

    t: float


# ---------------------------------------------------------------- who is who


class ActorInfo(Event, tag="actor"):
    """Who an actor is: ``actor`` is the id the other events use (an operator's server id,
    a visitor's true identity), ``name`` its name in the scenario (``agents[0]``).
    ``floor_up`` / ``floor_down`` are its link's configured one-way latency in seconds:
    what a frame cannot beat on average."""

    actor: str
    name: str
    role: str  # operator | visitor
    group: str
    link: str
    floor_up: float = 0.0
    floor_down: float = 0.0


# ---------------------------------------------------------------- consoles


class RingStart(Event, tag="ring_start"):
    """A console started ringing for a call."""

    operator: str
    call: str


class RingStopLogged(Event, tag="ring_stop"):
    """A console stopped ringing; ``reason`` is the server's, or ``click`` (optimistic/X)."""

    operator: str
    call: str
    reason: str


class ClickAccept(Event, tag="click_accept"):
    operator: str
    call: str


class ClickDecline(Event, tag="click_decline"):
    operator: str
    call: str


class AcceptResult(Event, tag="accept_result"):
    """The answer to an accept: won the call (``room``) or lost it."""

    operator: str
    call: str
    won: bool
    room: str | None = None


# ---------------------------------------------------------------- the server's side


class ServerReceived(Event, tag="server_received"):
    """The server read an operator's ``accept`` frame off the connection."""

    call: str
    operator: str


class ServerConflict(Event, tag="server_conflict"):
    """The server reported one visitor id presented by two page instances."""

    visitor_id: str
    first_page: str
    page: str
    binding: str


class ServerDecision(Event, tag="server_decision"):
    """When the server decided a ring must stop at a console (accept, hang-up, timeout...)."""

    call: str
    operator: str
    reason: str


# ---------------------------------------------------------------- visitors and rooms


class VisitorArrivedLogged(Event, tag="visitor_arrived"):
    """A visitor's page connected. ``actor`` is who it really is; ``visitor_id`` what the
    server knows it as (two actors with one id is a merge in the making)."""

    actor: str
    page: str
    visitor_id: str
    intended: float  # when the open-loop timetable said it should arrive


class CallPlaced(Event, tag="call_placed"):
    actor: str
    call: str


class CallEnded(Event, tag="call_ended"):
    """How a visitor's call ended: ``accepted``, ``missed`` or ``abandoned``."""

    actor: str
    call: str
    outcome: str


class RoomJoined(Event, tag="room_joined"):
    """An actor (visitor or operator) is in a room and sees its history."""

    actor: str
    room: str
    role: str


class RoomLeft(Event, tag="room_left"):
    """An actor is out of a room: it closed it, left, or was told the room closed."""

    actor: str
    room: str
    reason: str


class MessageSent(Event, tag="message_sent"):
    actor: str
    room: str
    mid: str  # unique per message, carried in its text


class MessageReceived(Event, tag="message_received"):
    actor: str
    room: str
    mid: str
    n: int


class ConnectionLogged(Event, tag="connection"):
    """An actor's connection changed: ``connected`` (a first session), ``lost``,
    ``resumed`` (same session, missed events replayed), ``resynced`` (after ``resumed``:
    the events missed had left the server's replay buffer, so a snapshot of now came
    instead), ``snapshot`` (a new session after the old one was gone, with the whole state
    sent again), ``left`` (a visitor's page unloaded). ``code``: the close code the
    server sent, for ``lost`` (1001: going away); 0 when the connection broke without one."""

    actor: str
    state: str
    code: int = 0


class Frame(Event, tag="frame"):
    """A protocol frame an actor sent (``out``) or received (``in``): its ``type``, its
    request ``id`` or the ``ref`` it answers, and its ``seq``. Text is not kept. An
    operator's ``hello`` is logged under its scenario name: its id comes with the reply."""

    actor: str
    dir: str
    type: str
    id: str = ""
    seq: int = 0


class InvitationSentLogged(Event, tag="invitation_sent"):
    """An operator invited a visitor on the site to chat (a proactive invitation)."""

    operator: str
    invitation: str
    visitor_id: str


class InvitationAnswered(Event, tag="invitation_answered"):
    """A visitor answered an invitation its page showed."""

    actor: str
    invitation: str
    accepted: bool


class ColleagueInvited(Event, tag="colleague_invited"):
    """An operator invited another operator into one of its rooms."""

    operator: str
    room: str
    invited: str


class FaultApplied(Event, tag="fault"):
    """The runner applied a fault of the scenario's timeline."""

    action: str
    target: str
    actors: int  # how many actors it hit (0 for the server)


# ---------------------------------------------------------------- the links


class LinkStall(Event, tag="link_stall"):
    """A segment of an actor's link held for retransmission timeouts (packet loss).

    ``t`` is when the segment entered the link; it left ``seconds`` later than it
    would have without the loss, after ``retransmissions`` timeouts.
    """

    actor: str
    dir: str  # up (towards the server) | down
    seconds: float
    retransmissions: int = 1


class LinkDown(Event, tag="link_down"):
    """An actor's path was down from ``t`` for ``seconds``: nothing passed either way,
    new connections included (their SYNs went unanswered)."""

    actor: str
    seconds: float
    cause: str  # fault (a [[faults]] outage or reset) | link (the link's own outages)


AnyEvent = (
    ActorInfo
    | RingStart
    | RingStopLogged
    | ClickAccept
    | ClickDecline
    | AcceptResult
    | ServerReceived
    | ServerConflict
    | ServerDecision
    | VisitorArrivedLogged
    | CallPlaced
    | CallEnded
    | RoomJoined
    | RoomLeft
    | InvitationSentLogged
    | InvitationAnswered
    | ColleagueInvited
    | MessageSent
    | MessageReceived
    | ConnectionLogged
    | Frame
    | FaultApplied
    | LinkStall
    | LinkDown
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyEvent)


def encode_line(event: Event, into: bytearray) -> None:
    """Append ``event`` to ``into`` as one line of JSON."""
    _encoder.encode_into(event, into, -1)
    into += b"\n"


def decode_lines(data: bytes) -> list[AnyEvent]:
    """The events of whole lines of JSON."""
    return _decoder.decode_lines(data)


def write(path: Path, events: Iterable[Event]) -> None:
    """Write one JSON object a line, in time order (ties keep their logged order)."""
    out = bytearray()
    with path.open("wb") as f:
        for event in sorted(events, key=lambda e: e.t):
            encode_line(event, out)
            if len(out) >= 1 << 20:
                f.write(out)
                out.clear()
        f.write(out)


def read(path: Path) -> Iterator[AnyEvent]:
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                yield _decoder.decode(line)
