"""Checks on hand-made event logs, including logs that must fail."""

import pytest

from simulator import events as ev
from simulator.checks import deliveries, merges, metrics, ring_stops, rings_never_stopped, verdicts
from simulator.scenario import expectation


def race(acceptor_stop=1.2, other_stop=1.5):
    """A call ringing at two consoles; op1 clicks at 1.0 and wins; the server decides at 1.1."""
    return [
        ev.CallPlaced(t=0.0, actor="v1", call="c1"),
        ev.RingStart(t=0.1, operator="op1", call="c1"),
        ev.RingStart(t=0.1, operator="op2", call="c1"),
        ev.ClickAccept(t=1.0, operator="op1", call="c1"),
        ev.ServerDecision(t=1.1, call="c1", operator="op1", reason="accepted"),
        ev.ServerDecision(t=1.1, call="c1", operator="op2", reason="accepted_elsewhere"),
        ev.RingStop(t=acceptor_stop, operator="op1", call="c1", reason="accepted"),
        ev.AcceptResult(t=acceptor_stop, operator="op1", call="c1", won=True, room="r1"),
        ev.RingStop(t=other_stop, operator="op2", call="c1", reason="accepted_elsewhere"),
        ev.CallEnded(t=1.2, actor="v1", call="c1", outcome="accepted"),
    ]


def test_ring_stop_latency_for_acceptor_and_others():
    samples = ring_stops(race())
    got = {(s.operator, s.role): round(s.latency, 6) for s in samples}
    assert got == {("op1", "acceptor"): 0.2, ("op2", "other"): 0.4}
    m = metrics(race())
    assert m["ring_stop.acceptor.p95"] == pytest.approx(0.2)
    assert m["ring_stop.others.max"] == pytest.approx(0.4)
    assert m["time_to_answer.p50"] == pytest.approx(1.2)
    assert (m["calls.placed"], m["calls.accepted"], m["double_accepts"]) == (1, 1, 0)


def test_a_ring_that_goes_on_after_accept_fails_its_expectation():
    slow = metrics(race(acceptor_stop=4.0))  # the manual's fault: rings 3 s after Accept
    (verdict,) = verdicts([expectation("ring_stop.acceptor.p95", "< 0.5s")], slow)
    assert not verdict.passed and verdict.value == pytest.approx(3.0)


def test_rings_that_never_stop_and_double_accepts_are_counted():
    log = [*race()[:3], ev.AcceptResult(t=2, operator="op1", call="c1", won=True)]
    log.append(ev.AcceptResult(t=2, operator="op2", call="c1", won=True))
    assert rings_never_stopped(log) == [("c1", "op1"), ("c1", "op2")]
    m = metrics(log)
    assert (m["rings_never_stopped"], m["double_accepts"]) == (2, 1)


def test_merged_visitors_counts_true_identities_sharing_a_room():
    log = [
        ev.RoomJoined(t=1, actor="alice-visitor", room="r1", role="visitor"),
        ev.RoomJoined(t=2, actor="bob-visitor", room="r1", role="visitor"),
        ev.RoomJoined(t=2, actor="op1", room="r1", role="operator"),
        ev.RoomJoined(t=3, actor="carol-visitor", room="r2", role="visitor"),
        ev.RoomJoined(t=4, actor="carol-visitor", room="r2", role="visitor"),  # her second tab
    ]
    assert merges(log) == {"r1": {"alice-visitor", "bob-visitor"}}
    m = metrics(log)
    assert (m["merged_rooms"], m["merged_visitors"]) == (1, 2)
    (verdict,) = verdicts([expectation("merged_visitors", 0)], m)
    assert not verdict.passed


def chat(received):
    joined = [
        ev.RoomJoined(t=0, actor="v", room="r", role="visitor"),
        ev.RoomJoined(t=0, actor="op", room="r", role="operator"),
    ]
    sent = [ev.MessageSent(t=i + 1, actor="v", room="r", mid=f"m{i}") for i in range(3)]
    return joined + sent + received


def got(actor, mids_and_ns):
    return [ev.MessageReceived(t=10, actor=actor, room="r", mid=m, n=n) for m, n in mids_and_ns]


def test_messages_all_delivered_once_in_order():
    log = chat(
        got("v", [("m0", 1), ("m1", 2), ("m2", 3)]) + got("op", [("m0", 1), ("m1", 2), ("m2", 3)])
    )
    d = deliveries(log)
    assert (d.lost, d.duplicated, d.reordered, d.expected) == (0, 0, 0, 6)


def test_lost_duplicated_and_reordered_messages_are_counted():
    log = chat(
        got("v", [("m0", 1), ("m1", 2), ("m2", 3)])
        + got("op", [("m0", 1), ("m2", 3), ("m2", 3), ("m1", 2)])
    )
    d = deliveries(log)
    assert (d.lost, d.duplicated, d.reordered) == (0, 1, 1)
    log = chat(got("v", [("m0", 1), ("m1", 2), ("m2", 3)]) + got("op", [("m0", 1)]))
    m = metrics(log)
    assert m["lost_messages"] == 2
    assert [v.passed for v in verdicts([expectation("lost_messages", 0)], m)] == [False]


def test_unknown_or_empty_metric_fails_the_expectation():
    results = verdicts(
        [expectation("no.such.metric", "< 1"), expectation("ring_stop.others.p95", "< 1s")],
        metrics([]),
    )
    assert [r.passed for r in results] == [False, False]
    assert results[1].value is None


def test_event_log_round_trips_through_jsonl(tmp_path):
    path = tmp_path / "events.jsonl"
    ev.write(path, race())
    back = list(ev.read(path))
    assert back == sorted(race(), key=lambda e: e.t)
    assert path.read_text().splitlines()[0].startswith('{"kind":"call_placed","t":0.0')
