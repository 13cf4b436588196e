"""Transition tables of the core's state machines, as data.

Each table maps ``(state, event) -> next state``. Anything missing is illegal
and :func:`step` raises :class:`IllegalTransition` naming machine, role, state
and event. The tables are the single source of truth; ``tests/test_machines.py``
walks every legal and every illegal pair.
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
    ACCEPT = "accept"
    CLOSE = "close"
    ALL_DECLINED = "all_declined"
    TIMEOUT = "timeout"
    VISITOR_LEFT = "visitor_left"


CALL: Mapping[tuple[CallState, CallEvent], CallState] = {
    (CallState.RINGING, CallEvent.ACCEPT): CallState.ACCEPTED,
    (CallState.RINGING, CallEvent.ALL_DECLINED): CallState.MISSED,
    (CallState.RINGING, CallEvent.TIMEOUT): CallState.MISSED,
    (CallState.RINGING, CallEvent.VISITOR_LEFT): CallState.ABANDONED,
    (CallState.ACCEPTED, CallEvent.CLOSE): CallState.CLOSED,
}


class RoomState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RoomEvent(StrEnum):
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
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"


INVITATION: Mapping[tuple[InvitationState, InvitationEvent], InvitationState] = {
    (InvitationState.PENDING, InvitationEvent.ACCEPT): InvitationState.ACCEPTED,
    (InvitationState.PENDING, InvitationEvent.DECLINE): InvitationState.DECLINED,
    (InvitationState.PENDING, InvitationEvent.CANCEL): InvitationState.CANCELLED,
}


S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


def step(machine: str, table: Mapping[tuple[S, E], S], role: str, state: S, event: E) -> S:
    """Return the next state or raise :class:`IllegalTransition`."""
    try:
        return table[(state, event)]
    except KeyError:
        raise IllegalTransition(machine, role, state.value, event.value) from None
