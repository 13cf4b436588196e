"""The shapes that messages carry inside them: who, which visitor, which room, which
ring or invitation. Not messages themselves (no ``type``)."""

from __future__ import annotations

import msgspec

from .base import Role, Status


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
