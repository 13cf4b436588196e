"""Rooms: one visitor, one or more operators, a numbered message history."""

from __future__ import annotations

from .. import protocol as p
from .effects import Ctx
from .guards import (
    require_invitable,
    require_invited,
    require_operator,
    require_room_for_a_chat,
    require_text,
)
from .lifecycle import OperatorJoinedRoom, OperatorLeftRoom, RoomClosed, RoomOpened
from .machines import CALL, ROOM, CallEvent, RoomEvent, step
from .model import Membership, Message, Room
from .views import operator_party, room_info, room_visitor_info


def participant_sessions(ctx: Ctx, room: Room) -> list[str]:
    """Every session that sees the room: its operators' and its visitor's pages."""
    st = ctx.state
    sids: list[str] = []
    for op_id in room.operators:
        sids.extend(sorted(st.operators[op_id].sessions))
    visitor = st.visitors.get((room.account_id, room.visitor_id))
    if visitor is not None:
        sids.extend(sorted(pg.session_id for pg in visitor.pages.values()))
    return sids


def open_room(
    ctx: Ctx,
    *,
    account_id: str,
    visitor_id: str,
    operator_id: str,
    call_id: str | None = None,
    invitation_id: str | None = None,
) -> Room:
    """Open a room for a visitor and its first operator and tell both."""
    st = ctx.state
    room = Room(
        id=st.ids("room"),
        account_id=account_id,
        visitor_id=visitor_id,
        opened_at=ctx.now,
        call_id=call_id,
        invitation_id=invitation_id,
        operators=[operator_id],
    )
    st.rooms[room.id] = room
    st.visitor_rooms.setdefault((account_id, visitor_id), set()).add(room.id)
    st.operators[operator_id].rooms.add(room.id)
    ctx.dirty_operators.add(operator_id)
    ctx.persist(room)
    ctx.persist(Membership(room.id, operator_id, ctx.now))
    ctx.send_many(participant_sessions(ctx, room), p.RoomOpened(room_info(st, room)))
    ctx.log(RoomOpened(room.id, account_id, visitor_id, operator_id, call_id, invitation_id))
    return room


def post_message(
    ctx: Ctx, room: Room, sender: p.Party, text: str, request_id: str | None = None
) -> int:
    """Store a message under the room's next number and deliver it to everyone. The same
    ``send`` again (sender, request id and text), from a session that does not remember
    it (a new one, after a server restart), is answered with the number it got."""
    room.state = step("room", ROOM, sender.role, room.state, RoomEvent.MESSAGE)
    require_text("send", text)
    if request_id is not None:
        earlier = room.requests.get((sender.id, request_id, text))
        if earlier is not None:
            return earlier
    n = len(room.messages) + 1
    msg = Message(room.id, n, sender.role, sender.id, sender.name, text, ctx.now, request_id)
    room.add_message(msg)
    ctx.persist(msg)
    event = p.ChatMessage(room=room.id, n=n, sender=sender, text=text, at=ctx.now)
    ctx.send_many(participant_sessions(ctx, room), event)
    return n


def typing(ctx: Ctx, room: Room, sender: p.Party, on: bool, sender_sessions: set[str]) -> None:
    step("room", ROOM, sender.role, room.state, RoomEvent.TYPING)
    event = p.TypingEvent(room=room.id, sender=sender, on=on)
    ctx.send_many((s for s in participant_sessions(ctx, room) if s not in sender_sessions), event)


def operator_leave(ctx: Ctx, room: Room, operator_id: str, reason: str) -> None:
    """An operator leaves (X, or went offline); the last one leaving ends the room."""
    st = ctx.state
    room.state = step("room", ROOM, "operator", room.state, RoomEvent.OPERATOR_LEAVE)
    op = st.operators[operator_id]
    if len(room.operators) == 1:
        end_room(ctx, room, f"operator_{reason}")
        return
    room.operators.remove(operator_id)
    op.rooms.discard(room.id)
    ctx.dirty_operators.add(operator_id)
    ctx.persist(Membership(room.id, operator_id, 0.0, ctx.now))
    ctx.to_operator(operator_id, p.RoomClosed(room=room.id, reason="you_left"))
    ctx.send_many(
        participant_sessions(ctx, room),
        p.ParticipantLeft(room=room.id, who=operator_party(op), reason=reason),
    )
    ctx.log(OperatorLeftRoom(room.id, operator_id, reason))


