"""The report explains long rings in words, from hand-made event logs."""

import json

import pytest
from matplotlib.transforms import Bbox

from simulator.record import events as ev
from simulator.report.causes import explain, late_offers, rings_after
from simulator.report.charts import attribution_figure
from simulator.report.files import write_report
from simulator.report.index import Index, pair
from simulator.report.labels import Labels, link_settings
from simulator.report.load import consoles_ringing, outage_lanes, steps
from simulator.report.metrics import ring_stops
from simulator.scenario import parse
from tests.simulator.report.logs import ALICE, BOB, CAROL, log, operator


def stories_of(events):
    index = Index.of(events)
    labels = Labels(index)
    return explain(events, index, labels, {"mobile": "3g*"}), labels


def test_a_long_ring_names_its_stalls_with_their_lengths_and_direction():
    stories, _ = stories_of(log())
    story = stories[0]
    assert story.label == "call #3 (shoppers[2])"  # numbered in the order calls were placed
    assert story.header.startswith("Call #3 (shoppers[2]), placed at 10.0 s, rang at 3 consoles.")
    assert "alice[0] clicked Accept at 12.4 s and won." in story.header
    alice = next(r for r in story.rings if r.operator == ALICE)
    assert alice.role == "winner" and alice.seconds == pytest.approx(4.1)
    assert alice.text.startswith("alice[0]'s console rang 4.10 s after the click: ")
    assert (
        "2 uplink retransmission stalls (1.20 s, 2.40 s) on the mobile (3g*) link delayed"
        " the accept" in alice.text
    )
    assert "5.00 s" not in alice.text  # a stall after the ring is no cause of it
    stall = next(c for c in alice.causes if c.kind == "stall")
    assert (stall.direction, stall.count, stall.seconds) == ("up", 2, (1.2, 2.4))
    assert "the accept reached the server 3.80 s after the click" in alice.text.lower()


def test_a_late_clicker_is_named_as_having_lost_and_an_outage_is_named():
    stories, _ = stories_of(log())
    story = stories[0]
    assert "bob[1] clicked Accept at 13.1 s, 700 ms after alice[0], and lost." in story.header
    bob = next(r for r in story.rings if r.operator == BOB)
    assert bob.role == "loser" and bob.seconds == pytest.approx(18.0 - 12.4)
    assert "bob[1] clicked Accept at 13.1 s, 700 ms after alice[0], and lost" in bob.text
    assert "1 downlink retransmission stall (1.50 s) on the mobile (3g*) link" in bob.text
    # bob's stop waited for alice's accept: her uplink stalls are named for him too
    assert "the server decided its stop only 3.80 s after alice[0]'s click" in bob.text
    carol = next(r for r in story.rings if r.operator == CAROL)
    assert "its path was down 3.00 s from 16.0 s (a fault of the scenario)" in carol.text
    assert "the scenario's fault “outage operators.carol” was applied at 16.0 s" in carol.text
    assert "its connection dropped at 16.1 s and resumed its session at 19.1 s" in carol.text
    assert "past the replay buffer" not in carol.text


def test_a_resume_past_the_replay_buffer_is_named():
    resynced = ev.ConnectionLogged(t=19.1, actor=CAROL, state="resynced")
    events = sorted([*log(), resynced], key=lambda e: e.t)
    stories, _ = stories_of(events)
    carol = next(r for r in stories[0].rings if r.operator == CAROL)
    assert (
        "resumed its session at 19.1 s (past the replay buffer: a snapshot instead of the"
        " events)" in carol.text
    )


def test_clean_calls_are_not_long_and_a_first_click_that_lost_says_why():
    rings = rings_after(Index.of(log()))
    short = [r for r in rings if r.call in ("c1", "c2")]
    assert short and not any(r.long for r in short)  # 100 ms: within the floor
    race = [
        operator(ALICE, "alice[0]"),
        operator(BOB, "bob[1]"),
        ev.CallPlaced(t=0, actor="v", call="c"),
        ev.RingStart(t=0.1, operator=ALICE, call="c"),
        ev.RingStart(t=0.1, operator=BOB, call="c"),
        ev.ClickAccept(t=1.0, operator=BOB, call="c"),  # bob first, on a slow uplink
        ev.ClickAccept(t=1.5, operator=ALICE, call="c"),
        ev.ServerReceived(t=1.6, call="c", operator=ALICE),
        ev.ServerDecision(t=1.6, call="c", operator=ALICE, reason="accepted"),
        ev.ServerDecision(t=1.6, call="c", operator=BOB, reason="accepted_elsewhere"),
        ev.RingStopLogged(t=1.7, operator=ALICE, call="c", reason="accepted"),
        ev.AcceptResult(t=1.7, operator=ALICE, call="c", won=True),
        ev.ServerReceived(t=3.0, call="c", operator=BOB),
        ev.RingStopLogged(t=4.0, operator=BOB, call="c", reason="accepted_elsewhere"),
    ]
    (story,) = stories_of(race)[0]
    assert (
        "bob[1] clicked Accept first, at 1.0 s, but lost: its accept reached the server"
        " at 3.0 s, after alice[0]'s (1.6 s)" in story.header
    )


