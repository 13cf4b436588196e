"""The named guards: every refusal of the core that is not a state machine's.

A request is refused either by a transition table (:mod:`server.core.machines`, an
``illegal_state``) or by one of these checks, each named for what it demands, so a
handler reads as the list of its conditions and the same condition is refused the same
way (same code, same words) wherever it is asked. The lookups that refuse an id the
client may not see (``not_found``) are :class:`~server.core.state.State`'s.
"""

from __future__ import annotations

from .errors import Forbidden, InvalidRequest, LimitReached, NotFound
from .model import Call, Invitation, OperatorPresence, Room
from .state import State


def require_operator(room: Room, operator_id: str) -> None:
    """The operator is in the room."""
    if operator_id not in room.operators:
        raise Forbidden(f"you are not in room {room.id!r}")


def require_visitor(room: Room, visitor_id: str) -> None:
    """The room is the visitor's."""
    if room.visitor_id != visitor_id:
        raise Forbidden(f"room {room.id!r} is not yours")


def require_caller(call: Call, visitor_id: str) -> None:
    """The call is the visitor's."""
    if call.visitor_id != visitor_id:
        raise Forbidden(f"call {call.id!r} is not yours")


def require_ringing_at(call: Call, operator_id: str) -> None:
    """The call rings at the operator's console (it may have stopped there: declined,
    away, max chats)."""
    if operator_id not in call.ringing:
        raise Forbidden(f"call {call.id!r} is not ringing at your console")


def require_room_for_a_chat(op: OperatorPresence, max_chats: int) -> None:
    """The operator is under the account's max concurrent chats."""
    if len(op.rooms) >= max_chats:
        raise LimitReached(f"you already have {len(op.rooms)} chats (max {max_chats})")


def require_invited(room: Room, operator_id: str) -> None:
    """The operator was invited into the room (and has not answered yet)."""
    if operator_id not in room.invited:
        raise Forbidden(f"you were not invited to room {room.id!r}")


def require_invitable(st: State, room: Room, invitee: str) -> None:
    """The invitee is an operator of the room's account, present, and not in it yet."""
    target = st.operators.get(invitee)
    if target is None or target.operator.account_id != room.account_id:
        raise NotFound(f"no operator {invitee!r} in your account")
    if invitee in room.operators:
        raise InvalidRequest(f"operator {invitee!r} is already in the room")
    if not target.present:
        raise LimitReached(f"operator {invitee!r} is offline")


def require_inviter(inv: Invitation, operator_id: str) -> None:
    """The invitation is the operator's own."""
    if inv.operator_id != operator_id:
        raise Forbidden(f"invitation {inv.id!r} is not yours")


def require_invitee(inv: Invitation, visitor_id: str) -> None:
    """The invitation is addressed to the visitor; to any other, it does not exist."""
    if inv.visitor_id != visitor_id:
        raise NotFound(f"no invitation {inv.id!r}")


def require_text(request: str, text: str) -> None:
    """The text of a ``send`` or ``leave_message`` is not blank."""
    if not text.strip():
        raise InvalidRequest(f"{request}: `text` is blank")
