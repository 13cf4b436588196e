"""The simulator's console model passes the same tab vectors as the browser console."""

import json
from pathlib import Path

import pytest

from simulator.actors import ConsoleModel, step

CASES = json.loads((Path(__file__).parent / "vectors" / "console_tabs.json").read_text())["cases"]


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c['policy']}:{c['state']}+{c['event']['type']}"
)
def test_vector(case):
    event = case["event"]
    got = step(case["policy"], case["state"], event["type"], event.get("reason"))
    assert (got.state, list(got.effects)) == (case["next"], case["effects"]), case["why"]


def test_model_tracks_which_tabs_ring():
    console = ConsoleModel("confirm")
    assert console.fire("call:1", "ring") == ("open_tab", "start_ring")
    console.fire("call:2", "ring")
    console.fire("call:1", "click_accept")
    assert sorted(console.ringing()) == ["call:1", "call:2"]  # confirm: still ringing
    console.fire("call:1", "ring_stop", "accepted")
    console.fire("call:2", "ring_stop", "accepted_elsewhere")
    assert console.ringing() == []
    assert console.fire("call:2", "ring") == ()  # the guard


def test_snapshot_stops_the_rings_it_does_not_name():
    console = ConsoleModel("confirm")
    console.fire("call:1", "ring")
    console.fire("call:2", "ring")
    console.fire("call:3", "ring")
    console.fire("call:3", "click_accept")
    console.fire("call:2", "ring")  # named by the snapshot: rings on
    effects = console.snapshot({"call:2"})
    assert effects == {
        "call:1": ("stop_ring", "notice:call_gone", "remove_tab_later"),
        "call:3": ("stop_ring", "notice:checking"),  # its accept's answer decides
    }
    assert console.ringing() == ["call:2"]
    assert console.fire("call:1", "ring") == ("open_tab", "start_ring")  # a new session's ring
