"""Scenario files: the shipped ones load; bad ones say the file, the key and what was expected."""

import contextlib
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.play.runner import arrivals
from simulator.scenario import ScenarioError, expand, expectation, load, parse, schema
from simulator.scenario.dist import Dist, Duration

SCENARIOS = sorted((Path(__file__).parents[3] / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_load(path):
    loaded = load(path)
    assert loaded.scenario.name == path.stem
    assert loaded.expectations
    for group in [*loaded.scenario.operators, *loaded.scenario.visitors]:
        assert loaded.link(group.link).describe()


def minimal(**extra):
    return {"name": "t", "duration": "10s", **extra}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "t"}, "duration: required (a duration such as 30s)"),
        (
            minimal(duration="soon"),
            "duration: expected a duration such as 30s, 2m or 250ms, got 'soon'",
        ),
        (minimal(operators=[{"name": "a", "reaction": "fast"}]), "operators[0].reaction: "),
        (minimal(operators=[{"name": "a", "policy": "eager"}]), "operators[0].policy: "),
        (minimal(visitors=[{"name": "v", "count": 0}]), "visitors[0].count: expected `int` >= 1"),
        (
            minimal(visitors=[{"name": "v", "colour": "red"}]),
            "visitors[0].colour: unknown key (the keys of [[visitors]]: name, count,",
        ),
        (minimal(links={"x": {"profile": "5g"}}), "links.x.profile: expected one of lan"),
        (minimal(links={"x": {"up": {"loss": 2}}}), "links.x.up.loss: expected a probability"),
        (minimal(operators=[{"name": "a", "link": "modem"}]), "operators[0].link.profile"),
        (
            minimal(
                faults=[
                    {"at": "5s", "action": "outage", "target": "operators.nobody", "duration": "1s"}
                ]
            ),
            "faults[0].target: expected one of",
        ),
        (
            minimal(
                operators=[{"name": "a"}],
                faults=[{"at": "5s", "action": "outage", "target": "operators.a"}],
            ),
            "faults[0].duration",
        ),
        (
            minimal(expect={"ring_stop.others.p95": "about 2s"}),
            'expect.ring_stop.others.p95: expected a comparison such as "< 2s" or "== 0", '
            "got 'about 2s'",
        ),
    ],
)
def test_bad_scenarios_name_the_key_and_what_was_expected(data, message):
    with pytest.raises(ScenarioError) as err:
        parse(data, "scenarios/x.toml")
    assert str(err.value).startswith("scenarios/x.toml: ")
    assert message in str(err.value)


def test_distributions_and_expectations():
    assert Dist.parse("2s..6s").mean == 4
    assert (Dist.parse("0.5s..1.5s").a, Dist.parse("0.5s..1.5s").b) == (0.5, 1.5)
    assert Dist.parse("exp(30s)").kind == "exp" and Dist.parse("normal(3s, 1s)").b == 1
    assert Dist.parse("5s").a == 5 and Duration.parse("2m").seconds == 120
    with pytest.raises(ValueError, match="expected a duration or distribution"):
        Dist.parse("6s..2s")
    assert str(expectation("ring_overrun.max", "< 2s")) == "ring_overrun.max < 2"
    assert expectation("lost_messages", 0).holds(0)
    assert expectation("time_to_answer.p50", ">= 250ms").threshold == 0.25


def test_overrides_reach_nested_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\nduration = "5s"\n[[operators]]\nname = "a"\n[[visitors]]\nname = "v"\n'
    )
    loaded = load(path, {"operators[0].count": 3, "server.binding": "strict", "seed": 9})
    assert loaded.scenario.operators[0].count == 3
    assert (loaded.scenario.server.binding, loaded.scenario.seed) == ("strict", 9)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "name",
                        "duration",
                        "operators",
                        "visitors",
                        "links",
                        "faults",
                        "expect",
                        "count",
                        "link",
                        "at",
                        "action",
                        "profile",
                        "up",
                        "loss",
                        "reaction",
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_any_table_is_loaded_or_refused_cleanly(data):
    with contextlib.suppress(ScenarioError):
        parse(data if isinstance(data, dict) else {"x": data})


def test_schema_command_prints_a_json_schema():
    out = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    printed = json.loads(out)
    assert printed == schema()
    assert "Scenario" in printed["$defs"]


def test_a_sweep_expands_into_one_run_per_value():
    runs = expand(Path(__file__).parents[3] / "scenarios" / "loss_sweep.toml")
    assert [r.point for r in runs] == [{"links.operator.up.loss": v} for v in (0, 0.02, 0.05, 0.1)]
    assert [r.links["operator"].up.loss for r in runs] == [0, 0.02, 0.05, 0.1]
    assert all(not r.scenario.sweep for r in runs)


def test_arrival_processes_are_open_loop_timetables_from_the_seed():
    def group(arrival, count=1000):
        table = {"name": "x", "duration": "100s", "visitors": [{"name": "v", "count": count}]}
        table["visitors"][0]["arrival"] = arrival
        return parse(table).scenario.visitors[0]

    assert arrivals(group("start", 3), 100, random.Random(1)) == [0, 0, 0]
    assert arrivals(group("uniform", 4), 100, random.Random(1)) == [12.5, 37.5, 62.5, 87.5]
    ramp = arrivals(group("ramp"), 100, random.Random(1))
    first_half = sum(t < 50 for t in ramp)
    assert ramp == sorted(ramp) and 240 <= first_half <= 260  # a quarter: the rate grows
    poisson = arrivals(group("poisson"), 100, random.Random(1))
    assert poisson == arrivals(group("poisson"), 100, random.Random(1))  # same seed, same run
    assert poisson != arrivals(group("poisson"), 100, random.Random(2))
    gaps = [b - a for a, b in itertools.pairwise(poisson)]
    assert 0.08 < sum(gaps) / len(gaps) < 0.12  # 1000 over 100 s: mean gap 0.1 s
    assert statistics.pstdev(gaps) > 0.07  # exponential: as spread as its mean
    # every visitor comes inside the window, whatever the seed (none clamped to its end)
    for seed in range(50):
        times = arrivals(group("poisson", 60), 100, random.Random(seed))
        assert len(times) == 60 and all(0 <= t < 100 for t in times)
        assert sum(t == times[-1] for t in times) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(
            st.tuples(
                st.sampled_from(["name", "duration", "seed", "clock", "[server]", "[[visitors]]"]),
                st.sampled_from(['"x"', "3", "-1", '"2s"', "[1]", "{a=1}", "true", '"virtual"']),
            ),
            max_size=8,
        ).map(lambda pairs: "\n".join(f"{k} = {v}" if "[" not in k else k for k, v in pairs)),
    )
)
def test_arbitrary_toml_text_is_refused_with_a_scenario_error_never_a_traceback(text):
    path = Path(tempfile.gettempdir()) / "ringlab-fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(path)
    except ScenarioError as exc:
        assert str(exc).startswith(str(path))
