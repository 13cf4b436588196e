"""The wire protocol: every message, typed and validated, in one place.

JSON text frames over WebSocket at ``/ws/operator`` and ``/ws/visitor``; the
reference is ``docs/protocol.md``. Every message is an object whose ``type``
field names it. Client requests that want an answer carry a client ``id``;
the answer (``ok`` or ``error``) echoes it as ``ref``. Server events carry a
per-session sequence number ``seq`` that the client acknowledges with ``ack``.

Decoding never raises anything but :class:`FrameError`, whose ``code`` is one
of the documented error codes, so a connection handler can always answer a
bad frame with an error frame.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

#: Seconds between heartbeats the server sends on an idle connection.
HEARTBEAT_INTERVAL = 10.0
#: Seconds without any frame after which either side considers the peer dead.
DEAD_PEER_TIMEOUT = 30.0
#: Seconds a session outlives its connection, waiting for a resume.
SESSION_GRACE = 30.0
#: Largest frame accepted, in bytes of UTF-8.
MAX_FRAME_BYTES = 65536
#: Longest chat message, in characters.
MAX_TEXT_CHARS = 4000
#: Server events kept per session for replay after a reconnect.
REPLAY_BUFFER = 1024

ERROR_CODES: dict[str, str] = {
    "bad_frame": "The frame is not a JSON object (or not UTF-8 text).",
    "too_large": f"The frame is larger than {MAX_FRAME_BYTES} bytes.",
    "unknown_type": "The `type` is not a message this endpoint accepts.",
    "invalid_field": "A field is missing, of the wrong type or out of range.",
    "not_authenticated": "The first frame must be `hello`; or `hello` was sent twice.",
    "auth_failed": "The token, account or button is not valid.",
    "forbidden": "The object belongs to another account, room or operator.",
    "not_found": "The call, room, visitor, operator or invitation does not exist.",
    "illegal_state": "The object is not in a state that allows this request.",
    "limit_reached": "A configured limit (such as max concurrent chats) refuses it.",
    "rate_limited": "More requests than the connection's rate allows; send it again later.",
    "server_busy": "The server has more requests waiting than it can answer in time; send it "
    "again later.",
    "internal": "The server failed; the request may be retried.",
}

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_CHARS)]
#: Longest page url, title or referrer kept; a longer one is cut (the page still chats).
MAX_PAGE_CHARS = 2048
#: JSON-safe: every seq a client sends fits a double exactly (2**53 - 1 at most)
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]
Role = Literal["operator", "visitor"]
Status = Literal["online", "away", "offline"]


class FrameError(Exception):
    """A frame that cannot be accepted; ``code`` is a documented error code."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


class _Msg(msgspec.Struct, tag_field="type", omit_defaults=True, gc=False):
    """Base of every wire message. Messages are plain data, never in a reference cycle:
    ``gc=False`` keeps the ones held in replay buffers out of every garbage collection."""


# ---------------------------------------------------------------- shared parts


