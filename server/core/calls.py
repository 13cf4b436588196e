"""Calls: ringing at every eligible operator, the accept compare-and-set, misses.

A console rings for a call exactly between a ``ring`` and a ``ring_stop`` for
it; every ``ring`` is followed by exactly one ``ring_stop`` (reasons:
``accepted``, ``accepted_elsewhere``, ``declined``, ``visitor_left``,
``timeout``, ``away``, ``offline``, ``max_chats``).
"""

from __future__ import annotations

from .. import protocol as p
from .effects import Ctx
from .guards import require_ringing_at, require_room_for_a_chat
from .lifecycle import UNANSWERED, CallAccepted, CallRinging, RingStarted, RingStopped
from .machines import CALL, CallEvent, CallState, step
from .model import Call, OperatorPresence, Visitor
from .rooms import open_room
from .state import State
from .views import visitor_info_of


def eligible(ctx: Ctx, op: OperatorPresence) -> bool:
    """Online, not away, and under the account's max concurrent chats."""
    settings = ctx.state.accounts[op.operator.account_id].settings
    return op.present and op.status == "online" and len(op.rooms) < settings.max_chats


def _ineligible_reason(op: OperatorPresence) -> str:
    if not op.present:
        return "offline"
    return "away" if op.status == "away" else "max_chats"


def place_call(ctx: Ctx, visitor: Visitor, page_instance_id: str, button_id: str) -> Call:
    """Start a call for ``visitor`` (or return its call already ringing)."""
    st = ctx.state
    if visitor.call_id is not None:
        return st.calls[visitor.call_id]  # another page of the same visitor id already calls
    account = st.accounts[visitor.account_id]
    call = Call(
        id=st.ids("call"),
        account_id=visitor.account_id,
        button_id=button_id,
        visitor_id=visitor.id,
        page_instance_id=page_instance_id,
        created_at=ctx.now,
    )
    st.calls[call.id] = call
    visitor.call_id = call.id
    st.missed_calls.pop((visitor.account_id, visitor.id), None)
    ctx.persist(call)
    ctx.timer(("ring_timeout", call.id), ctx.now + account.settings.ring_timeout)
    ctx.to_visitor(call.account_id, visitor.id, p.CallStateEvent(call.id, "ringing", False))
    ctx.log(CallRinging(call.id, call.account_id, visitor.id, button_id))
    for op in st.account_operators(call.account_id):
        if eligible(ctx, op):
            _ring(ctx, call, op)
    return call


def _ring(ctx: Ctx, call: Call, op: OperatorPresence) -> None:
    call.ringing[op.operator.id] = ctx.now
    info = ring_info(ctx.state, call)
    ring = p.Ring(info.call, info.visitor, info.button, info.button_name, info.started_at)
    ctx.to_operator(op.operator.id, ring)
    ctx.log(RingStarted(call.id, op.operator.id))


def _stop_ring(ctx: Ctx, call: Call, operator_id: str, reason: str) -> None:
    started = call.ringing.pop(operator_id)
    ctx.to_operator(operator_id, p.RingStop(call.id, reason))
    ctx.log(RingStopped(call.id, operator_id, reason, duration=ctx.now - started))


def ring_info(st: State, call: Call) -> p.RingInfo:
    info = visitor_info_of(st, call.account_id, call.visitor_id, call.created_at)
    button = st.buttons[call.button_id]
    return p.RingInfo(call.id, info, button.id, button.name, call.created_at)


def accept(ctx: Ctx, op: OperatorPresence, call: Call) -> str:
    """Compare-and-set: the first accept of a ringing call wins; returns the room id."""
    st = ctx.state
    op_id = op.operator.id
    # the table first: a late accept of a taken call is illegal_state, whoever sends it
    accepted = step("call", CALL, "operator", call.state, CallEvent.ACCEPT)
    require_ringing_at(call, op_id)
    require_room_for_a_chat(op, st.accounts[call.account_id].settings.max_chats)
    call.state = accepted
    call.accepted_by = op_id
    call.accepted_at = ctx.now
    ctx.cancel(("ring_timeout", call.id))
    _stop_ring(ctx, call, op_id, "accepted")
    for other in sorted(call.ringing):
        _stop_ring(ctx, call, other, "accepted_elsewhere")
    visitor = st.visitors.get((call.account_id, call.visitor_id))
    if visitor is not None and visitor.call_id == call.id:
        visitor.call_id = None
    ctx.to_visitor(call.account_id, call.visitor_id, p.CallStateEvent(call.id, "accepted", False))
    room = open_room(
        ctx,
        account_id=call.account_id,
        visitor_id=call.visitor_id,
        operator_id=op_id,
        call_id=call.id,
    )
    call.room_id = room.id
    ctx.persist(call)
    ctx.log(CallAccepted(call.id, op_id, room.id, wait=ctx.now - call.created_at))
    return room.id


