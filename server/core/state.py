"""The hub's whole state: account data plus everything live."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import NotFound
from .ids import IdSource
from .model import (
    Account,
    Button,
    Call,
    Invitation,
    Operator,
    OperatorPresence,
    Room,
    Session,
    Timings,
    Visitor,
)


@dataclass(slots=True)
class State:
    ids: IdSource
    #: the protocol's timings (a session's grace period, what ``welcome`` says)
    timings: Timings = field(default_factory=Timings)
    accounts: dict[str, Account] = field(default_factory=dict)
    buttons: dict[str, Button] = field(default_factory=dict)
    operators: dict[str, OperatorPresence] = field(default_factory=dict)
    visitors: dict[tuple[str, str], Visitor] = field(default_factory=dict)
    # (account id, page-instance id) -> visitor id the page is bound to
    pages: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    # (account id, visitor id) -> open rooms of that visitor (rooms can outlive its pages)
    visitor_rooms: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # ended calls and rooms, kept a while so late requests get a precise answer
    ended_calls: OrderedDict[str, Call] = field(default_factory=OrderedDict)
    ended_rooms: OrderedDict[str, Room] = field(default_factory=OrderedDict)
    # (account id, visitor id) -> its last call, if that was missed (a server restart
    # included): the visitor's next snapshot says so, until it calls again or writes
    missed_calls: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)
    # which accounts had an available operator when visitors were last told
    available: dict[str, bool] = field(default_factory=dict)

    def add_account(self, account: Account) -> None:
        self.accounts[account.id] = account
        self.available.setdefault(account.id, False)

    def add_operator(self, operator: Operator) -> None:
        self.operators[operator.id] = OperatorPresence(operator)

    def add_button(self, button: Button) -> None:
        self.buttons[button.id] = button

    def account_operators(self, account_id: str) -> Iterator[OperatorPresence]:
        """Operators of one account, in id order (deterministic fan-out)."""
        for op_id in sorted(self.operators):
            op = self.operators[op_id]
            if op.operator.account_id == account_id:
                yield op

    def account_visitors(self, account_id: str) -> Iterator[Visitor]:
        for key in sorted(self.visitors):
            if key[0] == account_id:
                yield self.visitors[key]

    def retire_call(self, call: Call) -> None:
        """Move an ended call out of the live set."""
        self.calls.pop(call.id, None)
        _remember(self.ended_calls, call.id, call)

    def call_missed(self, call: Call) -> None:
        """Remember a missed call for its visitor's next snapshot (kept as an ended call)."""
        self.retire_call(call)
        _remember(self.missed_calls, (call.account_id, call.visitor_id), call.id)

    def retire_room(self, room: Room) -> None:
        self.rooms.pop(room.id, None)
        room.messages = []  # transcripts live in the store; keep memory flat
        room.requests = {}
        _remember(self.ended_rooms, room.id, room)

    def ringing_calls(self, account_id: str) -> list[Call]:
        return [
            c for c in self.calls.values() if c.account_id == account_id and c.state == "ringing"
        ]

    def open_rooms_of(self, account_id: str, visitor_id: str) -> list[Room]:
        ids = self.visitor_rooms.get((account_id, visitor_id), set())
        return [self.rooms[r] for r in sorted(ids)]

    def call(self, account_id: str, call_id: str) -> Call:
        call = self.calls.get(call_id) or self.ended_calls.get(call_id)
        if call is None or call.account_id != account_id:
            raise NotFound(f"no call {call_id!r}")
        return call

    def room(self, account_id: str, room_id: str) -> Room:
        room = self.rooms.get(room_id) or self.ended_rooms.get(room_id)
        if room is None or room.account_id != account_id:
            raise NotFound(f"no room {room_id!r}")
        return room

    def invitation(self, account_id: str, invitation_id: str) -> Invitation:
        inv = self.invitations.get(invitation_id)
        if inv is None or inv.account_id != account_id:
            raise NotFound(f"no invitation {invitation_id!r}")
        return inv

    def visitor(self, account_id: str, visitor_id: str) -> Visitor:
        """A visitor on the site now."""
        visitor = self.visitors.get((account_id, visitor_id))
        if visitor is None:
            raise NotFound(f"no visitor {visitor_id!r} on the site")
        return visitor

    def visitor_of_session(self, session: Session) -> Visitor:
        """The visitor a visitor session's page instance is bound to."""
        visitor_id = self.pages[(session.account_id, session.owner)]
        return self.visitors[(session.account_id, visitor_id)]


#: How many ended calls and rooms are remembered for precise late answers.
ENDED_MEMORY = 10_000


def _remember(store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    store[key] = value
    if len(store) > ENDED_MEMORY:
        store.popitem(last=False)
