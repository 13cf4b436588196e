"""Link specs: profiles, overrides in both written forms, precise errors, Toxiproxy JSON."""

import tomllib

import msgspec
import pytest

from simulator.network.link import PROFILES, ParamError, from_table, parse
from simulator.network.link.toxiproxy import ToxicDef, build, from_toxics


def test_cli_form_and_toml_table_say_the_same_thing():
    table = tomllib.loads(
        """
        profile = "3g"
        down.loss = 0.05
        up.latency = "200ms"
        """
    )
    assert parse("3g,down.loss=0.05,up.latency=200ms") == from_table(table)
    spec = from_table(table)
    assert (spec.up.latency, spec.down.latency) == (0.2, 0.15)
    assert (spec.up.loss, spec.down.loss) == (0.005, 0.05)
    assert spec.down.rate == 1.6e6 / 8
    assert spec.name == "3g*"


def test_a_key_without_direction_sets_both_and_units_convert():
    spec = parse("latency=1.5s,rate=2MB/s,burst=64KiB,loss=5%,outages=10s/2s 1m/500ms")
    assert spec.up == spec.down
    assert (spec.up.latency, spec.up.rate, spec.up.burst, spec.up.loss) == (1.5, 2e6, 65536, 0.05)
    assert spec.outages == ((10.0, 2.0), (60.0, 0.5))


@pytest.mark.parametrize(
    ("text", "param", "expected"),
    [
        ("3g,up.latency=fast", "up.latency", "a duration"),
        ("rate=10 furlongs", "rate", "a rate"),
        ("loss=1.5", "loss", "a probability"),
        ("burst=-3", "burst", "a size"),
        ("distribution=gamma", "distribution", "one of uniform, normal, pareto"),
        ("loss_burst=3", "loss_burst", 'a bad period, a duration such as "300ms"'),
        ("latency=100", "latency", "with its unit"),
        ("down.rate=1000000", "down.rate", "with its unit"),
        ("gemodel=0.1 0.2", "gemodel", "four probabilities"),
        ("outages=10s", "outages[0]", "[start, duration]"),
        ("sideways.latency=1s", "sideways.latency", "a link parameter"),
        ("modem", "profile", "one of lan, broadband"),
    ],
)
def test_bad_values_name_the_parameter_and_the_expected_unit(text, param, expected):
    with pytest.raises(ParamError) as err:
        parse(text, where="links.mobile")
    assert err.value.param == f"links.mobile.{param}"
    assert expected in str(err.value)


@pytest.mark.parametrize("name", [*sorted(PROFILES), "3g,window=1MiB"])
def test_every_profile_round_trips_through_toxiproxy_json(name):
    toxics = parse(name).toxics()
    defs = from_toxics(toxics)
    assert len({d.name for d in defs}) == len(defs)  # unique names per proxy
    wire = msgspec.json.decode(msgspec.json.encode(defs), type=list[ToxicDef])
    shared = {}
    for (_, _, original), d in zip(toxics, wire, strict=True):
        rebuilt = build(d, shared)
        assert type(rebuilt) is type(original)
        assert rebuilt.attributes() == original.attributes()


def test_toxiproxy_shapes_use_milliseconds_and_kilobytes():
    (latency,) = from_toxics(parse("up.latency=250ms,up.jitter=20ms").toxics())
    assert msgspec.to_builtins(latency) == {
        "type": "latency",
        "name": "latency_upstream",
        "stream": "upstream",
        "toxicity": 1.0,
        "attributes": {"latency": 250, "jitter": 20, "distribution": "uniform", "correlation": 0.0},
    }
    (bandwidth,) = from_toxics(parse("down.rate=100KB/s").toxics())
    assert bandwidth.attributes["rate"] == 100


@pytest.mark.parametrize(
    ("toxic", "message"),
    [
        ({"type": "latency", "attributes": {"latency": -1}}, "latency.attributes.latency"),
        ({"type": "bandwidth", "attributes": {}}, "bandwidth.attributes.rate"),
        ({"type": "slicer_of_bread"}, "a toxic type"),
        ({"type": "slicer", "attributes": {"average_size": 0}}, "slicer.attributes.average_size"),
        ({"type": "outage", "attributes": {"windows": [[1]]}}, "outage.attributes.windows"),
    ],
)
def test_bad_toxiproxy_toxics_are_refused_by_name(toxic, message):
    with pytest.raises(ParamError, match=message.replace(".", r"\.")):
        build(msgspec.convert(toxic, ToxicDef))