def decline(ctx: Ctx, op: OperatorPresence, call: Call) -> None:
    """This console stops ringing; if nobody eligible is left, the call is missed."""
    op_id = op.operator.id
    ringing = step("call", CALL, "operator", call.state, CallEvent.DECLINE)
    require_ringing_at(call, op_id)
    call.state = ringing
    call.declined.add(op_id)
    _stop_ring(ctx, call, op_id, "declined")
    if not call.ringing and not any(
        eligible(ctx, other) and other.operator.id not in call.declined
        for other in ctx.state.account_operators(call.account_id)
    ):
        end_unanswered(ctx, call, CallEvent.ALL_DECLINED, "declined")


_STOP_REASON = {
    CallEvent.ALL_DECLINED: "declined",
    CallEvent.TIMEOUT: "timeout",
    CallEvent.VISITOR_LEFT: "visitor_left",
}


def end_unanswered(ctx: Ctx, call: Call, event: CallEvent, reason: str) -> None:
    """A ringing call ends without an answer: missed (declined, timeout) or abandoned."""
    st = ctx.state
    role = "visitor" if event == CallEvent.VISITOR_LEFT else "server"
    call.state = step("call", CALL, role, call.state, event)
    call.ended_at = ctx.now
    call.end_reason = reason
    for op_id in sorted(call.ringing):
        _stop_ring(ctx, call, op_id, _STOP_REASON[event])
    ctx.cancel(("ring_timeout", call.id))
    visitor = st.visitors.get((call.account_id, call.visitor_id))
    if visitor is not None and visitor.call_id == call.id:
        visitor.call_id = None
    missed = call.state == CallState.MISSED
    ctx.to_visitor(
        call.account_id, call.visitor_id, p.CallStateEvent(call.id, call.state.value, missed)
    )
    ctx.persist(call)
    ended = UNANSWERED[call.state]
    ctx.log(ended(call.id, call.account_id, reason, wait=ctx.now - call.created_at))
    if missed:
        st.call_missed(call)
    else:
        st.retire_call(call)


def ring_timeout(ctx: Ctx, call_id: str) -> None:
    call = ctx.state.calls.get(call_id)
    if call is not None and call.state == CallState.RINGING:
        end_unanswered(ctx, call, CallEvent.TIMEOUT, "timeout")


def reconcile(ctx: Ctx) -> None:
    """Bring rings in line with eligibility after operators changed state.

    One place for every cause: an operator going away or offline, reaching or
    leaving max chats, coming online. A ring is never restarted at a console
    that declined that call.
    """
    st = ctx.state
    while ctx.dirty_operators:
        op_id = min(ctx.dirty_operators)
        ctx.dirty_operators.discard(op_id)
        op = st.operators[op_id]
        ctx.dirty_accounts.add(op.operator.account_id)
        can_ring = eligible(ctx, op)
        for call in st.ringing_calls(op.operator.account_id):
            ringing_here = op_id in call.ringing
            if can_ring and not ringing_here and op_id not in call.declined:
                _ring(ctx, call, op)
            elif not can_ring and ringing_here:
                _stop_ring(ctx, call, op_id, _ineligible_reason(op))
    for account_id in sorted(ctx.dirty_accounts):
        online = any(
            op.present and op.status == "online" for op in st.account_operators(account_id)
        )
        if st.available.get(account_id) != online:
            st.available[account_id] = online
            for visitor in st.account_visitors(account_id):
                ctx.to_visitor(account_id, visitor.id, p.Availability(online))
    ctx.dirty_accounts.clear()
