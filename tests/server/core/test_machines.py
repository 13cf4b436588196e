"""Every legal and every illegal transition of every table."""

import itertools

import pytest

from server.core import IllegalTransition
from server.core.machines import (
    CALL,
    INVITATION,
    ROOM,
    VISITOR,
    CallEvent,
    CallState,
    InvitationEvent,
    InvitationState,
    RoomEvent,
    RoomState,
    VisitorEvent,
    VisitorState,
    step,
)

TABLES = [
    ("call", CALL, CallState, CallEvent),
    ("room", ROOM, RoomState, RoomEvent),
    ("invitation", INVITATION, InvitationState, InvitationEvent),
    ("visitor", VISITOR, VisitorState, VisitorEvent),
]
CASES = [
    (name, table, state, event)
    for name, table, states, events in TABLES
    for state, event in itertools.product(states, events)
]


@pytest.mark.parametrize(("name", "table", "state", "event"), CASES)
def test_transition(name, table, state, event):
    if (state, event) in table:
        assert step(name, table, "operator", state, event) == table[(state, event)]
    else:
        with pytest.raises(IllegalTransition) as info:
            step(name, table, "operator", state, event)
        err = info.value
        assert (err.machine, err.role, err.state, err.event) == (
            name,
            "operator",
            state.value,
            event.value,
        )
        assert err.code == "illegal_state"
        assert f"'{event.value}'" in str(err) and f"'{state.value}'" in str(err)


def test_terminal_states_have_no_exit():
    for terminal in (CallState.CLOSED, CallState.MISSED, CallState.ABANDONED):
        assert not [k for k in CALL if k[0] == terminal]
    assert not [k for k in ROOM if k[0] == RoomState.CLOSED]
