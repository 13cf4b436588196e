"""Outages as a real network has them, from scenario files written for this test.

An outage black-holes the actor's traffic, new connections included: a reconnect
waits it out (its SYNs go unanswered, and are sent again 1, 2, 4... s apart). A console
that was away while a call was taken elsewhere gets the ring and its stop together on
return: a late offer, not ringing after Accept.
"""

import pytest

from simulator.network.link.path import Path, syn_times
from simulator.network.link.spec import LinkSpec
from simulator.play.runner import run
from simulator.record import events as ev
from simulator.report.metrics import metrics
from simulator.scenario import load

OPERATORS = """
name = "{name}"
duration = "40s"
seed = {seed}

[links.mobile]
profile = "broadband"
{link}

[[operators]]
name = "ops"
count = 1
link = "mobile"
reaction = "1s"
close_after = "20s"
"""

VISITOR = """
[[visitors]]
name = "v"
count = 1
arrival = "uniform"
over = "{over}"
messages = 2
think = "2s"
"""

FAULT = """
[[faults]]
at = "{at}"
action = "{action}"
target = "{target}"
{extra}
"""


def play(tmp_path, text):
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    events = run(load(path)).events
    return events, metrics(events)


def connections(events, actor_prefix="op_"):
    return [
        (e.t, e.state)
        for e in events
        if isinstance(e, ev.ConnectionLogged) and e.actor.startswith(actor_prefix)
    ]


@pytest.mark.parametrize("seed", [3, 4])
def test_a_reconnect_waits_out_a_fault_outage(tmp_path, seed):
    """A reset 3 s into a 10 s outage: the console is back only after the outage, and a
    call placed during it is answered after it (it was answered 1.19 s into the outage)."""
    text = OPERATORS.format(name="waits", seed=seed, link="")
    text += VISITOR.format(over="24s")
    text += FAULT.format(
        at="10s", action="outage", target="operators.ops", extra='duration = "10s"'
    )
    text += FAULT.format(at="13s", action="reset", target="operators.ops", extra="")
    events, m = play(tmp_path, text)
    states = connections(events)
    lost = [t for t, s in states if s == "lost"]
    back = [t for t, s in states if s in ("resumed", "snapshot", "connected") and t > 10]
    assert lost and lost[0] == pytest.approx(13.0)
    assert back and back[0] >= 20.0
    downs = [e for e in events if isinstance(e, ev.LinkDown)]
    assert [(d.t, d.seconds, d.cause) for d in downs] == [(10.0, 10.0, "fault")]
    # nothing reached the operator during the outage
    frames_in = [
        e.t
        for e in events
        if isinstance(e, ev.Frame) and e.dir == "in" and e.actor.startswith("op_")
    ]
    assert not [t for t in frames_in if 10.0 < t < 20.0]
    clicks = [e.t for e in events if isinstance(e, ev.ClickAccept)]
    assert all(not 10.0 <= t < 20.0 for t in clicks)
    assert m["lost_messages"] == 0


@pytest.mark.parametrize("where", ["link", "fault"])
def test_an_outage_longer_than_reset_after_resets_and_the_reconnect_waits(tmp_path, where):
    """The link's own outage and a fault's outage both honour ``outage_reset_after``."""
    if where == "link":
        link = 'outages = [["10s", "10s"]]\noutage_reset_after = "3s"'
        text = OPERATORS.format(name="link_outage", seed=5, link=link)
    else:
        text = OPERATORS.format(name="fault_outage", seed=5, link='outage_reset_after = "3s"')
    text += VISITOR.format(over="30s")
    if where == "fault":
        text += FAULT.format(
            at="10s", action="outage", target="operators.ops", extra='duration = "10s"'
        )
    events, _ = play(tmp_path, text)
    states = connections(events)
    lost = [t for t, s in states if s == "lost"]
    assert lost and lost[0] == pytest.approx(13.0, abs=0.1)  # reset 3 s into it
    back = [t for t, s in states if s != "lost" and t > lost[0]]
    assert back and back[0] >= 20.0
    (down,) = [e for e in events if isinstance(e, ev.LinkDown)]
    assert down.cause == where and down.seconds == pytest.approx(10.0)


def test_a_console_away_while_a_call_is_taken_elsewhere_does_not_count_as_ringing(tmp_path):
    """Offline for 10 s while a colleague answers: on return the console gets the ring and
    its stop together. ``ring_overrun.max`` stays under 1 s; the offer counts as late."""
    text = OPERATORS.format(name="away", seed=3, link="").replace('name = "ops"', 'name = "here"')
    text += (
        OPERATORS.split("[[operators]]")[1].replace('"ops"', '"away"').join(["[[operators]]", ""])
    )
    text += VISITOR.format(over="6s")
    text += FAULT.format(
        at="1s", action="outage", target="operators.away", extra='duration = "10s"'
    )
    _, m = play(tmp_path, text)
    assert m["calls.accepted"] == 1
    assert m["late_offers"] == 1
    assert m["ring_overrun.max"] < 1.0


def test_syns_into_an_outage_are_sent_again_until_one_gets_through():
    path = Path(LinkSpec(), seed=1, faults=True)
    path.cut(100.0, 10.0)
    assert syn_times(101.0)[:5] == [101.0, 102.0, 104.0, 108.0, 116.0]
    assert [path.up(t) for t in syn_times(101.0)[:5]] == [False, False, False, False, True]
    assert path.up(95.0) and path.up(110.0)
    assert syn_times(201.0)[-1] == 201.0 + 127.0  # Linux gives up after 6 retries


def test_an_outage_that_begins_while_a_reconnect_waits_holds_it_too(tmp_path):
    """Reset 3 s into a 10 s outage; a second outage from 15 s to 25 s. The SYN of 20.5 s
    falls into the second one: the console is back with the SYN of 28.5 s, not at 25 s
    (whether a SYN gets through is decided when it is sent)."""
    text = OPERATORS.format(name="two_outages", seed=3, link="")
    text += VISITOR.format(over="30s")
    text += FAULT.format(
        at="10s", action="outage", target="operators.ops", extra='duration = "10s"'
    )
    text += FAULT.format(at="13s", action="reset", target="operators.ops", extra="")
    text += FAULT.format(
        at="15s", action="outage", target="operators.ops", extra='duration = "10s"'
    )
    events, m = play(tmp_path, text)
    states = connections(events)
    assert [s for t, s in states if t > 10] == ["lost", "resumed"]
    back = next(t for t, s in states if s == "resumed")
    assert back == pytest.approx(28.5, abs=0.2)
    assert m["reconnects"] == 1