def test_an_offer_that_came_after_the_call_was_taken_is_named():
    events = [
        operator(ALICE, "alice[0]"),
        operator(CAROL, "carol[2]"),
        ev.CallPlaced(t=0, actor="v", call="c"),
        ev.RingStart(t=0.1, operator=ALICE, call="c"),
        ev.ClickAccept(t=1.0, operator=ALICE, call="c"),
        ev.ServerReceived(t=1.1, call="c", operator=ALICE),
        ev.ServerDecision(t=1.1, call="c", operator=ALICE, reason="accepted"),
        ev.RingStopLogged(t=1.2, operator=ALICE, call="c", reason="accepted"),
        ev.AcceptResult(t=1.2, operator=ALICE, call="c", won=True),
        ev.RingStart(t=1.9, operator=CAROL, call="c"),  # carol's console was away
        ev.ServerDecision(t=1.95, call="c", operator=CAROL, reason="accepted_elsewhere"),
        ev.RingStopLogged(t=3.4, operator=CAROL, call="c", reason="accepted_elsewhere"),
    ]
    (story,) = stories_of(events)[0]
    carol = next(r for r in story.rings if r.operator == CAROL)
    assert carol.long and carol.seconds == pytest.approx(1.5)
    assert (
        "the offer reached carol[2]'s console only at 1.9 s, 800 ms after the call was taken"
        " (a late offer)" in carol.text
    )


def test_nothing_found_is_said_and_a_ring_that_never_stopped_too():
    events = [
        operator(ALICE, "alice[0]"),
        ev.CallPlaced(t=0, actor="v", call="c"),
        ev.RingStart(t=0.1, operator=ALICE, call="c"),
        ev.ClickAccept(t=1.0, operator=ALICE, call="c"),
        ev.AcceptResult(t=1.2, operator=ALICE, call="c", won=True),
        ev.RoomLeft(t=9.0, actor="v", room="r", reason="closed"),
    ]
    (story,) = stories_of(events)[0]
    (ring,) = story.rings
    assert ring.stop is None and ring.seconds == pytest.approx(8.0)
    assert "it was still ringing when the run ended" in ring.text
    events.insert(-1, ev.RingStopLogged(t=3.0, operator=ALICE, call="c", reason="accepted"))
    (story,) = stories_of(events)[0]
    assert "no retransmission stall, outage, fault or reconnect of alice[0]" in story.rings[0].text
    assert "records no link stalls at all" in story.rings[0].text


def test_consoles_ringing_pairs_starts_and_stops_per_call_and_console():
    events = [
        ev.RingStart(t=1, operator="op1", call="c1"),
        ev.RingStart(t=1, operator="op2", call="c1"),
        ev.RingStopLogged(t=2, operator="op1", call="c1", reason="accepted"),
        ev.RingStopLogged(t=2, operator="op2", call="c1", reason="accepted_elsewhere"),
        # op1 reconnects: the replay brings the ring's start and its stop together
        ev.RingStart(t=5, operator="op1", call="c1"),
        ev.RingStopLogged(t=5, operator="op1", call="c1", reason="accepted"),
        ev.RingStopLogged(
            t=5.5, operator="op2", call="c1", reason="accepted_elsewhere"
        ),  # no start
        ev.RingStart(t=7, operator="op1", call="c2"),
        ev.RingStart(t=7.5, operator="op1", call="c2"),  # offered again: still one ring
        ev.RingStopLogged(t=8, operator="op1", call="c2", reason="accepted"),
    ]
    index = Index.of(events)
    xs, ys = steps([w for ws in index.rings.values() for w in ws], 10.0)
    assert max(ys) == 2 and ys[-1] == 0  # two consoles, none ringing at the end
    assert dict(zip(xs, ys, strict=True))[7.0] == 1
    assert pair([("k", 1.0, False), ("k", 2.0, True)]) == {"k": [(2.0, None)]}


