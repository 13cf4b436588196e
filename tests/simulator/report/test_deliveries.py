"""Delivery accounting (simulator/report/deliveries.py) on hand-made event logs: which
owed messages are lost, and which went with a session, were out of reach for good, or were
owed to a resume past the replay buffer."""

import pytest

from simulator.record import events as ev
from simulator.report.deliveries import deliveries
from simulator.report.metrics import metrics


def test_messages_owed_to_someone_whose_session_expired_are_not_counted_lost():
    log = [
        ev.RoomJoined(t=0, actor="v1", room="r1", role="visitor"),
        ev.RoomJoined(t=0, actor="op1", room="r1", role="operator"),
        ev.ConnectionLogged(t=1, actor="op1", state="lost"),
        ev.MessageSent(t=2, actor="v1", room="r1", mid="m-1"),
        ev.MessageReceived(t=2, actor="v1", room="r1", mid="m-1", n=1),
        ev.ConnectionLogged(t=90, actor="op1", state="snapshot"),  # back after its session expired
        ev.MessageSent(t=95, actor="v1", room="r1", mid="m-2"),
        ev.MessageReceived(t=95, actor="v1", room="r1", mid="m-2", n=2),
    ]
    d = deliveries(log)
    assert (d.gone_with_session, d.lost) == (1, 1)  # m-1 went with the session; m-2 is lost
    assert metrics(log)["messages.gone_with_session"] == 1


def owed_to_a_visitor(*states):
    """op1 sends m-1 at 10 into r1, where visitor v1 is, which never gets it; ``states``:
    v1's connection changes after its first connection at 0. Elsewhere op2 sends m-2 at
    60, which reaches it."""
    log = [
        ev.RoomJoined(t=0, actor="v1", room="r1", role="visitor"),
        ev.RoomJoined(t=0, actor="op1", room="r1", role="operator"),
        ev.RoomJoined(t=0, actor="op2", room="r2", role="operator"),
        ev.ConnectionLogged(t=0, actor="v1", state="connected"),
        ev.MessageSent(t=10, actor="op1", room="r1", mid="m-1"),
        ev.MessageReceived(t=10.1, actor="op1", room="r1", mid="m-1", n=1),
        ev.MessageSent(t=60, actor="op2", room="r2", mid="m-2"),
        ev.MessageReceived(t=60.1, actor="op2", room="r2", mid="m-2", n=1),
        *(
            ev.ConnectionLogged(t=t, actor="v1", state=state, code=1006 if state == "lost" else 0)
            for t, state in states
        ),
    ]
    return sorted(log, key=lambda e: e.t)


def merged(log, *more):
    """``log`` with ``more`` events, in time order (ties keep their order)."""
    return sorted([*log, *more], key=lambda e: e.t)


def with_a_later_message(log, sender, recipient):
    """``log`` with m-3, sent into r1 by ``sender`` at 11 (after m-1), reaching both the
    sender and ``recipient``."""
    return merged(
        log,
        ev.MessageSent(t=11, actor=sender, room="r1", mid="m-3"),
        ev.MessageReceived(t=11.1, actor=sender, room="r1", mid="m-3", n=2),
        ev.MessageReceived(t=11.2, actor=recipient, room="r1", mid="m-3", n=2),
    )


@pytest.mark.parametrize(
    "states",
    [
        [(5, "lost"), (20, "left")],  # in an outage at the send, left the site still in it
        [(5, "lost"), (7, "lost"), (20, "left")],  # reconnects tried in vain meanwhile
        [(12, "lost"), (20, "left")],  # lost its link with the message on its way
        [(5, "lost"), (8, "left")],  # left before the send: the server kept the room open
        [(5, "lost")],  # still disconnected when the run ended
        [(5, "lost"), (70, "left")],  # the runner's goodbye at the end, still disconnected
    ],
)
def test_messages_owed_to_someone_who_never_came_back_are_unreachable_not_lost(states):
    """The soak's case: a visitor's link went down just before an operator's message; it
    was still down when the run ended, and the runner said goodbye for it."""
    d = deliveries(owed_to_a_visitor(*states))
    assert (d.unreachable, d.lost, d.expected) == (1, 0, 3)
    m = metrics(owed_to_a_visitor(*states))
    assert (m["messages.unreachable"], m["lost_messages"]) == (1, 0)


def test_a_visitor_connected_at_the_send_that_left_without_it_lost_it():
    """It left over a live connection (a ``bye``): the server should have delivered."""
    d = deliveries(owed_to_a_visitor((20, "left")))
    assert (d.unreachable, d.lost) == (0, 1)
    d = deliveries(owed_to_a_visitor())  # connected when the run ended
    assert (d.unreachable, d.lost) == (0, 1)


@pytest.mark.parametrize(
    "states",
    [
        [(5, "lost"), (15, "resumed"), (20, "left")],
        [(5, "lost"), (15, "resumed"), (17, "lost"), (20, "left")],  # away again, then left
        [(5, "lost"), (8, "left"), (15, "connected"), (20, "lost"), (25, "left")],  # a new page
    ],
)
def test_a_visitor_back_after_the_send_that_left_without_it_lost_it(states):
    """On its return the server owed it the message (replayed on resume, in the room's
    history on a new page), whatever happened after."""
    d = deliveries(owed_to_a_visitor(*states))
    assert (d.unreachable, d.lost) == (0, 1)


