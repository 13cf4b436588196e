"""Scenarios end to end on the real clock against the embedded server (short runs)."""

import gc
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import trio

from server.serve import open_server
from simulator.play.runner import check_runnable, run_scenario
from simulator.record import events as ev
from simulator.report.metrics import metrics
from simulator.scenario import Loaded, ScenarioError, parse
from simulator.scenario.dist import Dist


def scenario(
    name, operator_link="lan", code="correct", binding="legacy", visitors=2, duration="5s"
):
    return parse(
        {
            "name": name,
            "duration": duration,
            "clock": "real",
            "seed": 5,
            "server": {"binding": binding},
            "operators": [
                {
                    "name": "ops",
                    "count": 2,
                    "link": operator_link,
                    "reaction": "0.3s..0.6s",
                    "close_after": "4s",
                }
            ],
            "visitors": [
                {
                    "name": "v",
                    "count": visitors,
                    "over": "1s",
                    "code": code,
                    "messages": 2,
                    "think": "0.3s",
                    "stay": "1s",
                }
            ],
            "expect": {"lost_messages": 0},
        }
    )


async def run(loaded):
    return await run_scenario(loaded, drain=2.5)  # short runs: 1 s of link delay at most


async def test_slow_operator_uplink_keeps_the_ring_going_after_accept():
    with trio.fail_after(60):
        clean = metrics((await run(scenario("clean"))).events)
        slow = metrics((await run(scenario("slow", operator_link="up.latency=1s"))).events)
    assert clean["calls.accepted"] == 2 and slow["calls.accepted"] == 2
    assert clean["ring_stop.acceptor.p50"] < 0.1  # the floor: loopback
    assert slow["ring_stop.acceptor.p50"] > 0.9  # the manual's fault 2, in numbers
    assert slow["ring_stop.others.max"] < 0.1  # the others' downlink is clean
    assert slow["ring_overrun.p50"] > 0.9 > 0.1 > clean["ring_overrun.p50"]
    for m in (clean, slow):
        assert (m["lost_messages"], m["duplicated_messages"], m["double_accepts"]) == (0, 0, 0)
        assert m["messages.expected"] > 0 and m["rings_never_stopped"] == 0


async def test_a_real_clock_run_against_a_target_keeps_freezing_what_it_makes():
    """Full collections walk only the last PERIOD's objects (simulator/play/gc_freeze.py); with
    the server in the process, only what existed at the start is frozen."""

    async def play(loaded: Loaded) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        result = await run_scenario(
            loaded,
            drain=0.5,
            progress=lambda t, c: seen.append((gc.get_freeze_count(), len(gc.get_objects(2)))),
        )
        assert metrics(result.events)["lost_messages"] == 0
        assert gc.get_freeze_count() == 0  # nothing stays frozen after the run
        return seen

    assert gc.get_freeze_count() == 0
    with trio.fail_after(60):
        embedded = await play(scenario("gc", duration="4s"))
        async with open_server() as server:
            loaded = scenario("gc", duration="4s")
            loaded.scenario.server.target = server.url
            targeted = await play(loaded)
    assert len({frozen for frozen, _ in embedded}) == 1
    frozen = [n for n, _ in targeted]
    assert frozen[-1] > frozen[0]  # the visitors' objects joined the frozen ones
    # however many clients there are, the old generation holds only what is new
    assert max(unfrozen for _, unfrozen in targeted[2:]) < min(frozen) / 4


async def test_pinned_button_code_merges_visitors_in_legacy_only():
    with trio.fail_after(60):
        legacy = metrics((await run(scenario("legacy", code="pinned"))).events)
        strict = metrics((await run(scenario("strict", code="pinned", binding="strict"))).events)
    assert legacy["merged_visitors"] == 2
    assert strict["merged_visitors"] == 0


