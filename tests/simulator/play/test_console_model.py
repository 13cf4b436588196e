"""The simulator's console model passes the same tab vectors as the browser console."""

import json
from pathlib import Path

import pytest

from simulator.play.actors import ConsoleModel, step
from simulator.play.actors.console import MACHINE, TABLE_FILE, TabMachine

VECTORS = Path(__file__).parents[2] / "vectors"
CASES = json.loads((VECTORS / "console_tabs.json").read_text())["cases"]


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c['policy']}:{c['state']}+{c['event']['type']}"
)
def test_vector(case):
    event = case["event"]
    got = step(case["policy"], case["state"], event["type"], event.get("reason"))
    assert (got.state, list(got.effects)) == (case["next"], case["effects"]), case["why"]


def _rule_of(case):
    """Which rule of the table a vector exercises: (event, state, its index, policy)."""
    event, reason = case["event"]["type"], case["event"].get("reason")
    rules = MACHINE.rules.get((event, case["state"]), ())
    hit = next(i for i, rule in enumerate(rules) if rule.when is None or reason in rule.when)
    return (event, case["state"], hit, case["policy"])


def test_every_rule_of_the_table_has_a_vector():
    """The vectors check both interpreters on every rule, under each policy."""
    rules = {
        (event, state, i, policy)
        for (event, state), alternatives in MACHINE.rules.items()
        for i in range(len(alternatives))
        for policy in MACHINE.policies
    }
    covered = {_rule_of(c) for c in CASES if (c["event"]["type"], c["state"]) in MACHINE.rules}
    assert rules - covered == set()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t["transitions"]["ring"]["none"][0].update(next="ringin"), "no state"),
        (lambda t: t["transitions"]["ring"].update(nowhere=[]), "undeclared"),
        (lambda t: t["transitions"]["ring"]["none"][0].update(when="sometimes"), "reason set"),
        (lambda t: t["reasons"]["explained"].append("declined"), "{notice}"),
        (lambda t: t.update(fallback_policy="careless"), "fallback_policy"),
    ],
)
def test_an_inconsistent_table_is_refused_when_loaded(change, problem):
    table = json.loads(TABLE_FILE.read_text())
    change(table)
    with pytest.raises(ValueError, match=problem):
        TabMachine(table)


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
