"""The lifecycle events the core reports: one small class per kind.

Each is an effect (:class:`Lifecycle`) the adapter carries out last: a JSON log line
``{"event": name, **fields}``, the metrics, and the embedded server's observer (the
simulator's window on the server). The names and fields are an interface (operators'
log pipelines, ``docs/protocol.md``, Observability): a field's place in its class is its
place in the log line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .machines import CallState, InvitationState


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A call, room, invitation, presence or session event for logs and metrics."""

    #: The event's name in the log line (``"event"``) and for the observer.
    name: ClassVar[str]

    def fields(self) -> dict[str, Any]:
        """The log line's fields after ``event``, in order."""
        names = _NAMES.get(type(self))
        if names is None:  # dataclasses.fields() reflects anew at every call: once a class
            names = _NAMES[type(self)] = tuple(f.name for f in dataclasses.fields(self))
        return {name: getattr(self, name) for name in names}


#: Each event class's field names, in order (a ring fan-out makes a thousand events at once).
_NAMES: dict[type[Lifecycle], tuple[str, ...]] = {}


# ------------------------------------------------------------------ calls


@dataclass(frozen=True, slots=True)
class CallRinging(Lifecycle):
    """A visitor placed a call; it rings at every eligible console."""

    name = "call_ringing"
    call: str
    account: str
    visitor: str
    button: str


@dataclass(frozen=True, slots=True)
class RingStarted(Lifecycle):
    """A call starts ringing at one operator's consoles."""

    name = "ring_started"
    call: str
    operator: str


@dataclass(frozen=True, slots=True)
class RingStopped(Lifecycle):
    """A call stops ringing at one operator's consoles, after ``duration`` seconds."""

    name = "ring_stopped"
    call: str
    operator: str
    reason: str
    duration: float


@dataclass(frozen=True, slots=True)
class CallAccepted(Lifecycle):
    """The first accept won; the visitor waited ``wait`` seconds."""

    name = "call_accepted"
    call: str
    operator: str
    room: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallUnanswered(Lifecycle):
    """A ringing call ended without an answer (see the two kinds below)."""

    call: str
    account: str
    reason: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallMissed(CallUnanswered):
    """Every console declined, or the ring timeout passed."""

    name = "call_missed"


@dataclass(frozen=True, slots=True)
class CallAbandoned(CallUnanswered):
    """The visitor hung up or left before an answer."""

    name = "call_abandoned"


#: The event of a call that ended unanswered, by the state it ended in.
UNANSWERED: Mapping[CallState, type[CallUnanswered]] = {
    CallState.MISSED: CallMissed,
    CallState.ABANDONED: CallAbandoned,
}

# ------------------------------------------------------------------ rooms


@dataclass(frozen=True, slots=True)
class RoomOpened(Lifecycle):
    """A room opened for a visitor and its first operator, from a call or an invitation."""

    name = "room_opened"
    room: str
    account: str
    visitor: str
    operator: str
    call: str | None
    invitation: str | None


@dataclass(frozen=True, slots=True)
class OperatorJoinedRoom(Lifecycle):
    """An invited operator joined a room."""

    name = "operator_joined_room"
    room: str
    operator: str


@dataclass(frozen=True, slots=True)
class OperatorLeftRoom(Lifecycle):
    """An operator left a room that others stay in."""

    name = "operator_left_room"
    room: str
    operator: str
    reason: str


@dataclass(frozen=True, slots=True)
class RoomClosed(Lifecycle):
    """A room ended for everyone, after ``duration`` seconds and ``messages`` messages."""

    name = "room_closed"
    room: str
    account: str
    reason: str
    messages: int
    duration: float


# ------------------------------------------------------------------ invitations


@dataclass(frozen=True, slots=True)
class InvitationSent(Lifecycle):
    """An operator invited a visitor on the site to chat."""

    name = "invitation_sent"
    invitation: str
    operator: str
    visitor: str


@dataclass(frozen=True, slots=True)
class InvitationEnded(Lifecycle):
    """An invitation ended (see the three kinds below)."""

    invitation: str


@dataclass(frozen=True, slots=True)
class InvitationAccepted(InvitationEnded):
    """The visitor accepted: a room opens."""

    name = "invitation_accepted"


@dataclass(frozen=True, slots=True)
class InvitationDeclined(InvitationEnded):
    """The visitor declined."""

    name = "invitation_declined"


@dataclass(frozen=True, slots=True)
class InvitationCancelled(InvitationEnded):
    """The operator withdrew it, or either side left."""

    name = "invitation_cancelled"


#: The event of an ended invitation, by the state it ended in.
INVITATION_ENDED: Mapping[InvitationState, type[InvitationEnded]] = {
    InvitationState.ACCEPTED: InvitationAccepted,
    InvitationState.DECLINED: InvitationDeclined,
    InvitationState.CANCELLED: InvitationCancelled,
}

# ------------------------------------------------------------------ presence


@dataclass(frozen=True, slots=True)
class OperatorOnline(Lifecycle):
    """An operator's first console is there."""

    name = "operator_online"
    operator: str
    status: str


@dataclass(frozen=True, slots=True)
class OperatorOffline(Lifecycle):
    """An operator's last console is gone, or said ``bye`` (``leaving``: its session waits
    out its grace period)."""

    name = "operator_offline"
    operator: str
    leaving: bool = False

    def fields(self) -> dict[str, Any]:
        # the log line names ``leaving`` only when it is true, as it always did
        if self.leaving:
            return {"operator": self.operator, "leaving": True}
        return {"operator": self.operator}


@dataclass(frozen=True, slots=True)
class OperatorStatus(Lifecycle):
    """An operator set its status (online, away)."""

    name = "operator_status"
    operator: str
    status: str


@dataclass(frozen=True, slots=True)
class VisitorArrived(Lifecycle):
    """A new visitor is on the site."""

    name = "visitor_arrived"
    account: str
    visitor: str


@dataclass(frozen=True, slots=True)
class VisitorLeft(Lifecycle):
    """A visitor's last page is gone."""

    name = "visitor_left"
    account: str
    visitor: str


@dataclass(frozen=True, slots=True)
class OfflineMessageLeft(Lifecycle):
    """A visitor left a message for when nobody answered."""

    name = "offline_message"
    account: str
    visitor: str


# ------------------------------------------------------------------ sessions


@dataclass(frozen=True, slots=True)
class PageChanged(Lifecycle):
    """A resumed page instance shows another page of the site."""

    name = "page_changed"
    account: str
    visitor: str
    url: str


@dataclass(frozen=True, slots=True)
class VisitorIdConflict(Lifecycle):
    """Two page instances at once presented the same visitor id; ``assigned`` is the id
    the second one got (the binding decides)."""

    name = "visitor_id_conflict"
    account: str
    visitor: str
    first_page: str
    second_page: str
    first_page_instance: str
    page_instance: str
    binding: str
    assigned: str


@dataclass(frozen=True, slots=True)
class SessionResumed(Lifecycle):
    """A session reattached: ``replayed`` frames sent again, or -1 for a fresh snapshot."""

    name = "session_resumed"
    session: str
    role: str
    replayed: int
