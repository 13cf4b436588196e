"""Rooms, invitations, visitor-id binding and session resume in the core."""

from server import protocol as p
from server.core import Conflict
from tests.support.world import World


def accepted_room(w, op, v):
    call = w.do(v, p.PlaceCall(id="c")).call
    return w.do(op, p.Accept(id="a", call=call)).room


def texts(w, sid, room):
    return [(m.n, m.text) for m in w.inbox[sid] if isinstance(m, p.ChatMessage) and m.room == room]


def test_messages_numbered_per_room_delivered_to_everyone_and_persisted():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    room = accepted_room(w, op, v)
    assert w.do(v, p.Send(id="1", room=room, text="hi")).n == 1
    assert w.do(op, p.Send(id="2", room=room, text="hello")).n == 2
    assert texts(w, v, room) == texts(w, op, room) == [(1, "hi"), (2, "hello")]
    stored = [(r.n, r.text) for r in w.persisted if type(r).__name__ == "Message"]
    assert stored == [(1, "hi"), (2, "hello")]


def test_typing_goes_to_the_others_only():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    room = accepted_room(w, op, v)
    w.take(v)
    w.take(op)
    w.do(v, p.Typing(room=room, on=True))
    assert [m.on for m in w.take(op, p.TypingEvent)] == [True]
    assert w.take(v, p.TypingEvent) == []


def test_only_participants_may_write():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    v1, v2 = w.visitor("pg1"), w.visitor("pg2")
    room = accepted_room(w, a, v1)
    assert w.do(b, p.Send(id="x", room=room, text="hi")).code == "forbidden"
    assert w.do(v2, p.Send(id="y", room=room, text="hi")).code == "forbidden"
    assert w.do(v1, p.Send(id="z", room=room, text="   ")).code == "invalid_field"


def test_operator_invited_into_room_gets_history_and_last_to_leave_ends_it():
    w = World(operators=2)
    a, b = w.operator(0), w.operator(1)
    v = w.visitor("pg1")
    room = accepted_room(w, a, v)
    w.do(v, p.Send(id="1", room=room, text="my order is late"))
    assert isinstance(w.do(a, p.InviteOperator(id="i", room=room, operator="op1")), p.Ok)
    invite = w.take(b, p.RoomInvite)[0]
    assert invite.invite.room == room and invite.invite.sender.id == "op0"
    assert isinstance(w.do(b, p.Join(id="j", room=room)), p.Ok)
    opened = w.take(b, p.RoomOpened)[0]
    assert [m.text for m in opened.room.messages] == ["my order is late"]
    assert [o.id for o in opened.room.operators] == ["op0", "op1"]
    assert w.take(v, p.ParticipantJoined)[0].who.id == "op1"
    w.do(b, p.Send(id="2", room=room, text="I'm from shipping"))
    assert texts(w, a, room)[-1] == (2, "I'm from shipping")
    w.do(a, p.Close(id="x", room=room))
    assert w.take(v, p.ParticipantLeft)[0].who.id == "op0"
    assert w.take(v, p.RoomClosed) == []
    w.do(b, p.Close(id="y", room=room))
    assert w.take(v, p.RoomClosed)[0].reason == "operator_closed"
    assert w.do(v, p.Send(id="z", room=room, text="hello?")).code == "illegal_state"


def test_decline_join_and_invite_rules():
    w = World(operators=3)
    a, b, c = w.operator(0), w.operator(1), w.operator(2)
    v = w.visitor("pg1")
    room = accepted_room(w, a, v)
    assert w.do(b, p.Join(id="j", room=room)).code == "forbidden"
    assert w.do(a, p.InviteOperator(id="i0", room=room, operator="op0")).code == "invalid_field"
    assert w.do(b, p.InviteOperator(id="i1", room=room, operator="op2")).code == "forbidden"
    w.do(a, p.InviteOperator(id="i2", room=room, operator="op2"))
    w.do(c, p.DeclineJoin(id="d", room=room))
    assert w.take(c, p.RoomInviteEnded)[-1].reason == "declined"
    assert w.do(c, p.Join(id="j2", room=room)).code == "forbidden"


def test_visitor_closing_ends_the_room_for_everyone():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    room = accepted_room(w, op, v)
    w.do(v, p.Close(id="x", room=room))
    assert w.take(op, p.RoomClosed)[0].reason == "visitor_closed"
    closed = [r for r in w.persisted if type(r).__name__ == "Call"][-1]
    assert closed.state == "closed"


