"""Client -> server: the frames the ``/ws/operator`` and ``/ws/visitor`` endpoints accept."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .base import Id, Ping, Pong, Seq, Text, WireMessage
from .limits import MAX_PAGE_CHARS, MAX_TEXT_CHARS


class Ack(WireMessage, tag="ack"):
    """Everything up to and including ``seq`` was received."""

    seq: Seq


class Send(WireMessage, tag="send"):
    id: Id
    room: Id
    text: Text


class Typing(WireMessage, tag="typing"):
    room: Id
    on: bool


class Close(WireMessage, tag="close"):
    id: Id
    room: Id


class OperatorHello(WireMessage, tag="hello"):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    session: Id | None = None
    last_seq: Seq | None = None
    batch: bool = False


class SetStatus(WireMessage, tag="set_status"):
    id: Id
    status: Literal["online", "away"]


class Accept(WireMessage, tag="accept"):
    id: Id
    call: Id


class Decline(WireMessage, tag="decline"):
    id: Id
    call: Id


class InviteVisitor(WireMessage, tag="invite_visitor"):
    id: Id
    visitor: Id
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)] = ""


class CancelInvitation(WireMessage, tag="cancel_invitation"):
    id: Id
    invitation: Id


class InviteOperator(WireMessage, tag="invite_operator"):
    id: Id
    room: Id
    operator: Id


class Join(WireMessage, tag="join"):
    id: Id
    room: Id


class DeclineJoin(WireMessage, tag="decline_join"):
    id: Id
    room: Id


class VisitorHello(WireMessage, tag="hello"):
    account: Id
    button: Id
    page_instance: Id
    url: str
    title: str = ""
    referrer: str = ""
    visitor_id: Id | None = None
    session: Id | None = None
    resume_token: Id | None = None
    last_seq: Seq | None = None
    batch: bool = False

    def __post_init__(self) -> None:
        # a page's address is not the visitor's fault: cut it rather than refuse the chat
        self.url = self.url[:MAX_PAGE_CHARS]
        self.title = self.title[:MAX_PAGE_CHARS]
        self.referrer = self.referrer[:MAX_PAGE_CHARS]


class PlaceCall(WireMessage, tag="call"):
    id: Id


class Hangup(WireMessage, tag="hangup"):
    id: Id
    call: Id


class InvitationReply(WireMessage, tag="invitation_reply"):
    id: Id
    invitation: Id
    accept: bool


class LeaveMessage(WireMessage, tag="leave_message"):
    id: Id
    name: Annotated[str, msgspec.Meta(max_length=200)]
    email: Annotated[str, msgspec.Meta(max_length=200)]
    text: Text


class Bye(WireMessage, tag="bye"):
    """Leaving on purpose: the session ends now instead of after the grace period (a
    visitor's page or an operator's console being closed)."""


OperatorRequest = (
    SetStatus
    | Accept
    | Decline
    | Send
    | Typing
    | Close
    | InviteVisitor
    | CancelInvitation
    | InviteOperator
    | Join
    | DeclineJoin
    | Bye
)
VisitorRequest = PlaceCall | Hangup | Send | Typing | Close | InvitationReply | LeaveMessage | Bye
OperatorInbound = OperatorHello | Ack | Ping | Pong | OperatorRequest
VisitorInbound = VisitorHello | Ack | Ping | Pong | VisitorRequest
