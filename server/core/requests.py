"""The requests clients send, one handler each: ``(ctx, session, request)`` to the ``ok``
fields, or a :class:`CoreError` for an ``error``. :meth:`Hub.handle` looks them up by the
request's type and the session's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import protocol as p
from . import calls, invitations, presence, rooms, sessions
from .effects import CloseSession, Ctx
from .guards import require_caller, require_inviter, require_operator, require_text, require_visitor
from .lifecycle import OfflineMessageLeft
from .machines import CallEvent
from .model import OfflineMessage, OperatorPresence, Session
from .views import operator_party, visitor_party


def _op(ctx: Ctx, session: Session) -> OperatorPresence:
    return ctx.state.operators[session.owner]


def _set_status(ctx: Ctx, s: Session, r: p.SetStatus) -> dict[str, Any]:
    presence.set_status(ctx, _op(ctx, s), r.status)
    return {"status": r.status}


def _accept(ctx: Ctx, s: Session, r: p.Accept) -> dict[str, Any]:
    room = calls.accept(ctx, _op(ctx, s), ctx.state.call(s.account_id, r.call))
    return {"call": r.call, "room": room}


def _decline(ctx: Ctx, s: Session, r: p.Decline) -> dict[str, Any]:
    calls.decline(ctx, _op(ctx, s), ctx.state.call(s.account_id, r.call))
    return {"call": r.call}


def _op_send(ctx: Ctx, s: Session, r: p.Send) -> dict[str, Any]:
    room = ctx.state.room(s.account_id, r.room)
    require_operator(room, s.owner)
    n = rooms.post_message(ctx, room, operator_party(_op(ctx, s)), r.text, r.id)
    return {"room": room.id, "n": n}


def _op_typing(ctx: Ctx, s: Session, r: p.Typing) -> dict[str, Any]:
    room = ctx.state.room(s.account_id, r.room)
    require_operator(room, s.owner)
    rooms.typing(ctx, room, operator_party(_op(ctx, s)), r.on, _op(ctx, s).sessions)
    return {}


def _op_close(ctx: Ctx, s: Session, r: p.Close) -> dict[str, Any]:
    room = ctx.state.room(s.account_id, r.room)
    require_operator(room, s.owner)
    rooms.operator_leave(ctx, room, s.owner, "closed")
    return {"room": room.id}


def _invite_visitor(ctx: Ctx, s: Session, r: p.InviteVisitor) -> dict[str, Any]:
    inv = invitations.invite(ctx, _op(ctx, s), r.visitor, r.text)
    return {"invitation": inv.id}


def _cancel_invitation(ctx: Ctx, s: Session, r: p.CancelInvitation) -> dict[str, Any]:
    inv = ctx.state.invitation(s.account_id, r.invitation)
    require_inviter(inv, s.owner)
    invitations.cancel(ctx, inv, "cancelled")
    return {"invitation": inv.id}


def _invite_operator(ctx: Ctx, s: Session, r: p.InviteOperator) -> dict[str, Any]:
    room = ctx.state.room(s.account_id, r.room)
    rooms.invite_operator(ctx, room, s.owner, r.operator)
    return {"room": room.id}


def _join(ctx: Ctx, s: Session, r: p.Join) -> dict[str, Any]:
    room = ctx.state.room(s.account_id, r.room)
    rooms.join(ctx, room, s.owner, ctx.state.accounts[s.account_id].settings.max_chats)
    return {"room": room.id}


def _decline_join(ctx: Ctx, s: Session, r: p.DeclineJoin) -> dict[str, Any]:
    rooms.decline_join(ctx, ctx.state.room(s.account_id, r.room), s.owner)
    return {"room": r.room}


def _call(ctx: Ctx, s: Session, r: p.PlaceCall) -> dict[str, Any]:
    visitor = ctx.state.visitor_of_session(s)
    open_rooms = ctx.state.open_rooms_of(s.account_id, visitor.id)
    if open_rooms:  # already chatting: the button opens that chat
        return {"room": open_rooms[0].id}
    page = visitor.pages[s.owner]
    call = calls.place_call(ctx, visitor, page.id, page.button_id)
    return {"call": call.id}


def _hangup(ctx: Ctx, s: Session, r: p.Hangup) -> dict[str, Any]:
    visitor = ctx.state.visitor_of_session(s)
    call = ctx.state.call(s.account_id, r.call)
    require_caller(call, visitor.id)
    calls.end_unanswered(ctx, call, CallEvent.VISITOR_LEFT, "visitor_left")
    return {"call": call.id}


def _v_send(ctx: Ctx, s: Session, r: p.Send) -> dict[str, Any]:
    visitor = ctx.state.visitor_of_session(s)
    room = ctx.state.room(s.account_id, r.room)
    require_visitor(room, visitor.id)
    n = rooms.post_message(ctx, room, visitor_party(visitor.id), r.text, r.id)
    return {"room": room.id, "n": n}


def _v_typing(ctx: Ctx, s: Session, r: p.Typing) -> dict[str, Any]:
    visitor = ctx.state.visitor_of_session(s)
    room = ctx.state.room(s.account_id, r.room)
    require_visitor(room, visitor.id)
    rooms.typing(ctx, room, visitor_party(visitor.id), r.on, {s.id})
    return {}


def _v_close(ctx: Ctx, s: Session, r: p.Close) -> dict[str, Any]:
    visitor = ctx.state.visitor_of_session(s)
    room = ctx.state.room(s.account_id, r.room)
    require_visitor(room, visitor.id)
    rooms.end_room(ctx, room, "visitor_closed")
    return {"room": room.id}


def _invitation_reply(ctx: Ctx, s: Session, r: p.InvitationReply) -> dict[str, Any]:
    visitor = ctx.state.visitor_of_session(s)
    room = invitations.reply(
        ctx, visitor, ctx.state.invitation(s.account_id, r.invitation), r.accept
    )
    return {"invitation": r.invitation, "room": room}


def _leave_message(ctx: Ctx, s: Session, r: p.LeaveMessage) -> dict[str, Any]:
    require_text("leave_message", r.text)
    visitor = ctx.state.visitor_of_session(s)
    ended = ctx.state.ended_calls
    last_call = next(
        (
            c.id
            for c in reversed(ended.values())
            if c.visitor_id == visitor.id and c.account_id == s.account_id
        ),
        None,
    )
    msg = OfflineMessage(
        ctx.state.ids("msg"),
        s.account_id,
        visitor.id,
        r.name,
        r.email,
        r.text,
        ctx.now,
        last_call,
    )
    ctx.persist(msg)
    ctx.state.missed_calls.pop((s.account_id, visitor.id), None)
    ctx.log(OfflineMessageLeft(s.account_id, visitor.id))
    return {}


def _op_bye(ctx: Ctx, s: Session, r: p.Bye) -> dict[str, Any]:
    """The console is closing: it stops ringing now, and its session waits out its grace
    period, so that a reload (the same page, also a ``pagehide``) keeps its chats."""
    ctx.effects.append(CloseSession(s.id, 1000, "bye"))
    presence.operator_leaving(ctx, _op(ctx, s), s.id)
    sessions.wait_grace(ctx, s)
    return {}


def _bye(ctx: Ctx, s: Session, r: p.Bye) -> dict[str, Any]:
    """Leaving on purpose (a page or a console being closed): no grace period."""
    ctx.effects.append(CloseSession(s.id, 1000, "bye"))
    sessions.end_session(ctx, s)
    return {}


Handler = Callable[[Ctx, Session, Any], dict[str, Any]]

OPERATOR: dict[type, Handler] = {
    p.SetStatus: _set_status,
    p.Accept: _accept,
    p.Decline: _decline,
    p.Send: _op_send,
    p.Typing: _op_typing,
    p.Close: _op_close,
    p.InviteVisitor: _invite_visitor,
    p.CancelInvitation: _cancel_invitation,
    p.InviteOperator: _invite_operator,
    p.Join: _join,
    p.DeclineJoin: _decline_join,
    p.Bye: _op_bye,
}
VISITOR: dict[type, Handler] = {
    p.PlaceCall: _call,
    p.Hangup: _hangup,
    p.Send: _v_send,
    p.Typing: _v_typing,
    p.Close: _v_close,
    p.InvitationReply: _invitation_reply,
    p.LeaveMessage: _leave_message,
    p.Bye: _bye,
}