def test_invitation_accepted_opens_a_room_with_the_inviter():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    visitor_id = w.take(op, p.VisitorArrived)[0].visitor.id
    inv = w.do(op, p.InviteVisitor(id="i", visitor=visitor_id, text="Need help?")).invitation
    shown = w.take(v, p.Invitation)[0].invitation
    assert (shown.invitation, shown.text, shown.operator.name) == (inv, "Need help?", "Operator 0")
    reply = w.do(v, p.InvitationReply(id="r", invitation=inv, accept=True))
    assert reply.room
    assert w.take(op, p.InvitationResult)[0].result == "accepted"
    assert w.take(op, p.RoomOpened)[0].room.invitation == inv


def test_invitation_declined_tells_the_operator_and_cancel_tells_the_visitor():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    vid = w.take(op, p.VisitorArrived)[0].visitor.id
    inv = w.do(op, p.InviteVisitor(id="i", visitor=vid)).invitation
    w.do(v, p.InvitationReply(id="r", invitation=inv, accept=False))
    assert w.take(op, p.InvitationResult)[0].result == "declined"
    inv2 = w.do(op, p.InviteVisitor(id="i2", visitor=vid)).invitation
    w.do(op, p.CancelInvitation(id="c", invitation=inv2))
    assert w.take(v, p.InvitationEnded)[0].reason == "cancelled"
    assert w.do(v, p.InvitationReply(id="r2", invitation=inv2, accept=True)).code == "not_found"


def test_a_visitor_calling_invited_or_chatting_is_not_invited():
    """The visitor table's refusals; the console explains them by the state they name."""
    w = World(operators=2)
    op, other = w.operator(0), w.operator(1)
    v = w.visitor("pg1")
    vid = w.take(op, p.VisitorArrived)[0].visitor.id

    def refusal(request_id):  # another operator's invite
        err = w.do(other, p.InviteVisitor(id=request_id, visitor=vid))
        return (err.code, err.message)

    busy = ("illegal_state", "operator cannot 'invite_visitor' a visitor in state 'busy'")
    inv = w.do(op, p.InviteVisitor(id="i", visitor=vid)).invitation
    assert refusal("i1") == busy  # invited
    w.do(op, p.CancelInvitation(id="c", invitation=inv))
    call = w.do(v, p.PlaceCall(id="call")).call
    assert refusal("i2") == busy  # calling
    w.do(op, p.Accept(id="a", call=call))
    chatting = ("illegal_state", "operator cannot 'invite_visitor' a visitor in state 'chatting'")
    assert refusal("i3") == chatting
    assert w.do(op, p.InviteVisitor(id="i4", visitor="v_gone")).code == "not_found"


def pinned_pair(binding):
    w = World(operators=1, binding=binding)
    op = w.operator(0)
    a = w.visitor("page-a", visitor_id="v_pinned", url="https://shop/a")
    b = w.visitor("page-b", visitor_id="v_pinned", url="https://shop/b")
    ids = [w.inbox[s][0].visitor_id for s in (a, b)]  # from welcome
    conflicts = [r for r in w.persisted if isinstance(r, Conflict)]
    return w, op, a, b, ids, conflicts


def test_legacy_binding_merges_two_people_sharing_a_pinned_id_and_records_it():
    w, op, a, b, ids, conflicts = pinned_pair("legacy")
    assert ids == ["v_pinned", "v_pinned"]
    assert len(conflicts) == 1
    c = conflicts[0]
    assert (c.first_page_instance, c.second_page_instance) == ("page-a", "page-b")
    assert (c.first_url, c.second_url, c.assigned_visitor_id) == (
        "https://shop/a",
        "https://shop/b",
        "v_pinned",
    )
    room = accepted_room(w, op, a)
    # the second person's page is in the same room: the reported fault
    assert w.do(b, p.PlaceCall(id="c2")).room == room
    w.do(b, p.Send(id="m", room=room, text="who are you?"))
    assert texts(w, a, room)[-1] == (1, "who are you?")


def test_strict_binding_gives_the_second_page_a_fresh_id_and_records_it():
    w, op, a, b, ids, conflicts = pinned_pair("strict")
    assert ids[0] == "v_pinned" and ids[1] != "v_pinned"
    assert len(conflicts) == 1 and conflicts[0].assigned_visitor_id == ids[1]
    room = accepted_room(w, op, a)
    assert w.do(b, p.Send(id="m", room=room, text="hi")).code == "forbidden"
    assert w.do(b, p.PlaceCall(id="c2")).call


