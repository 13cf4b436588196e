"""Server -> client: every frame a client of either endpoint receives.

A session's outbox stamps each event with its sequence number ``seq`` (see
:mod:`server.core.outbox`); ``welcome``, ``ping`` and ``pong`` carry none.
"""

from __future__ import annotations

from typing import Literal

from .base import Ping, Pong, Role, Status, WireMessage
from .parts import (
    InvitationInfo,
    OperatorInfo,
    Party,
    RingInfo,
    RoomInfo,
    RoomInviteInfo,
    VisitorInfo,
)


class Welcome(WireMessage, tag="welcome"):
    """First server frame after ``hello``; not sequenced."""

    role: Role
    session: str
    resumed: bool
    last_seq: int
    heartbeat_interval: float
    dead_peer_timeout: float
    session_grace: float
    resume_token: str | None = None
    operator: OperatorInfo | None = None
    visitor_id: str | None = None


class Ok(WireMessage, tag="ok"):
    ref: str
    seq: int = 0
    call: str | None = None
    room: str | None = None
    n: int | None = None
    invitation: str | None = None
    status: Status | None = None


class Error(WireMessage, tag="error"):
    """A refusal. With ``seq``: the session's answer to request ``ref`` (remembered and
    replayed like any event). Without: the frame was not taken (it could not be decoded,
    or the connection or server is over a limit); nothing of it was applied."""

    code: str
    message: str
    ref: str | None = None
    #: seconds to wait before sending the frame again (``rate_limited``, ``server_busy``)
    retry_after: float | None = None
    seq: int = 0


class OperatorSnapshot(WireMessage, tag="snapshot"):
    """The whole state an operator console shows; replaces what the client had."""

    me: OperatorInfo
    operators: list[OperatorInfo]
    visitors: list[VisitorInfo]
    rings: list[RingInfo]
    rooms: list[RoomInfo]
    room_invites: list[RoomInviteInfo]
    invitations: list[str]
    seq: int = 0


class VisitorSnapshot(WireMessage, tag="snapshot"):
    visitor_id: str
    available: bool
    rooms: list[RoomInfo]
    call: str | None = None
    call_state: str | None = None
    #: the call was missed: offer the visitor to leave a message
    leave_message: bool = False
    invitation: InvitationInfo | None = None
    seq: int = 0


class Ring(WireMessage, tag="ring"):
    call: str
    visitor: VisitorInfo
    button: str
    button_name: str
    started_at: float
    seq: int = 0


class RingStop(WireMessage, tag="ring_stop"):
    call: str
    reason: str
    seq: int = 0


class RoomOpened(WireMessage, tag="room_opened"):
    room: RoomInfo
    seq: int = 0


class RoomClosed(WireMessage, tag="room_closed"):
    room: str
    reason: str
    seq: int = 0


class ChatMessage(WireMessage, tag="message", rename={"sender": "from"}):
    room: str
    n: int
    sender: Party
    text: str
    at: float
    seq: int = 0


class TypingEvent(WireMessage, tag="typing", rename={"sender": "from"}):
    room: str
    sender: Party
    on: bool
    seq: int = 0


class ParticipantJoined(WireMessage, tag="participant_joined"):
    room: str
    who: Party
    seq: int = 0


class ParticipantLeft(WireMessage, tag="participant_left"):
    room: str
    who: Party
    reason: str
    seq: int = 0


class RoomInvite(WireMessage, tag="room_invite"):
    invite: RoomInviteInfo
    seq: int = 0


class RoomInviteEnded(WireMessage, tag="room_invite_ended"):
    room: str
    reason: str
    seq: int = 0


class OperatorStatusEvent(WireMessage, tag="operator_status"):
    operator: OperatorInfo
    seq: int = 0


class VisitorArrived(WireMessage, tag="visitor_arrived"):
    visitor: VisitorInfo
    seq: int = 0


class VisitorLeft(WireMessage, tag="visitor_left"):
    visitor: str
    seq: int = 0


class InvitationResult(WireMessage, tag="invitation_result"):
    invitation: str
    visitor: str
    result: Literal["accepted", "declined", "cancelled"]
    seq: int = 0


class Availability(WireMessage, tag="availability"):
    online: bool
    seq: int = 0


class CallStateEvent(WireMessage, tag="call_state"):
    call: str
    state: str
    leave_message: bool
    seq: int = 0


class Invitation(WireMessage, tag="invitation"):
    invitation: InvitationInfo
    seq: int = 0


class InvitationEnded(WireMessage, tag="invitation_ended"):
    invitation: str
    reason: str
    seq: int = 0


SharedEvent = (
    Ok | Error | Ping | Pong | Welcome | ChatMessage | TypingEvent | RoomOpened | RoomClosed
)
OperatorEvent = (
    SharedEvent
    | OperatorSnapshot
    | Ring
    | RingStop
    | ParticipantJoined
    | ParticipantLeft
    | RoomInvite
    | RoomInviteEnded
    | OperatorStatusEvent
    | VisitorArrived
    | VisitorLeft
    | InvitationResult
)
VisitorEvent = (
    SharedEvent
    | VisitorSnapshot
    | ParticipantJoined
    | ParticipantLeft
    | Availability
    | CallStateEvent
    | Invitation
    | InvitationEnded
)
