"""Entities of the core: what the server knows and keeps.

Plain mutable dataclasses (messages: plain structs the collector does not track). Account
data (accounts, operators, buttons) comes from the store; the rest is the live state the
hub changes in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from .. import protocol as p
from .machines import CallState, InvitationState, RoomState
from .outbox import Outbox


class Binding(StrEnum):
    """What a second concurrent page instance presenting a known visitor id gets."""

    LEGACY = "legacy"  # joins that visitor and its room: the merge fault
    STRICT = "strict"  # gets a fresh visitor id and its own room


@dataclass(slots=True)
class Settings:
    """Per-account settings; seconds for times."""

    ring_timeout: float = 120.0
    max_chats: int = 5
    binding: Binding = Binding.LEGACY

    def __post_init__(self) -> None:
        self.binding = Binding(self.binding)


@dataclass(frozen=True, slots=True)
class Timings:
    """The protocol's timings, in seconds: one owner for the server (its heartbeat, its
    grace timers) and for what ``welcome`` tells clients."""

    heartbeat_interval: float = p.HEARTBEAT_INTERVAL
    dead_peer_timeout: float = p.DEAD_PEER_TIMEOUT
    session_grace: float = p.SESSION_GRACE


@dataclass(slots=True)
class Account:
    id: str
    name: str
    settings: Settings = field(default_factory=Settings)


@dataclass(slots=True)
class Operator:
    id: str
    account_id: str
    login: str
    name: str
    password_hash: str
    is_admin: bool = False


@dataclass(slots=True)
class Button:
    id: str
    account_id: str
    name: str


@dataclass(slots=True)
class Session:
    """A client's logical session; it outlives a connection by the grace period."""

    id: str
    role: str  # "operator" | "visitor"
    account_id: str
    owner: str  # operator id, or page-instance id for visitors
    resume_token: str
    #: what the session was opened with (an operator's login token, hashed): a logout
    #: ends every session opened with it, connected or in its grace period
    credential: str | None = None
    outbox: Outbox = field(default_factory=Outbox)
    connected: bool = True
    # request id -> the reply sent, so a resent request is answered, not re-applied
    replies: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class OperatorPresence:
    operator: Operator
    status: str = "online"  # chosen by the operator: online | away
    sessions: set[str] = field(default_factory=set)
    #: sessions whose console said ``bye``: they wait out their grace period (a reload
    #: comes back to its chats) but no longer count as present (no rings, shown offline)
    leaving: set[str] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)

    @property
    def present(self) -> bool:
        """A console of this operator is there: a session that has not said ``bye``."""
        return bool(self.sessions - self.leaving)

    @property
    def shown_status(self) -> str:
        """online / away as chosen, or offline when no console is present."""
        return self.status if self.present else "offline"


@dataclass(slots=True)
class PageInstance:
    id: str
    visitor_id: str
    session_id: str
    button_id: str
    url: str
    title: str
    referrer: str
    arrived_at: float
    last_seen: float


@dataclass(slots=True)
class Visitor:
    """A visitor id on the site; in legacy binding it may hold several people."""

    id: str
    account_id: str
    arrived_at: float
    pages: dict[str, PageInstance] = field(default_factory=dict)
    call_id: str | None = None
    room_ids: set[str] = field(default_factory=set)
    invitation_id: str | None = None


@dataclass(slots=True)
class Call:
    id: str
    account_id: str
    button_id: str
    visitor_id: str
    page_instance_id: str
    created_at: float
    state: CallState = CallState.RINGING
    ringing: dict[str, float] = field(default_factory=dict)  # operator id -> ring start
    declined: set[str] = field(default_factory=set)
    accepted_by: str | None = None
    accepted_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    room_id: str | None = None


class Message(msgspec.Struct, gc=False):
    """A chat message of an open room. Kept for the room's life (its history, its numbers),
    so a busy server holds many: untracked by the garbage collector (plain data, never in a
    cycle), they are not walked by every collection. As dataclasses they made the middle
    generation's passes long enough to show in delivery latency under load
    (bench/RESULTS.md)."""

    room_id: str
    n: int
    role: str
    sender_id: str
    sender_name: str
    text: str
    at: float
    #: the ``id`` of the ``send`` that made it: the same send again, from a new session
    #: (after a server restart), is recognised and not stored twice
    request_id: str | None = None


@dataclass(slots=True)
class Room:
    id: str
    account_id: str
    visitor_id: str
    opened_at: float
    call_id: str | None = None
    invitation_id: str | None = None
    state: RoomState = RoomState.OPEN
    operators: list[str] = field(default_factory=list)
    invited: dict[str, str] = field(default_factory=dict)  # invitee -> inviter
    messages: list[Message] = field(default_factory=list)
    closed_at: float | None = None
    close_reason: str | None = None
    #: (sender, request id, text) -> the message's number: a resent ``send`` is found in
    #: one lookup (a scan of the room's messages made a busy room's sends quadratic)
    requests: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add_message(self, msg: Message) -> None:
        """Append ``msg`` (numbered ``len(messages) + 1``) and index its request."""
        self.messages.append(msg)
        if msg.request_id is not None:
            self.requests[(msg.sender_id, msg.request_id, msg.text)] = msg.n


@dataclass(slots=True)
class Membership:
    """An operator's time in a room (for transcripts)."""

    room_id: str
    operator_id: str
    joined_at: float
    left_at: float | None = None


@dataclass(slots=True)
class Invitation:
    id: str
    account_id: str
    operator_id: str
    visitor_id: str
    text: str
    created_at: float
    state: InvitationState = InvitationState.PENDING
    ended_at: float | None = None
    room_id: str | None = None


@dataclass(slots=True)
class Conflict:
    """Two concurrent page instances presented one visitor id: a likely bad button code."""

    id: str
    account_id: str
    visitor_id: str
    first_page_instance: str
    second_page_instance: str
    first_url: str
    second_url: str
    binding: Binding
    assigned_visitor_id: str
    at: float


@dataclass(slots=True)
class OfflineMessage:
    id: str
    account_id: str
    visitor_id: str
    name: str
    email: str
    text: str
    at: float
    call_id: str | None = None