def test_ringlab_run_writes_a_report_and_exits_by_verdict(tmp_path):
    path = tmp_path / "quick.toml"
    path.write_text(
        'name = "quick"\nduration = "4s"\n[[operators]]\nname = "ops"\nreaction = "0.2s"\n'
        '[[visitors]]\nname = "v"\nover = "1s"\nmessages = 1\nthink = "0.2s"\nstay = "0.5s"\n'
        '[expect]\nlost_messages = 0\n"calls.placed" = ">= 1"\n"ring_stop.others.p95" = "< 1s"\n'
    )
    ringlab = [sys.executable, "-m", "simulator.cli"]
    result = subprocess.run(
        [*ringlab, "run", str(path), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout  # one operator: no "others" to measure
    (run_dir,) = (tmp_path / "r").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [e["passed"] for e in summary["expectations"]] == [True, True, False]
    suite = ET.parse(run_dir / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    html = (run_dir / "index.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html
    png = (run_dir / "ring_stop_cdf.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (800, 450)
    for chart in ("ring_timeline", "attribution", "concurrency"):
        png = (run_dir / f"{chart}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert html.count("data:image/png;base64,") == 4
    (run_dir / "index.html").unlink()
    again = subprocess.run(
        [*ringlab, "report", str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and (run_dir / "index.html").exists()
    bad = subprocess.run(
        [*ringlab, "run", str(path), "--set", "visitors[0].count=0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        bad.returncode == 2 and "visitors[0].count" in bad.stderr and "Traceback" not in bad.stderr
    )


async def test_faults_outage_delays_and_reset_reconnects_without_loss():
    loaded = parse(
        {
            "name": "faults",
            "duration": "9s",
            "clock": "real",
            "seed": 2,
            "operators": [{"name": "ops", "reaction": "0.2s", "close_after": "8s", "replies": 0}],
            "visitors": [
                {"name": "v", "over": "0.5s", "messages": 6, "think": "0.6s", "stay": "1s"}
            ],
            "faults": [
                {"at": "2s", "action": "outage", "target": "operators.ops", "duration": "2s"},
                {"at": "5s", "action": "reset", "target": "operators.ops[0]"},
            ],
        }
    )
    with trio.fail_after(60):
        result = await run(loaded)
    m = metrics(result.events)
    assert m["messages.expected"] >= 10
    assert (m["lost_messages"], m["duplicated_messages"], m["reordered_messages"]) == (0, 0, 0)
    assert m["reconnects"] >= 1 and m["resumes"] >= 1  # the reset, then a resume
    held = [
        e.t - s.t
        for s in result.events
        if isinstance(s, ev.MessageSent) and 2.0 <= s.t < 3.5
        for e in result.events
        if isinstance(e, ev.MessageReceived) and e.mid == s.mid and e.actor.startswith("op_")
    ]
    assert held and max(held) > 0.5  # sent during the outage: arrived when it ended


def test_what_the_runner_cannot_play_is_refused_up_front():
    loaded = parse(
        {
            "name": "n",
            "duration": "5s",
            "clock": "virtual",
            "server": {"target": "http://127.0.0.1:1"},
            "faults": [{"at": "1s", "action": "server_restart"}],
        },
        "x.toml",
    )
    with pytest.raises(ScenarioError) as err:
        check_runnable(loaded)
    assert "clock" in str(err.value)
    assert "faults[0]: server_restart needs the embedded server" in str(err.value)


async def test_a_server_restart_mid_chat_loses_nothing_and_clients_come_back():
    loaded = parse(
        {
            "name": "restart",
            "duration": "9s",
            "clock": "real",
            "seed": 3,
            "operators": [{"name": "ops", "reaction": "0.2s", "close_after": "30s"}],
            "visitors": [{"name": "v", "count": 2, "over": "0.5s", "messages": 8, "think": "0.5s"}],
            "faults": [{"at": "3s", "action": "server_restart", "duration": "1s"}],
        }
    )
    with trio.fail_after(90):
        result = await run(loaded)
    m = metrics(result.events)
    assert m["calls.accepted"] == 2
    assert (m["lost_messages"], m["duplicated_messages"], m["reordered_messages"]) == (0, 0, 0)
    assert m["reconnects"] >= 3 and m["snapshots"] >= 3  # every actor, with a new session
    after = [e for e in result.events if isinstance(e, ev.MessageReceived) and e.t > 4.5]
    assert {e.actor for e in after} >= {"v[0]", "v[1]"}  # the chats go on after the restart
    frames = [e for e in result.events if isinstance(e, ev.Frame) and e.actor == "v[0]"]
    hellos = [e for e in frames if (e.dir, e.type) == ("out", "hello")]
    assert len(hellos) >= 2  # every frame is logged: the first hello and the one after
    assert {("in", "welcome"), ("out", "send"), ("in", "ok"), ("out", "ack")} <= {
        (e.dir, e.type) for e in frames
    }
    (fault,) = [e for e in result.events if isinstance(e, ev.FaultApplied)]
    assert (fault.action, fault.target) == ("server_restart", "server")


async def test_invitations_colleagues_and_browsing_are_played():
    loaded = parse(
        {
            "name": "social",
            "duration": "8s",
            "clock": "real",
            "seed": 4,
            "operators": [
                {
                    "name": "ops",
                    "count": 2,
                    "reaction": "0.2s",
                    "reply": "0.3s",
                    "close_after": "5s",
                    "invite_visitors": 1.0,
                    "invite_operator": 1.0,
                }
            ],
            "visitors": [
                {
                    "name": "v",
                    "count": 2,
                    "over": "0.5s",
                    "call": 0.0,
                    "pages": 2,
                    "browse": "1s",
                    "stay": "6s",
                    "accept_invitation": 1.0,
                    "think": "0.3s",
                    "messages": 1,
                }
            ],
        }
    )
    with trio.fail_after(60):
        result = await run(loaded)
    m = metrics(result.events)
    assert m["invitations.sent"] >= 2 and m["invitations.accepted"] >= 1
    assert m["calls.placed"] == 0  # they chat because they were invited
    assert m["colleague_invites.sent"] == 0  # invitations are not calls: nobody asked in
    pages = {e.page for e in result.events if isinstance(e, ev.VisitorArrivedLogged)}
    assert len(pages) == 4  # two pages each, each a new page instance
    assert (m["lost_messages"], m["duplicated_messages"]) == (0, 0)


async def test_operators_invite_colleagues_into_calls_and_they_join():
    loaded = scenario("colleagues", visitors=2, duration="6s")
    loaded.scenario.operators[0].invite_operator = 1.0
    loaded.scenario.operators[0].reply = Dist.parse("0.3s")
    with trio.fail_after(60):
        m = metrics((await run(loaded)).events)
    assert m["colleague_invites.sent"] >= 1 and m["colleague_invites.joined"] >= 1
    assert (m["lost_messages"], m["duplicated_messages"], m["rings_never_stopped"]) == (0, 0, 0)


async def test_a_run_against_a_target_server():
    loaded = scenario("remote", visitors=2)
    with trio.fail_after(60):
        async with open_server() as server:
            loaded.scenario.server.target = server.url
            result = await run(loaded)
    m = metrics(result.events)
    assert m["calls.accepted"] == 2 and m["ring_stop.acceptor.count"] == 2
    assert m["lost_messages"] == 0
    assert not [e for e in result.events if isinstance(e, ev.ServerDecision)]  # not ours to see
