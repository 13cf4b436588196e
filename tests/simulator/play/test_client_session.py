"""The sans-I/O client session (simulator/play/actors/session.py): events in, frames out."""

import msgspec
import pytest

from server import protocol as p
from simulator.play.actors.session import (
    ACK_DELAY,
    ACK_EVERY,
    ClientSession,
    RequestFailed,
    outcome,
)

VISITOR = p.VisitorHello(account="demo", button="btn", page_instance="pg", url="/")


def welcome(session="s_1", *, resumed=False, last_seq=0, resume_token=None):
    return p.Welcome(
        role="visitor",
        session=session,
        resumed=resumed,
        last_seq=last_seq,
        heartbeat_interval=10.0,
        dead_peer_timeout=30.0,
        session_grace=30.0,
        resume_token=resume_token,
    )


def event(seq):
    return p.Availability(online=True, seq=seq)


def welcomed(session=None, **options):
    """A session past its first welcome on its first connection."""
    session = session or ClientSession()
    session.connect(VISITOR)
    session.welcome(welcome(resume_token="rt_1", **options))
    return session


def test_the_first_hello_asks_for_batches_and_later_ones_resume():
    session = ClientSession()
    assert session.connect(VISITOR) == msgspec.structs.replace(VISITOR, batch=True)
    assert session.welcome(welcome(resume_token="rt_1")).state == "connected"
    for seq in (1, 2, 3):
        session.receive(event(seq), 0.0)
    again = session.connect(VISITOR)
    assert (again.session, again.last_seq, again.resume_token) == ("s_1", 3, "rt_1")
    operator = session.connect(p.OperatorHello(token="tok"))
    assert (operator.session, operator.last_seq) == ("s_1", 3)
    assert p.encode(operator) == (
        '{"type":"hello","token":"tok","session":"s_1","last_seq":3,"batch":true}'
    )


def test_a_resume_keeps_the_token_a_welcome_does_not_repeat():
    session = welcomed()
    session.connect(VISITOR)
    session.welcome(welcome(resumed=True))
    assert session.connect(VISITOR).resume_token == "rt_1"


def test_sequenced_events_advance_and_replayed_ones_are_dropped():
    session = welcomed()
    for seq in (1, 2, 3):
        assert session.receive(event(seq), 0.0).event == event(seq)
    assert session.last_seq == 3
    session.connect(VISITOR)
    result = session.welcome(welcome(resumed=True, last_seq=5))
    assert result.state == "resumed" and session.last_seq == 3
    for seq in (2, 3):  # a replay racing the resume: already processed
        step = session.receive(event(seq), 1.0)
        assert (step.event, step.send, step.reply, step.ack_at) == (None, [], None, None)
    assert session.receive(event(4), 1.0).event == event(4)
    assert session.last_seq == 4


def test_a_new_session_starts_numbering_again():
    session = welcomed()
    session.receive(event(7), 0.0)
    session.connect(VISITOR)
    assert session.welcome(welcome("s_2", resumed=False)).state == "snapshot"
    assert session.last_seq == 0 and session.session_id == "s_2"
    assert session.receive(event(1), 0.0).event == event(1)


def test_resumed_true_for_another_session_is_a_new_session():
    session = welcomed()
    session.receive(event(4), 0.0)
    session.connect(VISITOR)
    assert session.welcome(welcome("s_other", resumed=True)).state == "snapshot"
    assert session.last_seq == 0


def test_ping_is_answered_and_not_handed_on():
    step = welcomed().receive(p.Ping(), 0.0)
    assert step.send == [p.Pong()] and step.event is None


def test_acks_are_batched_by_count_and_by_delay():
    session = welcomed()
    first = session.receive(event(1), 10.0)
    assert first.send == [] and first.ack_at == 10.0 + ACK_DELAY
    for seq in range(2, ACK_EVERY):
        step = session.receive(event(seq), 10.2)
        assert step.send == [] and step.ack_at is None  # one timer at a time
    assert session.receive(event(ACK_EVERY), 10.3).send == [p.Ack(seq=ACK_EVERY)]
    # the flush leaves the timer armed: what follows is acknowledged when it fires
    assert session.receive(event(ACK_EVERY + 1), 10.4).ack_at is None
    assert session.on_timer(10.9) == []  # not due yet
    assert session.on_timer(11.0) == [p.Ack(seq=ACK_EVERY + 1)]
    assert session.ack_deadline is None
    assert session.receive(event(ACK_EVERY + 2), 12.0).ack_at == 12.0 + ACK_DELAY


def test_a_timer_with_nothing_owed_sends_nothing():
    session = welcomed()
    session.receive(event(1), 0.0)
    for seq in range(2, ACK_EVERY + 1):
        session.receive(event(seq), 0.0)
    assert session.on_timer(ACK_DELAY) == []


