"""Calls in the sans-I/O core: ringing, the accept race, declines, misses, presence."""

import random

from server import protocol as p
from server.core import Account, Settings
from server.core.lifecycle import RingStopped
from tests.support.world import World


def ring_events(w, sid):
    return [
        (type(m).__name__, getattr(m, "reason", None))
        for m in w.inbox.get(sid, [])
        if isinstance(m, p.Ring | p.RingStop)
    ]


def place(w, v):
    reply = w.do(v, p.PlaceCall(id=f"call-{random.random()}"))
    assert isinstance(reply, p.Ok), reply
    return reply.call


def test_call_rings_every_eligible_operator_and_visitor_sees_ringing():
    w = World(operators=3)
    ops = [w.operator(i) for i in range(3)]
    v = w.visitor("pg1")
    call = place(w, v)
    assert all(w.ringing(s) == {call} for s in ops)
    states = [m.state for m in w.inbox[v] if isinstance(m, p.CallStateEvent)]
    assert states == ["ringing"]


def test_accept_race_many_operators_one_winner_nobody_left_ringing():
    w = World(operators=20)
    ops = [w.operator(i) for i in range(20)]
    v = w.visitor("pg1")
    call = place(w, v)
    order = list(range(20))
    random.Random(7).shuffle(order)
    replies = {i: w.do(ops[i], p.Accept(id=f"a{i}", call=call)) for i in order}
    winners = [i for i, r in replies.items() if isinstance(r, p.Ok)]
    assert winners == [order[0]]
    for i, r in replies.items():
        if i != order[0]:
            assert isinstance(r, p.Error) and r.code == "illegal_state"
            assert "accepted" in r.message
    for i, s in enumerate(ops):
        assert w.ringing(s) == set()
        stops = [m for m in w.inbox[s] if isinstance(m, p.RingStop)]
        assert len(stops) == 1
        assert stops[0].reason == ("accepted" if i == order[0] else "accepted_elsewhere")
    assert [m.state for m in w.inbox[v] if isinstance(m, p.CallStateEvent)] == [
        "ringing",
        "accepted",
    ]
    assert len([m for m in w.inbox[v] if isinstance(m, p.RoomOpened)]) == 1


def test_ok_follows_every_event_the_request_caused():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    call = place(w, v)
    w.take(op)
    w.do(op, p.Accept(id="a", call=call))
    kinds = [type(m).__name__ for m in w.take(op)]
    assert kinds == ["RingStop", "RoomOpened", "Ok"]


def test_decline_stops_only_that_console_and_all_declined_is_missed():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    v = w.visitor("pg1")
    call = place(w, v)
    assert isinstance(w.do(a, p.Decline(id="d", call=call)), p.Ok)
    assert w.ringing(a) == set() and w.ringing(b) == {call}
    assert isinstance(w.do(b, p.Decline(id="d", call=call)), p.Ok)
    assert w.ringing(b) == set()
    last = [m for m in w.inbox[v] if isinstance(m, p.CallStateEvent)][-1]
    assert (last.state, last.leave_message) == ("missed", True)
    # a late accept names the state it found, and so does a late decline (the call table)
    err = w.do(a, p.Accept(id="late", call=call))
    assert err.code == "illegal_state" and "missed" in err.message
    err = w.do(a, p.Decline(id="late2", call=call))
    assert (err.code, err.message) == (
        "illegal_state",
        "operator cannot 'decline' a call in state 'missed'",
    )


def test_decline_of_a_call_that_is_not_ringing_here_is_forbidden():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    w.do(b, p.SetStatus(id="s", status="away"))
    v = w.visitor("pg1")
    call = place(w, v)
    assert w.do(b, p.Decline(id="d", call=call)).code == "forbidden"
    assert w.do(b, p.Accept(id="x", call=call)).code == "forbidden"
    assert w.do(a, p.Accept(id="y", call="call_nope")).code == "not_found"


def test_ring_timeout_misses_the_call_and_offers_a_message():
    w = World(operators=2, ring_timeout=30.0)
    ops = [w.operator(i) for i in range(2)]
    v = w.visitor("pg1")
    call = place(w, v)
    w.advance(29.9)
    assert all(w.ringing(s) == {call} for s in ops)
    w.advance(0.2)
    for s in ops:
        assert ring_events(w, s)[-1] == ("RingStop", "timeout")
    assert [m.state for m in w.inbox[v] if isinstance(m, p.CallStateEvent)][-1] == "missed"
    assert isinstance(
        w.do(v, p.LeaveMessage(id="m", name="Ann", email="a@x", text="call me")), p.Ok
    )
    assert any(type(r).__name__ == "OfflineMessage" and r.call_id == call for r in w.persisted)