def test_a_recipient_the_server_closed_itself_and_never_came_back_lost_it():
    """A slow consumer closed (1008) had its queued frames dropped by the server: lost."""
    log = owed_to_a_visitor(
        (20, "left")
    )  # connected at the send; then closed by the server, never back
    log = merged(log, ev.ConnectionLogged(t=12, actor="v1", state="lost", code=1008))
    d = deliveries(log)
    assert (d.unreachable, d.lost) == (0, 1)


def test_a_recipient_that_got_a_later_message_of_the_room_lost_the_skipped_one():
    """Delivery is in order: m-3 arriving means m-1 was skipped, not on its way, whatever
    became of the link after."""
    log = owed_to_a_visitor((12, "lost"), (20, "left"))
    log = with_a_later_message(log, sender="op1", recipient="v1")
    d = deliveries(log)
    assert (d.unreachable, d.lost) == (0, 1)


def owed_to_an_operator(*states, closed=31.0, reason="operator_closed"):
    """The soak's case: visitor v1 sends m-1 at 10 into r1, whose operator op1 never gets
    it; op1 clicks X at 30 and v1 hears the room close (``reason``) at ``closed`` (None:
    the room stays open). ``states``: op1's connection changes after its first
    connection at 0."""
    log = [
        ev.RoomJoined(t=0, actor="v1", room="r1", role="visitor"),
        ev.RoomJoined(t=0, actor="op1", room="r1", role="operator"),
        ev.ConnectionLogged(t=0, actor="op1", state="connected"),
        ev.MessageSent(t=10, actor="v1", room="r1", mid="m-1"),
        ev.MessageReceived(t=10.1, actor="v1", room="r1", mid="m-1", n=1),
        ev.RoomLeft(t=30, actor="op1", room="r1", reason="closed"),
        *(
            ev.ConnectionLogged(t=t, actor="op1", state=state, code=1006 if state == "lost" else 0)
            for t, state in states
        ),
    ]
    if closed is not None:
        log.append(ev.RoomLeft(t=closed, actor="v1", room="r1", reason=reason))
    return sorted(log, key=lambda e: e.t)


@pytest.mark.parametrize(
    "states",
    [
        # connected at the send, far behind its feed; then its link broke
        [(40, "lost"), (50, "resumed"), (50.1, "resynced")],
        [(5, "lost"), (50, "resumed"), (50, "resynced")],  # away at the send
    ],
)
def test_messages_of_a_closed_room_owed_to_a_resume_past_the_replay_are_not_lost(states):
    """Its return after the send was a snapshot of now (more than the replay buffer
    missed), and the room had closed by then: not in it."""
    d = deliveries(owed_to_an_operator(*states))
    assert (d.past_replay, d.lost, d.unreachable) == (1, 0, 0)
    m = metrics(owed_to_an_operator(*states))
    assert (m["messages.past_replay"], m["lost_messages"], m["resyncs"]) == (1, 0, 1)


@pytest.mark.parametrize(
    ("states", "closed", "reason"),
    [
        # the room never closed: a snapshot would have held it, with its history
        ([(40, "lost"), (50, "resumed"), (50.1, "resynced")], None, ""),
        # the room closed after the snapshot: it was still open in it
        ([(40, "lost"), (50, "resumed"), (50.1, "resynced")], 60.0, "operator_closed"),
        # its first return replayed the events: m-1 was owed in that replay
        (
            [(12, "lost"), (15, "resumed"), (40, "lost"), (50, "resumed"), (50, "resynced")],
            31.0,
            "operator_closed",
        ),
        # a resume lost again before anything came may have replayed: strict, lost
        (
            [(12, "lost"), (35, "resumed"), (35.5, "lost"), (50, "resumed"), (50, "resynced")],
            31.0,
            "operator_closed",
        ),
        # a resume before the send that came back as a snapshot excuses nothing after it
        ([(2, "lost"), (5, "resumed"), (5, "resynced")], 31.0, "operator_closed"),
        # an operator leaving a room that goes on is no sign the room closed
        ([(40, "lost"), (50, "resumed"), (50.1, "resynced")], 31.0, "you_left"),
    ],
)
def test_a_message_owed_to_a_resume_that_could_have_carried_it_is_lost(states, closed, reason):
    d = deliveries(owed_to_an_operator(*states, closed=closed, reason=reason))
    assert (d.past_replay, d.lost) == (0, 1)


def test_a_recipient_that_heard_the_room_close_skipped_the_message():
    """Delivery is in order and a message is taken only while its room is open: the close
    arriving means m-1 was skipped, whatever came after."""
    log = owed_to_an_operator((40, "lost"), (50, "resumed"), (50.1, "resynced"))
    log = merged(log, ev.RoomLeft(t=31, actor="op1", room="r1", reason="visitor_closed"))
    d = deliveries(log)
    assert (d.past_replay, d.lost) == (0, 1)


def test_a_resume_past_the_replay_does_not_excuse_a_message_skipped_before_it():
    log = owed_to_an_operator((40, "lost"), (50, "resumed"), (50.1, "resynced"))
    log = with_a_later_message(log, sender="v1", recipient="op1")
    d = deliveries(log)
    assert (d.past_replay, d.lost) == (0, 1)
