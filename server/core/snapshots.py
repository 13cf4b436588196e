"""Snapshots: everything a client shows, in one frame, so it can rebuild its state whole
(after a first ``hello``, a resume past the replay buffer, or a server restart)."""

from __future__ import annotations

from .. import protocol as p
from .calls import ring_info
from .machines import CallState
from .model import Visitor
from .state import State
from .views import operator_info, operator_party, room_info, room_visitor_info, visitor_info


def operator_snapshot(st: State, operator_id: str) -> p.OperatorSnapshot:
    op = st.operators[operator_id]
    account_id = op.operator.account_id
    return p.OperatorSnapshot(
        me=operator_info(op),
        operators=[operator_info(o) for o in st.account_operators(account_id)],
        visitors=[visitor_info(v) for v in st.account_visitors(account_id)],
        rings=[ring_info(st, c) for c in st.ringing_calls(account_id) if operator_id in c.ringing],
        rooms=[room_info(st, st.rooms[r]) for r in sorted(op.rooms)],
        room_invites=[
            p.RoomInviteInfo(
                room.id, operator_party(st.operators[inviter]), room_visitor_info(st, room)
            )
            for room in st.rooms.values()
            for invitee, inviter in room.invited.items()
            if invitee == operator_id
        ],
        invitations=sorted(i.id for i in st.invitations.values() if i.operator_id == operator_id),
    )


def visitor_snapshot(st: State, visitor: Visitor) -> p.VisitorSnapshot:
    """The visitor's chats, its call (a ringing one, or one missed since its last call, a
    server restart included: the widget offers to leave a message) and its invitation."""
    key = (visitor.account_id, visitor.id)
    call = st.calls.get(visitor.call_id) if visitor.call_id else None
    if call is None and key in st.missed_calls:
        call = st.ended_calls.get(st.missed_calls[key])
    inv = st.invitations.get(visitor.invitation_id) if visitor.invitation_id else None
    missed = call is not None and call.state == CallState.MISSED
    return p.VisitorSnapshot(
        visitor_id=visitor.id,
        available=st.available.get(visitor.account_id, False),
        rooms=[room_info(st, r) for r in st.open_rooms_of(visitor.account_id, visitor.id)],
        call=call.id if call else None,
        call_state=call.state.value if call else None,
        leave_message=missed,
        invitation=p.InvitationInfo(inv.id, operator_party(st.operators[inv.operator_id]), inv.text)
        if inv
        else None,
    )