def end_room(ctx: Ctx, room: Room, reason: str) -> None:
    """Close the room for everyone, with ``reason``."""
    st = ctx.state
    role = "visitor" if reason.startswith("visitor") else "operator"
    room.state = step("room", ROOM, role, room.state, RoomEvent.END)
    ctx.send_many(participant_sessions(ctx, room), p.RoomClosed(room=room.id, reason=reason))
    for invitee in sorted(room.invited):
        ctx.to_operator(invitee, p.RoomInviteEnded(room=room.id, reason="room_closed"))
    room.invited.clear()
    for op_id in room.operators:
        st.operators[op_id].rooms.discard(room.id)
        ctx.dirty_operators.add(op_id)
        ctx.persist(Membership(room.id, op_id, 0.0, ctx.now))
    room.closed_at = ctx.now
    room.close_reason = reason
    ctx.persist(room)
    rooms = st.visitor_rooms.get((room.account_id, room.visitor_id))
    if rooms is not None:
        rooms.discard(room.id)
        if not rooms:
            del st.visitor_rooms[(room.account_id, room.visitor_id)]
    if room.call_id is not None and room.call_id in st.calls:
        call = st.calls[room.call_id]
        call.state = step("call", CALL, role, call.state, CallEvent.CLOSE)
        call.ended_at = ctx.now
        call.end_reason = reason
        ctx.persist(call)
        st.retire_call(call)
    duration = ctx.now - room.opened_at
    ctx.log(RoomClosed(room.id, room.account_id, reason, len(room.messages), duration))
    st.retire_room(room)


def invite_operator(ctx: Ctx, room: Room, inviter: str, invitee: str) -> None:
    """Offer another operator of the account a joinable tab for this room."""
    st = ctx.state
    step("room", ROOM, "operator", room.state, RoomEvent.INVITE_OPERATOR)
    require_operator(room, inviter)
    require_invitable(st, room, invitee)
    if invitee in room.invited:
        return
    room.invited[invitee] = inviter
    info = p.RoomInviteInfo(
        room=room.id,
        sender=operator_party(st.operators[inviter]),
        visitor=room_visitor_info(st, room),
    )
    ctx.to_operator(invitee, p.RoomInvite(invite=info))


def join(ctx: Ctx, room: Room, operator_id: str, max_chats: int) -> None:
    """An invited operator joins: it gets the whole history, the others a notice."""
    st = ctx.state
    step("room", ROOM, "operator", room.state, RoomEvent.JOIN)
    require_invited(room, operator_id)
    op = st.operators[operator_id]
    require_room_for_a_chat(op, max_chats)
    others = participant_sessions(ctx, room)
    del room.invited[operator_id]
    room.operators.append(operator_id)
    op.rooms.add(room.id)
    ctx.dirty_operators.add(operator_id)
    ctx.persist(Membership(room.id, operator_id, ctx.now))
    ctx.send_many(others, p.ParticipantJoined(room=room.id, who=operator_party(op)))
    ctx.to_operator(operator_id, p.RoomOpened(room_info(st, room)))
    ctx.log(OperatorJoinedRoom(room.id, operator_id))


def decline_join(ctx: Ctx, room: Room, operator_id: str) -> None:
    """An invited operator says no: the invite ends at its consoles."""
    require_invited(room, operator_id)
    del room.invited[operator_id]
    ctx.to_operator(operator_id, p.RoomInviteEnded(room=room.id, reason="declined"))
