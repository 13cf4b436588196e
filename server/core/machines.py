"""Transition tables of the core's state machines, as data.

Each table maps ``(state, event) -> next state``. Anything missing is illegal
and :func:`step` raises :class:`IllegalTransition` naming machine, role, state
and event. The tables are the single source of truth: every ``illegal_state`` the
core answers comes from :func:`step` on one of them (the other refusals are the
named checks of :mod:`server.core.guards`). ``tests/server/core/test_machines.py`` walks every
legal and every illegal pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from .errors import IllegalTransition


class CallState(StrEnum):
    """Lifecycle of a visitor's call: ``ringing -> accepted -> closed`` and the misses."""

    RINGING = "ringing"
    ACCEPTED = "accepted"
    CLOSED = "closed"
    MISSED = "missed"
    ABANDONED = "abandoned"


class CallEvent(StrEnum):
    """What happens to a call: an operator's accept or decline, its room closing, the
    server's misses, the visitor leaving."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CLOSE = "close"
    ALL_DECLINED = "all_declined"
    TIMEOUT = "timeout"
    VISITOR_LEFT = "visitor_left"


CALL: Mapping[tuple[CallState, CallEvent], CallState] = {
    (CallState.RINGING, CallEvent.ACCEPT): CallState.ACCEPTED,
    # one console's decline: the call rings on elsewhere (ALL_DECLINED when none is left)
    (CallState.RINGING, CallEvent.DECLINE): CallState.RINGING,
    (CallState.RINGING, CallEvent.ALL_DECLINED): CallState.MISSED,
    (CallState.RINGING, CallEvent.TIMEOUT): CallState.MISSED,
    (CallState.RINGING, CallEvent.VISITOR_LEFT): CallState.ABANDONED,
    (CallState.ACCEPTED, CallEvent.CLOSE): CallState.CLOSED,
}


class RoomState(StrEnum):
    """A room is open until it ends, for good."""

    OPEN = "open"
    CLOSED = "closed"


class RoomEvent(StrEnum):
    """What participants do in a room."""

    MESSAGE = "message"
    TYPING = "typing"
    JOIN = "join"
    INVITE_OPERATOR = "invite_operator"
    OPERATOR_LEAVE = "operator_leave"
    END = "end"


ROOM: Mapping[tuple[RoomState, RoomEvent], RoomState] = {
    (RoomState.OPEN, RoomEvent.MESSAGE): RoomState.OPEN,
    (RoomState.OPEN, RoomEvent.TYPING): RoomState.OPEN,
    (RoomState.OPEN, RoomEvent.JOIN): RoomState.OPEN,
    (RoomState.OPEN, RoomEvent.INVITE_OPERATOR): RoomState.OPEN,
    (RoomState.OPEN, RoomEvent.OPERATOR_LEAVE): RoomState.OPEN,
    (RoomState.OPEN, RoomEvent.END): RoomState.CLOSED,
}


class InvitationState(StrEnum):
    """An operator's proactive chat invitation to a visitor on the site."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class InvitationEvent(StrEnum):
    """The visitor's answer, or the invitation withdrawn."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"


INVITATION: Mapping[tuple[InvitationState, InvitationEvent], InvitationState] = {
    (InvitationState.PENDING, InvitationEvent.ACCEPT): InvitationState.ACCEPTED,
    (InvitationState.PENDING, InvitationEvent.DECLINE): InvitationState.DECLINED,
    (InvitationState.PENDING, InvitationEvent.CANCEL): InvitationState.CANCELLED,
}


class VisitorState(StrEnum):
    """What a visitor on the site is doing, as far as an invitation is concerned.

    Not stored: derived from the visitor's call, invitation and rooms
    (:func:`server.core.invitations.visitor_state`). The names are on the wire, in the
    ``illegal_state`` message, and the console explains ``busy`` and ``chatting``.
    """

    BROWSING = "browsing"
    BUSY = "busy"  # invited already, or calling
    CHATTING = "chatting"


class VisitorEvent(StrEnum):
    """An operator's proactive invitation."""

    INVITE_VISITOR = "invite_visitor"


VISITOR: Mapping[tuple[VisitorState, VisitorEvent], VisitorState] = {
    (VisitorState.BROWSING, VisitorEvent.INVITE_VISITOR): VisitorState.BUSY,
}


S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


def step(machine: str, table: Mapping[tuple[S, E], S], role: str, state: S, event: E) -> S:
    """Return the next state or raise :class:`IllegalTransition`."""
    try:
        return table[(state, event)]
    except KeyError:
        raise IllegalTransition(machine, role, state.value, event.value) from None