def test_visitor_leaving_abandons_the_call():
    w = World(operators=2)
    ops = [w.operator(i) for i in range(2)]
    v = w.visitor("pg1")
    call = place(w, v)
    w.do(v, p.Bye())
    for s in ops:
        assert ring_events(w, s)[-1] == ("RingStop", "visitor_left")
    assert w.closed[-1].session_id == v
    assert any(getattr(r, "state", None) == "abandoned" and r.id == call for r in w.persisted)


def test_visitor_disconnect_abandons_after_grace_only():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    call = place(w, v)
    w.drop(v)
    w.advance(p.SESSION_GRACE - 1)
    assert w.ringing(op) == {call}
    w.advance(2)
    assert w.ringing(op) == set()


def test_away_stops_rings_and_online_makes_a_waiting_call_ring():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    w.do(a, p.SetStatus(id="s1", status="away"))
    v = w.visitor("pg1")
    call = place(w, v)
    assert w.ringing(a) == set() and w.ringing(b) == {call}
    w.do(b, p.SetStatus(id="s2", status="away"))
    assert ring_events(w, b)[-1] == ("RingStop", "away")
    w.do(a, p.SetStatus(id="s3", status="online"))
    assert w.ringing(a) == {call}


def test_call_rings_at_an_operator_who_logs_in_later_but_not_after_decline():
    w = World(operators=2)
    a = w.operator(0)
    v = w.visitor("pg1")
    call = place(w, v)
    b = w.operator(1)
    assert w.ringing(b) == {call}
    w.do(b, p.Decline(id="d", call=call))
    w.do(b, p.SetStatus(id="s", status="away"))
    w.do(b, p.SetStatus(id="s2", status="online"))
    assert w.ringing(b) == set() and w.ringing(a) == {call}


def test_max_chats_stops_ringing_and_closing_a_chat_rings_again():
    w = World(operators=1, max_chats=1)
    op = w.operator(0)
    v1, v2 = w.visitor("pg1"), w.visitor("pg2")
    c1 = place(w, v1)
    c2 = place(w, v2)
    room = w.do(op, p.Accept(id="a", call=c1)).room
    assert ("RingStop", "max_chats") in ring_events(w, op)
    assert w.ringing(op) == set()
    w.do(op, p.Close(id="x", room=room))
    assert w.ringing(op) == {c2}


def test_availability_follows_operators():
    w = World(operators=1)
    v = w.visitor("pg1")
    snap = next(m for m in w.inbox[v] if isinstance(m, p.VisitorSnapshot))
    assert snap.available is False
    op = w.operator(0)
    assert [m.online for m in w.inbox[v] if isinstance(m, p.Availability)] == [True]
    w.do(op, p.SetStatus(id="s", status="away"))
    assert [m.online for m in w.inbox[v] if isinstance(m, p.Availability)] == [True, False]


def test_operator_offline_after_grace_stops_rings():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    v = w.visitor("pg1")
    call = place(w, v)
    w.drop(a)
    w.advance(p.SESSION_GRACE + 1)
    # the console is gone, so the stop is recorded rather than delivered
    stops = [x for x in w.logs if isinstance(x, RingStopped)]
    assert stops == [RingStopped(call, "op0", "offline", duration=p.SESSION_GRACE)]
    assert w.ringing(b) == {call}
    status = [m.operator.status for m in w.inbox[b] if isinstance(m, p.OperatorStatusEvent)]
    assert status[-1] == "offline"


def test_lowering_max_chats_stops_rings_at_once_and_raising_it_rings_again():
    w = World(operators=1)
    op = w.operator(0)
    v1, v2 = w.visitor("pg1"), w.visitor("pg2")
    c1, c2 = place(w, v1), place(w, v2)
    w.do(op, p.Accept(id="a", call=c1))
    assert w.ringing(op) == {c2}
    w.apply(w.hub.update_settings(w.now, "acc", Settings(max_chats=1)))
    assert w.ringing(op) == set()
    assert ring_events(w, op)[-1] == ("RingStop", "max_chats")
    assert any(isinstance(r, Account) and r.settings.max_chats == 1 for r in w.persisted)
    w.apply(w.hub.update_settings(w.now, "acc", Settings(max_chats=2)))
    assert w.ringing(op) == {c2}


def test_logout_ends_the_session_at_once_without_grace():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    call = place(w, w.visitor("pg1"))
    assert w.hub.sessions_of("op0") == [a]
    w.apply(w.hub.end_session(w.now, a))
    assert w.hub.sessions_of("op0") == []
    stops = [x.reason for x in w.logs if isinstance(x, RingStopped)]
    assert stops == ["offline"]
    assert w.ringing(b) == {call}
