"""Scenario validation before anything runs: every refusal names the key and what was
expected, overrides are blamed as --set, and the JSON Schema refuses what the loader does."""

import re
import tomllib
from pathlib import Path

import pytest

from simulator.scenario import ScenarioError, expand, load, parse, schema

SCENARIOS = sorted((Path(__file__).parents[3] / "scenarios").glob("*.toml"))


def minimal(**extra):
    return {"name": "t", "duration": "10s", **extra}


def group(**extra):
    """A file's table with one group of each kind (what every file plays)."""
    return minimal(**{"operators": [{"name": "ops"}], "visitors": [{"name": "v"}], **extra})


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        # a misspelt metric used to run, then fail as "no data" with exit 1
        (
            group(expect={"lost_mesages": 0}),
            "expect.lost_mesages",
            "not a metric; did you mean lost_messages? (every metric: docs/metrics.md)",
        ),
        (group(expect={"zzz": 0}), "expect.zzz", "lost_messages, duplicated_messages"),
        # "<< 0" was "expected a duration..., got '< 0'": no key, wrong kind, string altered
        (
            group(expect={"lost_messages": "<< 0"}),
            "expect.lost_messages",
            'expected a comparison such as "< 2s" or "== 0", got \'<< 0\'',
        ),
        (
            group(expect={"lost_messages": "< 2s"}),
            "expect.lost_messages",
            "a count: expected a comparison with a plain number, such as \"< 2\", got '< 2s'",
        ),
        (
            group(expect={"ring_stop.others.p95": "< 2"}),
            "expect.ring_stop.others.p95",
            "a time: expected a comparison with a unit, such as \"< 2s\", got '< 2'",
        ),
        (
            group(expect={"ring_stop.others.p95": 1}),
            "expect.ring_stop.others.p95",
            'such as "== 1s", got 1',
        ),
        (
            group(expect={"ring_overrun.max": "< 2kbit"}),
            "expect.ring_overrun.max",
            "expected a unit of time (s, ms",
        ),
        # raw msgspec text ("Object contains unknown field") became key, valid keys, a guess
        (
            group(reacton="1s"),
            "reacton",
            "unknown key (the keys of the top level: name, duration,",
        ),
        (
            group(operators=[{"name": "a", "reacton": "1s"}]),
            "operators[0].reacton",
            "unknown key; did you mean reaction? (the keys of [[operators]]: name, count,",
        ),
        (
            group(visitors=[{"name": "v", "thnk": "1s"}]),
            "visitors[0].thnk",
            "did you mean think?",
        ),
        (group(server={"bindng": "strict"}), "server.bindng", "did you mean binding?"),
        (
            group(faults=[{"at": "1s", "actoin": "reset"}]),
            "faults[0].actoin",
            "did you mean action?",
        ),
        (
            group(faults=[{"at": "1s"}]),
            "faults[0].action",
            "required (one of degrade, outage, reset, restore, server_restart)",
        ),
        (group(links={"x": {"up": {"los": 0.1}}}), "links.x.up.los", "did you mean loss?"),
        (group(links={"x": {"lossy": 0.1}}), "links.x.lossy", "the keys of a link table"),
        # a bare number where a duration goes was seconds: latency = 100 passed vacuously
        (group(duration=100), "duration", 'expected a duration with its unit, "100s" or "100ms"'),
        (group(duration="100"), "duration", '"100s" or "100ms", got \'100\''),
        (group(server={"ring_timeout": 60}), "server.ring_timeout", '"60s" or "60ms", got 60'),
        (
            group(visitors=[{"name": "v", "over": 0.5}]),
            "visitors[0].over",
            '"0.5s" or "0.5ms", got 0.5',
        ),
        (
            group(operators=[{"name": "a", "reaction": 2}]),
            "operators[0].reaction",
            '"2s" or "2ms"',
        ),
        (
            group(operators=[{"name": "a", "reaction": "1..2"}]),
            "operators[0].reaction",
            "expected durations with their units, such as \"1s..2s\", got '1..2'",
        ),
        (
            group(visitors=[{"name": "v", "think": "normal(3, 1s)"}]),
            "visitors[0].think",
            'such as "normal(3s, 1s)"',
        ),
        (
            group(operators=[{"name": "a", "status": [[30, "away"]]}]),
            "operators[0].status[0][0]",
            '"30s" or "30ms"',
        ),
        (
            group(faults=[{"at": 5, "action": "reset", "target": "operators.ops"}]),
            "faults[0].at",
            '"5s"',
        ),
        (group(links={"x": {"latency": 100}}), "links.x.latency", '"100s" or "100ms", got 100'),
        (group(links={"x": {"up": {"jitter": "20"}}}), "links.x.up.jitter", '"20s" or "20ms"'),
        (
            group(links={"x": {"outages": [["30s", 10]]}}),
            "links.x.outages[0][1]",
            '"10s" or "10ms"',
        ),
        (
            group(operators=[{"name": "a", "link": "3g,up.latency=200"}]),
            "operators[0].link",
            'up.latency: expected a duration with its unit, "200s" or "200ms"',
        ),
        (group(sweep={"a": [1], "b": [2], "c": [3]}), "sweep", "one or two keys"),
        (group(sweep={"seed": []}), "sweep", "each with a list of values"),
    ],
)
def test_refused_before_running_with_the_key_and_what_was_expected(data, key, message):
    with pytest.raises(ScenarioError) as err:
        parse(data, "x.toml")
    assert err.value.key == key
    assert str(err.value) == f"x.toml: {key}: {err.value.problem}"
    assert message in err.value.problem


