"""A client's protocol session without I/O: events in, frames out, the h11/wsproto way.

What ``docs/protocol.md`` asks of every client, kept apart from sockets, tasks and the
clock: the ``hello`` that resumes a session, sequence numbers (a replayed event at or
below the last one processed is dropped), batched acknowledgements, the requests waiting
for their ``ok``/``error``, and what a ``welcome`` means for them. Messages are the
:mod:`server.protocol` structs; encoding and decoding them stays with the caller.

The code around a session owns the connection. For each connection it sends
:meth:`ClientSession.connect`'s hello first, hands every decoded server event to
:meth:`~ClientSession.welcome` (a ``welcome``) or :meth:`~ClientSession.receive` (anything
else) and carries out what comes back, in the documented order; it calls
:meth:`~ClientSession.on_timer` when an acknowledgement falls due. Time is an argument.
Both the virtual actors' :class:`~simulator.play.actors.wire.Wire` and
:class:`simulator.play.client.Client` are such code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import msgspec

from server import protocol as p

#: Acknowledgements are cumulative, so they are batched as the pages batch them: at most
#: ACK_DELAY s after the first unacknowledged event, or at once after ACK_EVERY of them.
ACK_DELAY = 1.0
ACK_EVERY = 32

W = TypeVar("W")  # whatever the caller wakes with a reply: a channel, a future...
Hello = TypeVar("Hello", p.OperatorHello, p.VisitorHello)
Reply = p.Ok | p.Error
#: ``connected``: a first session; ``resumed``: the same session goes on;
#: ``snapshot``: the old session was gone, a new one starts from a snapshot.
WelcomeState = Literal["connected", "resumed", "snapshot"]


class RequestFailed(Exception):
    """A request got no ``ok``: the server answered ``error`` (``error.code`` says why),
    or the session it was sent on is gone (code ``session_lost``)."""

    def __init__(self, error: p.Error) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error

    @property
    def code(self) -> str:
        """The error's code (``illegal_state``, ``session_lost``...)."""
        return self.error.code


def outcome(reply: Reply) -> p.Ok:
    """The ``ok`` a request got; raises :class:`RequestFailed` for an ``error``."""
    if isinstance(reply, p.Error):
        raise RequestFailed(reply)
    return reply


@dataclass(slots=True)
class Step(Generic[W]):
    """What one received event asks of the caller, to be done in this order.

    Write the messages of ``send``; if ``ack_at`` is set, arm a timer that calls
    :meth:`ClientSession.on_timer` then; wake ``reply``'s waiter with its reply; hand
    ``event`` to the application (``None``: a ``ping``, or a replayed duplicate). The
    order matters: a requester woken before the write could act before the application
    has seen the event that answered it.
    """

    event: Any | None = None
    send: list[Any] = field(default_factory=list)
    ack_at: float | None = None
    reply: tuple[W, Reply] | None = None
    #: the event is the ``snapshot`` that follows a ``resumed`` welcome when the events
    #: missed had left the server's replay buffer: the state of now replaces them, and a
    #: room that closed meanwhile is not in it
    resynced: bool = False


@dataclass(slots=True)
class Welcomed(Generic[W]):
    """What a ``welcome`` asks of the caller, to be done in this order.

    Wake each waiter of ``lost`` with its ``session_lost`` error (their session is gone);
    hand the welcome to the application (``state`` says what kind it was); then write
    ``resend``: the requests still unanswered, which the resumed session deduplicates by id.
    """

    state: WelcomeState
    lost: list[tuple[W, p.Error]]
    resend: list[Any]