def test_a_new_connection_starts_batching_over():
    session = welcomed()
    for seq in range(1, ACK_EVERY):
        session.receive(event(seq), 0.0)
    session.connect(VISITOR)  # the resume's last_seq acknowledges those
    assert session.ack_deadline is None
    session.welcome(welcome(resumed=True))
    step = session.receive(event(ACK_EVERY), 5.0)
    assert step.send == [] and step.ack_at == 5.0 + ACK_DELAY


def test_ack_every_one_acknowledges_each_event_at_once():
    session = welcomed(ClientSession(ack_every=1))
    for seq in (1, 2):
        step = session.receive(event(seq), 0.0)
        assert step.send == [p.Ack(seq=seq)] and step.ack_at is None


def test_replies_are_paired_with_their_requests():
    session = welcomed()
    call = session.request(p.PlaceCall(id=session.next_id()), "waiter-1")
    send = session.request(p.Send(id=session.next_id(), room="r", text="hi"), "waiter-2")
    assert (call.id, send.id) == ("r1", "r2")
    assert session.pending == [call, send]
    ok = p.Ok(ref="r2", room="r", n=1, seq=1)
    step = session.receive(ok, 0.0)
    assert step.reply == ("waiter-2", ok) and step.event == ok
    assert session.pending == [call]
    stranger = session.receive(p.Ok(ref="r9", seq=2), 0.0)  # not ours (or answered already)
    assert stranger.reply is None and stranger.event is not None


def test_an_unsequenced_error_answers_its_request_without_a_seq():
    session = welcomed()
    session.request(p.PlaceCall(id="r1"), "w")
    busy = p.Error(code="rate_limited", message="slow down", ref="r1", retry_after=0.5)
    step = session.receive(busy, 0.0)
    assert step.reply == ("w", busy) and step.send == [] and step.ack_at is None
    assert session.last_seq == 0
    with pytest.raises(RequestFailed) as failed:
        outcome(busy)
    assert failed.value.code == "rate_limited" and failed.value.error is busy
    assert str(failed.value) == "rate_limited: slow down"


def test_a_resume_sends_the_unanswered_requests_again():
    session = welcomed()
    first = session.request(p.PlaceCall(id="r1"), "w1")
    second = session.request(p.Hangup(id="r2", call="c"), "w2")
    session.connect(VISITOR)
    result = session.welcome(welcome(resumed=True))
    assert result.resend == [first, second] and result.lost == []


def test_requests_of_a_lost_session_fail():
    session = welcomed()
    session.request(p.PlaceCall(id="r1"), "w1")
    session.connect(VISITOR)
    result = session.welcome(welcome("s_2"))
    assert result.resend == [] and session.pending == []
    [(waiter, error)] = result.lost
    assert waiter == "w1" and (error.code, error.ref) == ("session_lost", "r1")
    with pytest.raises(RequestFailed, match="session_lost"):
        outcome(error)


def test_outcome_passes_an_ok_through():
    ok = p.Ok(ref="r1", call="c", seq=3)
    assert outcome(ok) is ok


def test_a_welcome_is_not_an_ordinary_event():
    with pytest.raises(TypeError):
        welcomed().receive(welcome(), 0.0)


def test_the_demo_client_keeps_its_error_name():
    from simulator.play import client

    assert client.ProtocolError is RequestFailed


def snapshot(seq):
    return p.VisitorSnapshot(visitor_id="v_1", available=True, rooms=[], seq=seq)


def test_a_snapshot_after_a_resumed_welcome_is_a_resync():
    """Past the replay buffer the server answers a resume with the state of now."""
    session = welcomed()
    assert not session.receive(snapshot(1), 0.0).resynced  # a first session's snapshot
    session.receive(event(2), 0.0)
    session.connect(VISITOR)
    session.welcome(welcome(resumed=True, last_seq=2000))
    step = session.receive(snapshot(2001), 1.0)
    assert step.resynced and step.event == snapshot(2001) and session.last_seq == 2001
    assert not session.receive(event(2002), 1.0).resynced


def test_a_replay_after_a_resumed_welcome_is_no_resync():
    session = welcomed()
    session.receive(event(1), 0.0)
    session.connect(VISITOR)
    session.welcome(welcome(resumed=True, last_seq=3))
    assert not any(session.receive(event(seq), 1.0).resynced for seq in (2, 3))
    session.connect(VISITOR)
    session.welcome(welcome("s_2", resumed=False))  # a new session's snapshot: not a resync
    assert not session.receive(snapshot(1), 2.0).resynced