def test_durations_keep_their_units_and_zero_needs_none():
    loaded = parse(
        group(
            server={"ring_timeout": "90s"},
            links={"x": {"latency": 0, "up": {"jitter": "0"}}},
            faults=[{"at": "1.5s", "action": "server_restart", "duration": 0}],
            expect={"ring_stop.others.p95": 0, "ring_overrun.max": "< 250ms", "snapshots": ">= 4"},
        )
    )
    assert loaded.scenario.server.ring_timeout.seconds == 90
    assert [str(x) for x in loaded.expectations] == [
        "ring_stop.others.p95 == 0",
        "ring_overrun.max < 0.25",
        "snapshots >= 4",
    ]
    assert [x.describe() for x in loaded.expectations][1:] == [
        "ring_overrun.max < 250ms",
        "snapshots >= 4",
    ]


def write(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


FILE = """
name = "s"
duration = "5s"
[links.sat]
profile = "satellite"
up.loss = 0.1
[[operators]]
name = "ops"
link = "sat"
[[visitors]]
name = "v"
[expect]
lost_messages = 0
"""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # the file used to be blamed for what --set put there
        ({"links.sat.up.loss": 2}, "--set links.sat.up.loss: expected a probability"),
        ({"duration": 100}, '--set duration: expected a duration with its unit, "100s"'),
        ({"seed": "x"}, "--set seed: expected `int`, got `str`"),
        ({"operators[0].reacton": "1s"}, "--set operators[0].reacton: unknown key; did you mean"),
        (
            {"expect.ring_stop.acceptor.p95": "< 1"},
            "--set expect.ring_stop.acceptor.p95: a time: expected a comparison with a unit, "
            'such as "< 1s"',
        ),
        ({"expect.lost_mesages": 0}, "--set expect.lost_mesages: not a metric; did you mean"),
        ({"operators[0].link": "modem"}, "--set operators[0].link: operators[0].link.profile:"),
        # a typo for an existing link silently created an unused one
        (
            {"links.sta.loss": 0.5},
            "--set links.sta.loss: {path} has no link 'sta', and no group uses one by that "
            "name; did you mean sat? (its links: sat)",
        ),
        (
            {"operators[2].count": 3},
            "--set operators[2].count: the file has 1 [[operators]] table(s), so no operators[2]",
        ),
        ({"faults[0].at": "1s"}, "--set faults[0].at: the file has no [[faults]]"),
        (
            {"operators.count": 3},
            "--set operators.count: operators is not a table; name one, such as operators[0].count",
        ),
        ({"a..b": 1}, "--set a..b: expected a key such as operators[0].count"),
    ],
)
def test_a_bad_override_blames_the_set_not_the_file(tmp_path, overrides, message):
    path = write(tmp_path, FILE)
    with pytest.raises(ScenarioError) as err:
        load(path, overrides)
    assert str(err.value).startswith(message.format(path=path))


def test_overrides_reach_every_key_expectations_included(tmp_path):
    path = write(tmp_path, FILE)
    loaded = load(
        path,
        {
            "expect.ring_stop.acceptor.p95": "< 1s",  # everything after expect. is the metric
            "expect.lost_messages": 2,
            "server.binding": "strict",  # absent from the file, a key of the format
            "operators[0].policy": "optimistic",
        },
    )
    assert [x.describe() for x in loaded.expectations] == [
        "lost_messages == 2",
        "ring_stop.acceptor.p95 < 1s",
    ]
    assert loaded.scenario.server.binding == "strict"
    assert loaded.scenario.operators[0].policy == "optimistic"
    # a new link table is fine when a group plays over it; named after a profile, it
    # starts as that profile
    both = load(path, {"operators[0].link": "3g", "links.3g.up.loss": 0.2})
    assert both.links["3g"].up.loss == 0.2 and both.links["3g"].up.latency > 0.1
    with pytest.raises(ScenarioError, match=r"^--target: expected"):
        load(path, {"server.target": "ftp://x"}, {"server.target": "--target"})


def test_a_file_plays_at_least_one_group_of_each_kind(tmp_path):
    for kind, other in (("operators", "visitors"), ("visitors", "operators")):
        path = write(tmp_path, f'name = "s"\nduration = "5s"\n[[{other}]]\nname = "g"\n')
        with pytest.raises(ScenarioError) as err:
            load(path)
        assert str(err.value) == (
            f"{path}: {kind}: at least one group is required ([[{kind}]] with a name)"
        )