class ClientSession(Generic[W]):
    """One client's protocol session, across the connections it resumes on.

    ``W`` is the type of the waiters passed to :meth:`request` and handed back with their
    replies. ``ack_every=1`` acknowledges every event at once (no timer is ever armed).
    """

    def __init__(self, *, ack_every: int = ACK_EVERY, ack_delay: float = ACK_DELAY) -> None:
        self.ack_every = ack_every
        self.ack_delay = ack_delay
        self.session_id: str | None = None  # from the last welcome
        self.resume_token: str | None = None  # a visitor's, from a welcome
        self.welcome_event: p.Welcome | None = None
        #: the highest ``seq`` processed in this session: sent on resume, and what
        #: replayed events at or below it are dropped against
        self.last_seq = 0
        self.ack_deadline: float | None = None  # when the armed ack timer falls due
        self._resumed = False  # the last welcome resumed the session, and nothing came yet
        self._unacked = 0  # events processed and not yet acknowledged on this connection
        self._ids = 0
        self._pending: dict[str, tuple[Any, W]] = {}  # request id -> (request, waiter)

    # ------------------------------------------------------------ sending

    def connect(self, hello: Hello) -> Hello:
        """A new connection: the ``hello`` to send first, carrying the session to resume
        (and a visitor's ``resume_token``) once there is one. Acknowledgement batching
        starts over: the resume's ``last_seq`` acknowledges what this one did not."""
        self._unacked, self.ack_deadline = 0, None
        # as the pages do: events queued together may come in one frame (decode_events)
        hello = msgspec.structs.replace(hello, batch=True)
        if self.session_id is None:
            return hello
        hello = msgspec.structs.replace(hello, session=self.session_id, last_seq=self.last_seq)
        if isinstance(hello, p.VisitorHello):
            hello = msgspec.structs.replace(hello, resume_token=self.resume_token)
        return hello

    def next_id(self) -> str:
        """A fresh request id (``r1``, ``r2``...), unique within this client."""
        self._ids += 1
        return f"r{self._ids}"

    def request(self, message: Any, waiter: W) -> Any:
        """Remember ``message`` (its ``id`` set) until its reply, which goes to ``waiter``;
        returns the message to send. Until answered it is sent again on every resume."""
        self._pending[message.id] = (message, waiter)
        return message

    @property
    def pending(self) -> list[Any]:
        """The requests sent and not answered yet, oldest first."""
        return [message for message, _ in self._pending.values()]

    # ------------------------------------------------------------ receiving

    def welcome(self, event: p.Welcome) -> Welcomed[W]:
        """Take the session a ``welcome`` gives. Unless it resumes the one this client
        had, numbering starts again and the requests waiting are lost with it."""
        resumed = event.resumed and event.session == self.session_id
        state: WelcomeState = (
            "resumed" if resumed else "snapshot" if self.session_id is not None else "connected"
        )
        lost: list[tuple[W, p.Error]] = []
        if not resumed:
            self.last_seq = 0
            lost = [
                (waiter, p.Error(code="session_lost", message="", ref=message.id))
                for message, waiter in self._pending.values()
            ]
            self._pending.clear()
        self._resumed = resumed
        self.session_id = event.session
        self.resume_token = event.resume_token or self.resume_token
        self.welcome_event = event
        return Welcomed(state, lost, self.pending)

    def receive(self, event: Any, now: float) -> Step[W]:
        """Process one server event other than ``welcome``, received at ``now``."""
        if isinstance(event, p.Welcome):
            raise TypeError("a welcome goes to ClientSession.welcome()")
        if isinstance(event, p.Ping):
            return Step(send=[p.Pong()])
        step: Step[W] = Step(event=event)
        seq = getattr(event, "seq", None)
        if seq:  # unsequenced frames (errors about frames not taken) carry 0
            if seq <= self.last_seq:
                return Step()  # a replayed duplicate
            # a resumed session gets a snapshot only when its replay would not be whole
            step.resynced = self._resumed and isinstance(
                event, p.OperatorSnapshot | p.VisitorSnapshot
            )
            self._resumed = False  # it comes first, before any live event
            self.last_seq = seq
            self._unacked += 1
            if self._unacked >= self.ack_every:
                step.send.append(self._ack())
            elif self.ack_deadline is None:
                # a flush at ack_every leaves an armed timer as it is: what arrives after
                # the flush is acknowledged when that timer fires
                self.ack_deadline = step.ack_at = now + self.ack_delay
        if isinstance(event, p.Ok | p.Error) and event.ref in self._pending:
            _, waiter = self._pending.pop(event.ref)
            step.reply = (waiter, event)
        return step

    def on_timer(self, now: float) -> list[Any]:
        """The ack timer armed by a :class:`Step` fired at ``now``: the acknowledgement to
        send, if any is still owed (none before the deadline; the timer stays armed)."""
        if self.ack_deadline is None or now < self.ack_deadline:
            return []
        self.ack_deadline = None
        return [self._ack()] if self._unacked else []

    def _ack(self) -> p.Ack:
        self._unacked = 0
        return p.Ack(seq=self.last_seq)
