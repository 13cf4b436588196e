"""Proactive chat invitations: an operator invites a visitor on the site."""

from __future__ import annotations

from typing import Literal

from .. import protocol as p
from .effects import Ctx
from .guards import require_invitee
from .lifecycle import INVITATION_ENDED, InvitationSent
from .machines import (
    INVITATION,
    VISITOR,
    InvitationEvent,
    VisitorEvent,
    VisitorState,
    step,
)
from .model import Invitation, OperatorPresence, Visitor
from .rooms import open_room
from .state import State
from .views import operator_party


def visitor_state(st: State, visitor: Visitor) -> VisitorState:
    """Where the visitor is in :data:`~server.core.machines.VISITOR`: derived, not stored,
    from its invitation, call and open rooms."""
    if visitor.invitation_id is not None or visitor.call_id is not None:
        return VisitorState.BUSY
    if st.open_rooms_of(visitor.account_id, visitor.id):
        return VisitorState.CHATTING
    return VisitorState.BROWSING


def invite(ctx: Ctx, op: OperatorPresence, visitor_id: str, text: str) -> Invitation:
    """An operator invites a visitor on the site to chat; only one that is browsing (not
    calling, invited or chatting already) may be."""
    st = ctx.state
    account_id = op.operator.account_id
    visitor = st.visitor(account_id, visitor_id)
    step("visitor", VISITOR, "operator", visitor_state(st, visitor), VisitorEvent.INVITE_VISITOR)
    inv = Invitation(st.ids("inv"), account_id, op.operator.id, visitor_id, text, ctx.now)
    st.invitations[inv.id] = inv
    visitor.invitation_id = inv.id
    ctx.persist(inv)
    info = p.InvitationInfo(invitation=inv.id, operator=operator_party(op), text=text)
    ctx.to_visitor(account_id, visitor_id, p.Invitation(info))
    ctx.log(InvitationSent(inv.id, op.operator.id, visitor_id))
    return inv


def reply(ctx: Ctx, visitor: Visitor, inv: Invitation, accept: bool) -> str | None:
    """The visitor accepts (a room opens with the inviting operator) or declines."""
    require_invitee(inv, visitor.id)
    event = InvitationEvent.ACCEPT if accept else InvitationEvent.DECLINE
    inv.state = step("invitation", INVITATION, "visitor", inv.state, event)
    _finish(ctx, inv, visitor)
    result: Literal["accepted", "declined"] = "accepted" if accept else "declined"
    ctx.to_operator(inv.operator_id, p.InvitationResult(inv.id, visitor.id, result))
    if not accept:
        return None
    room = open_room(
        ctx,
        account_id=inv.account_id,
        visitor_id=visitor.id,
        operator_id=inv.operator_id,
        invitation_id=inv.id,
    )
    inv.room_id = room.id
    ctx.persist(inv)
    return room.id


def cancel(ctx: Ctx, inv: Invitation, reason: str) -> None:
    """The invitation is withdrawn: by its operator, or because either side left."""
    inv.state = step("invitation", INVITATION, "operator", inv.state, InvitationEvent.CANCEL)
    visitor = ctx.state.visitors.get((inv.account_id, inv.visitor_id))
    _finish(ctx, inv, visitor)
    ctx.to_visitor(inv.account_id, inv.visitor_id, p.InvitationEnded(inv.id, reason))
    ctx.to_operator(inv.operator_id, p.InvitationResult(inv.id, inv.visitor_id, "cancelled"))


def _finish(ctx: Ctx, inv: Invitation, visitor: Visitor | None) -> None:
    inv.ended_at = ctx.now
    ctx.state.invitations.pop(inv.id, None)
    if visitor is not None and visitor.invitation_id == inv.id:
        visitor.invitation_id = None
    ctx.persist(inv)
    ctx.log(INVITATION_ENDED[inv.state](inv.id))