def test_an_override_of_a_swept_key_pins_it_and_a_bad_swept_key_blames_the_sweep(tmp_path):
    path = write(tmp_path, FILE + '[sweep]\n"links.sat.up.loss" = [0, 0.2]\nseed = [1, 2]\n')
    assert [r.point for r in expand(path)] == [
        {"links.sat.up.loss": loss, "seed": seed} for loss in (0, 0.2) for seed in (1, 2)
    ]
    pinned = expand(path, {"links.sat.up.loss": 0.05})  # what a replay of one point does
    assert [r.point for r in pinned] == [{"seed": 1}, {"seed": 2}]
    assert {r.links["sat"].up.loss for r in pinned} == {0.05}
    (one,) = expand(path, {"links.sat.up.loss": 0.05, "seed": 3})
    assert (one.point, one.scenario.seed, one.scenario.sweep) == ({}, 3, {})
    bad = write(tmp_path, FILE + '[sweep]\n"links.sta.up.loss" = [0, 0.2]\n')
    with pytest.raises(ScenarioError, match=r"sweep: links.sta.up.loss = 0: .* no link 'sta'"):
        expand(bad)


def _objects(node):
    """Every object schema inside a JSON Schema."""
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_the_schema_is_closed_and_names_every_metric_and_link_parameter():
    from simulator.network.link.spec import DIRECTION_KEYS, LINK_KEYS
    from simulator.scenario import metric_names
    from simulator.scenario.json_schema import COMPARE_COUNT, COMPARE_TIME, DIST, DURATION, RATE

    s = schema()
    for obj in _objects(s):  # additionalProperties false, or a schema for named tables
        assert obj.get("additionalProperties") is not None, obj
    defs = s["$defs"]
    expect = defs["Scenario"]["properties"]["expect"]
    assert sorted(expect["properties"]) == metric_names.names()
    assert expect["additionalProperties"] is False
    assert set(defs["Direction"]["properties"]) == set(DIRECTION_KEYS)
    assert set(defs["Link"]["properties"]) == {"profile", "up", "down", *DIRECTION_KEYS, *LINK_KEYS}
    assert set(defs["Scenario"]["required"]) == {"name", "duration", "operators", "visitors"}
    assert all(re.match(DURATION, v) for v in ("30s", "250ms", "2m", "1.5h", "0", " 0.0 "))
    assert not any(re.match(DURATION, v) for v in ("100", "1.5", "soon", "3 parsecs"))
    assert all(re.match(DIST, v) for v in ("3s", "2s..6s", "exp(30s)", "normal(3s, 1s)"))
    assert not any(re.match(DIST, v) for v in ("3", "2..6s", "exp(30)", "normal(3s, 1)"))
    assert re.match(RATE, "1.6mbit") and re.match(RATE, "2MB/s") and not re.match(RATE, "1600")
    assert all(re.match(COMPARE_TIME, v) for v in ("< 2s", ">= 250ms", "0", "== 0"))
    assert not any(re.match(COMPARE_TIME, v) for v in ("< 2", "<< 0", "< 2kbit"))
    assert re.match(COMPARE_COUNT, ">= 2") and not re.match(COMPARE_COUNT, "< 2s")


BAD_FOR_THE_SCHEMA = [
    {"reacton": "1s"},
    {"duration": 100},
    {"duration": "100"},
    {"operators": [{"name": "a", "reacton": "1s"}]},
    {"operators": [{"name": "a", "reaction": "1..2"}]},
    {"operators": []},
    {"server": {"ring_timeout": 60}},
    {"links": {"x": {"latency": 100}}},
    {"links": {"x": {"up": {"rate": 1600}}}},
    {"links": {"x": {"lossy": 0.1}}},
    {"links": {"x": {"profile": "5g"}}},
    {"expect": {"lost_mesages": 0}},
    {"expect": {"lost_messages": "< 2s"}},
    {"expect": {"lost_messages": "<< 0"}},
    {"expect": {"ring_stop.others.p95": "< 2"}},
    {"expect": {"ring_stop.others.p95": 1}},
    {"sweep": {"a": [1], "b": [2], "c": [3]}},
    {"links": {"x": {"up": {"loss": "150%"}}}},
    {"links": {"x": {"loss": "1.5"}}},
    {"faults": [{"at": "1s", "action": "outage", "target": "operators.a"}]},
    {"faults": [{"at": "1s", "action": "degrade", "target": "operators.a"}]},
]


def test_the_schema_refuses_what_the_loader_refuses():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema())
    for path in SCENARIOS:
        table = tomllib.loads(path.read_text())
        assert not list(validator.iter_errors(table)), path
        parse(table)
    base = group()
    assert not list(validator.iter_errors(base))
    for bad in BAD_FOR_THE_SCHEMA:
        table = {**base, **bad}
        assert list(validator.iter_errors(table)), bad
        with pytest.raises(ScenarioError):  # the loader agrees
            load_table(table)


def load_table(table):
    from simulator.scenario.validate import check_groups

    check_groups(table, "x.toml")
    return parse(table, "x.toml")
