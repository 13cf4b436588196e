"""Builds the wire views (protocol structs) of core entities."""

from __future__ import annotations

from .. import protocol as p
from .model import Message, OperatorPresence, Room, Visitor
from .state import State


def visitor_info(visitor: Visitor) -> p.VisitorInfo:
    """The visitor as operators see it: its most recently seen page."""
    pages = sorted(visitor.pages.values(), key=lambda pg: (pg.last_seen, pg.id))
    latest = pages[-1] if pages else None
    return p.VisitorInfo(
        id=visitor.id,
        url=latest.url if latest else "",
        title=latest.title if latest else "",
        referrer=latest.referrer if latest else "",
        arrived_at=visitor.arrived_at,
        last_seen=latest.last_seen if latest else visitor.arrived_at,
        pages=len(pages),
    )


def gone_visitor_info(visitor_id: str, at: float) -> p.VisitorInfo:
    """A visitor who is no longer on the site (restored rooms)."""
    return p.VisitorInfo(visitor_id, "", "", "", at, at, 0)


def operator_info(op: OperatorPresence) -> p.OperatorInfo:
    return p.OperatorInfo(id=op.operator.id, name=op.operator.name, status=op.shown_status)  # type: ignore[arg-type]


def operator_party(op: OperatorPresence) -> p.Party:
    return p.Party(role="operator", id=op.operator.id, name=op.operator.name)


def visitor_party(visitor_id: str) -> p.Party:
    return p.Party(role="visitor", id=visitor_id, name="Visitor")


def message_item(msg: Message) -> p.MessageItem:
    party = p.Party(role=msg.role, id=msg.sender_id, name=msg.sender_name)  # type: ignore[arg-type]
    return p.MessageItem(room=msg.room_id, n=msg.n, sender=party, text=msg.text, at=msg.at)


def visitor_info_of(st: State, account_id: str, visitor_id: str, since: float) -> p.VisitorInfo:
    """The visitor if it is on the site; else a placeholder dated ``since``."""
    visitor = st.visitors.get((account_id, visitor_id))
    return visitor_info(visitor) if visitor else gone_visitor_info(visitor_id, since)


def room_visitor_info(st: State, room: Room) -> p.VisitorInfo:
    return visitor_info_of(st, room.account_id, room.visitor_id, room.opened_at)


def room_info(st: State, room: Room) -> p.RoomInfo:
    return p.RoomInfo(
        room=room.id,
        visitor=room_visitor_info(st, room),
        operators=[operator_party(st.operators[o]) for o in room.operators],
        messages=[message_item(m) for m in room.messages],
        call=room.call_id,
        invitation=room.invitation_id,
    )
