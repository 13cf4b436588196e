"""Presence: operators online / away / offline; visitors arriving and leaving."""

from __future__ import annotations

from .. import protocol as p
from . import invitations
from .calls import end_unanswered
from .effects import Ctx
from .lifecycle import (
    OperatorOffline,
    OperatorOnline,
    OperatorStatus,
    VisitorArrived,
    VisitorLeft,
)
from .machines import CallEvent
from .model import OperatorPresence, Visitor
from .rooms import end_room, operator_leave
from .views import operator_info, visitor_info


def _announce_status(ctx: Ctx, op: OperatorPresence) -> None:
    event = p.OperatorStatusEvent(operator_info(op))
    ctx.to_account_operators(op.operator.account_id, event, skip=op.operator.id)
    ctx.dirty_operators.add(op.operator.id)


def operator_session_started(ctx: Ctx, op: OperatorPresence, session_id: str) -> None:
    """A console is there: a new session, or one that said ``bye`` and came back (a
    reload). Waiting calls ring at it (the caller reconciles)."""
    was_offline = not op.present
    op.sessions.add(session_id)
    op.leaving.discard(session_id)
    ctx.dirty_operators.add(op.operator.id)
    if was_offline:
        _announce_status(ctx, op)
        ctx.log(OperatorOnline(op.operator.id, op.status))


def operator_leaving(ctx: Ctx, op: OperatorPresence, session_id: str) -> None:
    """A console said ``bye``: it stops ringing now, and its session waits out its grace
    period, so that a reload comes back to its chats."""
    op.leaving.add(session_id)
    ctx.dirty_operators.add(op.operator.id)
    if not op.present:
        _announce_status(ctx, op)
        ctx.log(OperatorOffline(op.operator.id, leaving=True))


def operator_session_ended(ctx: Ctx, op: OperatorPresence, session_id: str) -> None:
    """A session is gone for good; the operator's last one takes it offline (colleagues
    were told already if it had said ``bye``)."""
    was_present = op.present
    op.sessions.discard(session_id)
    op.leaving.discard(session_id)
    if op.sessions:
        return
    st = ctx.state
    for room_id in sorted(op.rooms):
        operator_leave(ctx, st.rooms[room_id], op.operator.id, "offline")
    for room in list(st.rooms.values()):
        room.invited.pop(op.operator.id, None)
    for inv in [i for i in st.invitations.values() if i.operator_id == op.operator.id]:
        invitations.cancel(ctx, inv, "operator_offline")
    if was_present:
        _announce_status(ctx, op)
    ctx.log(OperatorOffline(op.operator.id))


def set_status(ctx: Ctx, op: OperatorPresence, status: str) -> None:
    if op.status == status:
        return
    op.status = status
    _announce_status(ctx, op)
    ctx.log(OperatorStatus(op.operator.id, status))


def visitor_seen(ctx: Ctx, visitor: Visitor, *, new: bool) -> None:
    """Tell operators that a visitor arrived or that its latest page changed."""
    ctx.to_account_operators(visitor.account_id, p.VisitorArrived(visitor_info(visitor)))
    if new:
        ctx.log(VisitorArrived(visitor.account_id, visitor.id))


def page_left(ctx: Ctx, account_id: str, page_instance_id: str) -> None:
    """A page instance is gone; the visitor's last page leaving means it left the site."""
    st = ctx.state
    visitor_id = st.pages.pop((account_id, page_instance_id), None)
    if visitor_id is None:
        return
    visitor = st.visitors[(account_id, visitor_id)]
    visitor.pages.pop(page_instance_id, None)
    if visitor.pages:
        visitor_seen(ctx, visitor, new=False)
        return
    if visitor.call_id is not None:
        end_unanswered(ctx, st.calls[visitor.call_id], CallEvent.VISITOR_LEFT, "visitor_left")
    if visitor.invitation_id is not None:
        invitations.cancel(ctx, st.invitations[visitor.invitation_id], "visitor_left")
    for room in st.open_rooms_of(account_id, visitor_id):
        end_room(ctx, room, "visitor_left")
    del st.visitors[(account_id, visitor_id)]
    ctx.to_account_operators(account_id, p.VisitorLeft(visitor_id))
    ctx.log(VisitorLeft(account_id, visitor_id))