def test_a_console_ringing_for_two_calls_at_once_counts_once():
    events = [
        ev.RingStart(t=1, operator="op1", call="c1"),
        ev.RingStart(t=2, operator="op1", call="c2"),
        ev.RingStart(t=2, operator="op2", call="c2"),
        ev.RingStopLogged(t=3, operator="op1", call="c1", reason="accepted"),
        ev.RingStopLogged(t=4, operator="op1", call="c2", reason="accepted_elsewhere"),
        ev.RingStopLogged(t=4, operator="op2", call="c2", reason="accepted"),
        ev.RingStart(t=6, operator="op1", call="c3"),  # still ringing at the end
    ]
    windows = consoles_ringing(Index.of(events).rings)
    assert sorted(windows, key=lambda w: (w[0], str(w[1]))) == [(1, 4), (2, 4), (6, None)]
    _, ys = steps(windows, 10.0)
    assert max(ys) == 2  # two consoles, though three rings were open at 2 s


def test_faults_and_outages_are_laned_with_durations():
    index = Index.of(log())
    lanes = outage_lanes(index)
    assert lanes == {"operators.carol": [(16.0, 3.0, "fault")]}
    restart = [ev.FaultApplied(t=5.0, action="server_restart", target="server", actors=0)]
    loaded = parse(
        {
            "name": "r",
            "duration": "10s",
            "faults": [{"at": "5s", "action": "server_restart", "duration": "2s"}],
        }
    )
    assert outage_lanes(Index.of(restart), loaded.scenario.faults) == {
        "server": [(5.0, 2.0, "restart")]
    }


def test_the_attribution_legend_stays_off_the_bars():
    events = log()
    fig = attribution_figure(ring_stops(events))
    fig.canvas.draw()
    (legend,) = fig.legends
    (ax,) = fig.axes
    box = legend.get_window_extent()
    assert not Bbox.intersection(box, ax.get_window_extent())  # no overlap at all
    assert box.y1 <= ax.get_window_extent().y0


def test_link_settings_show_every_parameter_with_units():
    loaded = parse({"name": "l", "duration": "5s", "links": {"m": {"profile": "3g"}}})
    settings = link_settings(loaded.link("m"))
    assert "latency 150 ms" in settings["up"] and "distribution normal" in settings["up"]
    assert "burst 0 B" in settings["up"] and "rate 768 kbit/s" in settings["up"]
    assert "rate 1.6 Mbit/s" in settings["down"] and "loss 0.5 %" in settings["down"]
    assert "outage_mtbf none" in settings["outages"]


def test_summary_json_lists_the_causes_as_data(tmp_path):
    loaded = parse({"name": "hand", "duration": "40s", "links": {"mobile": {"profile": "3g"}}})
    write_report(tmp_path, loaded, log())
    first = (tmp_path / "summary.json").read_bytes()
    summary = json.loads(first)
    worst = summary["causes"][0]
    assert (worst["label"], worst["operator"], worst["role"]) == (
        "call #3 (shoppers[2])",
        "carol[2]",
        "other",
    )
    alice = next(c for c in summary["causes"] if c["operator"] == "alice[0]")
    assert alice["seconds"] == pytest.approx(4.1) and alice["long"]
    stall = next(c for c in alice["causes"] if c["kind"] == "stall")
    assert stall == {
        "actor": ALICE,
        "count": 2,
        "direction": "up",
        "kind": "stall",
        "seconds": [1.2, 2.4],
        "text": stall["text"],
    }
    write_report(tmp_path, loaded, log())
    assert (tmp_path / "summary.json").read_bytes() == first  # the same log, the same bytes


def test_a_late_offer_is_said_with_who_took_the_call_and_the_outage():
    events = [
        ev.ActorInfo(t=0, actor="op_a", name="here[0]", role="operator", group="here", link="lan"),
        ev.ActorInfo(t=0, actor="op_b", name="away[0]", role="operator", group="away", link="lan"),
        ev.LinkDown(t=1.0, actor="op_b", seconds=10.0, cause="fault"),
        ev.CallPlaced(t=3.0, actor="v[0]", call="c1"),
        ev.RingStart(t=3.0, operator="op_a", call="c1"),
        ev.ClickAccept(t=4.0, operator="op_a", call="c1"),
        ev.ServerDecision(t=4.0, call="c1", operator="op_a", reason="accepted"),
        ev.RingStopLogged(t=4.0, operator="op_a", call="c1", reason="accepted"),
        ev.AcceptResult(t=4.0, operator="op_a", call="c1", won=True, room="r1"),
        ev.RingStart(t=11.0, operator="op_b", call="c1"),
        ev.RingStopLogged(t=11.0, operator="op_b", call="c1", reason="accepted_elsewhere"),
    ]
    index = Index.of(events)
    (line,) = late_offers(events, index, Labels(index))
    assert line == (
        "Call #1 (v[0]) reached away[0]'s console only at 11.0 s, 7.00 s after here[0] had "
        "taken it: its path was down from 1.0 s for 10.0 s."
    )