def test_resume_replays_exactly_what_was_missed():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    room = accepted_room(w, op, v)
    seen = max(m.seq for m in w.inbox[op] if getattr(m, "seq", 0))
    w.drop(op)
    w.do(v, p.Send(id="1", room=room, text="are you there?"))
    w.advance(5)
    session, effects = w.hub.operator_connect(
        w.now, "op0", p.OperatorHello(token="t", session=op, last_seq=seen)
    )
    assert session.id == op
    replayed = [fx.message for fx in effects if hasattr(fx, "message")]
    assert isinstance(replayed[0], p.Welcome) and replayed[0].resumed
    assert [type(m).__name__ for m in replayed[1:]] == ["ChatMessage"]
    assert replayed[1].seq == seen + 1


def test_resume_beyond_the_buffer_gets_a_snapshot_and_unknown_session_a_new_one():
    w = World(operators=1)
    op = w.operator(0)
    session, effects = w.hub.operator_connect(
        w.now, "op0", p.OperatorHello(token="t", session=op, last_seq=999)
    )
    sent = [type(fx.message).__name__ for fx in effects if hasattr(fx, "message")]
    assert sent == ["Welcome", "OperatorSnapshot"]
    session, effects = w.hub.operator_connect(
        w.now, "op0", p.OperatorHello(token="t", session="s_gone", last_seq=3)
    )
    assert session.id != op
    assert next(fx.message for fx in effects if hasattr(fx, "message")).resumed is False


def test_a_resent_request_is_answered_again_not_applied_twice():
    w = World(operators=1)
    op = w.operator(0)
    v = w.visitor("pg1")
    room = accepted_room(w, op, v)
    first = w.do(v, p.Send(id="dup", room=room, text="once"))
    again = w.do(v, p.Send(id="dup", room=room, text="once"))
    assert (first.n, again.n) == (1, 1) and again.seq > first.seq
    assert texts(w, op, room) == [(1, "once")]


def test_visitor_resume_needs_its_token():
    w = World(operators=1)
    v = w.visitor("pg1")
    welcome = w.inbox[v][0]
    w.drop(v)
    session, _ = w.hub.visitor_connect(
        w.now,
        p.VisitorHello(
            account="acc",
            button="btn",
            page_instance="pg1",
            url="u",
            session=v,
            resume_token="wrong",
            last_seq=0,
        ),
    )
    assert session.id != v  # not resumed: takes the page over as a new session
    session2, _effects = w.hub.visitor_connect(
        w.now,
        p.VisitorHello(
            account="acc",
            button="btn",
            page_instance="pg1",
            url="u",
            session=session.id,
            resume_token=effects_token(w, session.id),
            last_seq=0,
        ),
    )
    assert session2.id == session.id and welcome.resume_token != effects_token(w, session.id)


def effects_token(w, sid):
    return w.hub.state.sessions[sid].resume_token


def test_unknown_account_or_button_fails_auth():
    import pytest

    from server.core import AuthFailed

    w = World()
    with pytest.raises(AuthFailed):
        w.hub.visitor_connect(
            w.now, p.VisitorHello(account="acc", button="nope", page_instance="x", url="u")
        )


def test_a_visitor_holds_one_open_room_a_second_call_opens_the_same_chat():
    w = World(operators=2)
    a = w.operator(0)
    v = w.visitor("pg1")
    room = accepted_room(w, a, v)
    again = w.do(v, p.PlaceCall(id="c2"))
    assert again.room == room and again.call is None
    assert len(w.hub.state.rooms) == 1  # no new room, no new ring
    assert not w.ringing(w.operator(1))


def test_another_accounts_operator_reaches_nothing_of_this_account():
    from server.core import Account, Operator

    w = World(operators=1)
    w.hub.load([Account("acc2", "Other")], [Operator("eve", "acc2", "eve", "Eve", "x")], [])
    a = w.operator(0)
    eve, _ = w.hub.operator_connect(w.now, "eve", p.OperatorHello(token="t"))
    v = w.visitor("pg1")
    call = w.do(v, p.PlaceCall(id="c")).call
    assert not w.ringing(eve.id)  # never rung, never told of the visitor
    assert not [m for m in w.inbox.get(eve.id, []) if isinstance(m, p.VisitorArrived)]
    assert w.do(eve.id, p.Accept(id="x", call=call)).code == "not_found"
    room = w.do(a, p.Accept(id="a", call=call)).room
    for request in (
        p.Send(id="s", room=room, text="hi"),
        p.Join(id="j", room=room),
        p.Close(id="c", room=room),
        p.InviteVisitor(id="i", visitor=w.hub.state.rooms[room].visitor_id),
    ):
        assert w.do(eve.id, request).code == "not_found", request