class Party(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """Who said or did something in a room."""

    role: Role
    id: str
    name: str


class VisitorInfo(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """A visitor on the site, as operators see it (`at` fields: Unix seconds)."""

    id: str
    url: str
    title: str
    referrer: str
    arrived_at: float
    last_seen: float
    pages: int


class OperatorInfo(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    id: str
    name: str
    status: Status


class MessageItem(
    msgspec.Struct, frozen=True, rename={"sender": "from"}, omit_defaults=True, gc=False
):
    """One chat message of a room's history."""

    room: str
    n: int
    sender: Party
    text: str
    at: float


class RingInfo(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    call: str
    visitor: VisitorInfo
    button: str
    button_name: str
    started_at: float


class RoomInfo(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    room: str
    visitor: VisitorInfo
    operators: list[Party]
    messages: list[MessageItem]
    call: str | None = None
    invitation: str | None = None


class RoomInviteInfo(
    msgspec.Struct, frozen=True, rename={"sender": "from"}, omit_defaults=True, gc=False
):
    room: str
    sender: Party
    visitor: VisitorInfo


class InvitationInfo(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    invitation: str
    operator: Party
    text: str


# ------------------------------------------------------- client -> server: both


class Ack(_Msg, tag="ack"):
    """Everything up to and including ``seq`` was received."""

    seq: Seq


class Ping(_Msg, tag="ping"):
    pass


class Pong(_Msg, tag="pong"):
    pass


class Send(_Msg, tag="send"):
    id: Id
    room: Id
    text: Text


class Typing(_Msg, tag="typing"):
    room: Id
    on: bool


class Close(_Msg, tag="close"):
    id: Id
    room: Id


# -------------------------------------------------- client -> server: operator


class OperatorHello(_Msg, tag="hello"):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    session: Id | None = None
    last_seq: Seq | None = None
    batch: bool = False


class SetStatus(_Msg, tag="set_status"):
    id: Id
    status: Literal["online", "away"]


class Accept(_Msg, tag="accept"):
    id: Id
    call: Id


class Decline(_Msg, tag="decline"):
    id: Id
    call: Id


class InviteVisitor(_Msg, tag="invite_visitor"):
    id: Id
    visitor: Id
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)] = ""


class CancelInvitation(_Msg, tag="cancel_invitation"):
    id: Id
    invitation: Id


class InviteOperator(_Msg, tag="invite_operator"):
    id: Id
    room: Id
    operator: Id


class Join(_Msg, tag="join"):
    id: Id
    room: Id


class DeclineJoin(_Msg, tag="decline_join"):
    id: Id
    room: Id


# --------------------------------------------------- client -> server: visitor


class VisitorHello(_Msg, tag="hello"):
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


class PlaceCall(_Msg, tag="call"):
    id: Id


class Hangup(_Msg, tag="hangup"):
    id: Id
    call: Id


class InvitationReply(_Msg, tag="invitation_reply"):
    id: Id
    invitation: Id
    accept: bool


class LeaveMessage(_Msg, tag="leave_message"):
    id: Id
    name: Annotated[str, msgspec.Meta(max_length=200)]
    email: Annotated[str, msgspec.Meta(max_length=200)]
    text: Text


class Bye(_Msg, tag="bye"):
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


# ------------------------------------------------------------ server -> client


class Welcome(_Msg, tag="welcome"):
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


class Ok(_Msg, tag="ok"):
    ref: str
    seq: int = 0
    call: str | None = None
    room: str | None = None
    n: int | None = None
    invitation: str | None = None
    status: Status | None = None


class Error(_Msg, tag="error"):
    """A refusal. With ``seq``: the session's answer to request ``ref`` (remembered and
    replayed like any event). Without: the frame was not taken (it could not be decoded,
    or the connection or server is over a limit); nothing of it was applied."""

    code: str
    message: str
    ref: str | None = None
    #: seconds to wait before sending the frame again (``rate_limited``, ``server_busy``)
    retry_after: float | None = None
    seq: int = 0


class OperatorSnapshot(_Msg, tag="snapshot"):
    """The whole state an operator console shows; replaces what the client had."""

    me: OperatorInfo
    operators: list[OperatorInfo]
    visitors: list[VisitorInfo]
    rings: list[RingInfo]
    rooms: list[RoomInfo]
    room_invites: list[RoomInviteInfo]
    invitations: list[str]
    seq: int = 0


class VisitorSnapshot(_Msg, tag="snapshot"):
    visitor_id: str
    available: bool
    rooms: list[RoomInfo]
    call: str | None = None
    call_state: str | None = None
    #: the call was missed: offer the visitor to leave a message
    leave_message: bool = False
    invitation: InvitationInfo | None = None
    seq: int = 0


class Ring(_Msg, tag="ring"):
    call: str
    visitor: VisitorInfo
    button: str
    button_name: str
    started_at: float
    seq: int = 0


class RingStop(_Msg, tag="ring_stop"):
    call: str
    reason: str
    seq: int = 0


class RoomOpened(_Msg, tag="room_opened"):
    room: RoomInfo
    seq: int = 0


class RoomClosed(_Msg, tag="room_closed"):
    room: str
    reason: str
    seq: int = 0


class ChatMessage(_Msg, tag="message", rename={"sender": "from"}):
    room: str
    n: int
    sender: Party
    text: str
    at: float
    seq: int = 0


class TypingEvent(_Msg, tag="typing", rename={"sender": "from"}):
    room: str
    sender: Party
    on: bool
    seq: int = 0


class ParticipantJoined(_Msg, tag="participant_joined"):
    room: str
    who: Party
    seq: int = 0


class ParticipantLeft(_Msg, tag="participant_left"):
    room: str
    who: Party
    reason: str
    seq: int = 0


class RoomInvite(_Msg, tag="room_invite"):
    invite: RoomInviteInfo
    seq: int = 0


class RoomInviteEnded(_Msg, tag="room_invite_ended"):
    room: str
    reason: str
    seq: int = 0


class OperatorStatusEvent(_Msg, tag="operator_status"):
    operator: OperatorInfo
    seq: int = 0


class VisitorArrived(_Msg, tag="visitor_arrived"):
    visitor: VisitorInfo
    seq: int = 0


class VisitorLeft(_Msg, tag="visitor_left"):
    visitor: str
    seq: int = 0


class InvitationResult(_Msg, tag="invitation_result"):
    invitation: str
    visitor: str
    result: Literal["accepted", "declined", "cancelled"]
    seq: int = 0


class Availability(_Msg, tag="availability"):
    online: bool
    seq: int = 0


class CallState(_Msg, tag="call_state"):
    call: str
    state: str
    leave_message: bool
    seq: int = 0


class Invitation(_Msg, tag="invitation"):
    invitation: InvitationInfo
    seq: int = 0


class InvitationEnded(_Msg, tag="invitation_ended"):
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
    | CallState
    | Invitation
    | InvitationEnded
)
#: Server messages that take a sequence number (everything but these).
UNSEQUENCED = (Welcome, Ping, Pong)

_encoder = msgspec.json.Encoder()
_raw = msgspec.json.Decoder(type=dict[str, Any])
_inbound_types: dict[Role, Any] = {"operator": OperatorInbound, "visitor": VisitorInbound}
_inbound_decoders: dict[Role, msgspec.json.Decoder[Any]] = {
    role: msgspec.json.Decoder(union) for role, union in _inbound_types.items()
}
_inbound_tags: dict[Role, frozenset[str]] = {
    role: frozenset(cls.__struct_config__.tag for cls in union.__args__)
    for role, union in _inbound_types.items()
}
_event_decoders: dict[Role, msgspec.json.Decoder[Any]] = {
    "operator": msgspec.json.Decoder(OperatorEvent),
    "visitor": msgspec.json.Decoder(VisitorEvent),
}


def encode(message: msgspec.Struct) -> str:
    """Encode any wire message to the text of one frame."""
    return _encoder.encode(message).decode()


def decode_inbound(role: Role, frame: str | bytes) -> Any:
    """Decode one client frame for the ``role`` endpoint.

    Raises :class:`FrameError` with ``bad_frame``, ``too_large``,
    ``unknown_type`` or ``invalid_field`` (the message names the field); the
    error's ``ref`` is the frame's ``id`` when one could be read.
    """
    if not isinstance(frame, str):
        raise FrameError("bad_frame", "frames are UTF-8 text frames; this one was binary")
    size = len(frame.encode())
    if size > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frame is {size} bytes; the limit is {MAX_FRAME_BYTES}")
    try:  # one pass for a good frame; a bad one is read again for a precise error
        return _inbound_decoders[role].decode(frame)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        raw = _raw.decode(frame)
    except msgspec.DecodeError as exc:
        raise FrameError("bad_frame", f"frame is not a JSON object: {exc}") from None
    except RecursionError:  # msgspec's own depth guard: a 2 KB frame of 1,000 '['
        raise FrameError("bad_frame", "frame is nested too deeply") from None
    ref = raw.get("id") if isinstance(raw.get("id"), str) else None
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise FrameError("invalid_field", "`type` is missing or not a string", ref)
    if kind not in _inbound_tags[role]:
        known = ", ".join(sorted(_inbound_tags[role]))
        raise FrameError("unknown_type", f"unknown type {kind!r}; expected one of: {known}", ref)
    try:
        return msgspec.convert(raw, _inbound_types[role])
    except msgspec.ValidationError as exc:
        raise FrameError("invalid_field", f"{kind}: {exc}", ref) from None


def decode_event(role: Role, frame: str | bytes) -> Any:
    """Decode one server frame as a client of the ``role`` endpoint sees it."""
    return _event_decoders[role].decode(frame)


_batch_decoders: dict[Role, msgspec.json.Decoder[Any]] = {
    "operator": msgspec.json.Decoder(list[OperatorEvent] | OperatorEvent),
    "visitor": msgspec.json.Decoder(list[VisitorEvent] | VisitorEvent),
}


def decode_events(role: Role, frame: str | bytes) -> list[Any]:
    """The events of one server frame: one, or several in a JSON array (a client that
    said ``hello.batch``)."""
    decoded = _batch_decoders[role].decode(frame)
    return decoded if isinstance(decoded, list) else [decoded]


def with_seq(message: Any, seq: int) -> Any:
    """Return ``message`` stamped with sequence number ``seq``."""
    return msgspec.structs.replace(message, seq=seq)
