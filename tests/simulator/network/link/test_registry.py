"""The toxic registry: every toxic declared once, and the spec and the API both read it."""

import dataclasses

import msgspec
import pytest

from simulator.network.link import PROFILES, DirectionSpec, LinkSpec, ParamError, parse
from simulator.network.link.registry import TOXICS
from simulator.network.link.spec import DIRECTION_KEYS, LINK_KEYS
from simulator.network.link.toxiproxy import ToxicDef, build, decode, from_toxics, to_spec

#: What the control API accepts: Toxiproxy's types, and ringlab's own.
API_TYPES = {
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "limit_data",
    "slicer",
    "loss",
    "outage",
    "window",
}
#: The smallest attributes each type needs (the rest have defaults).
NEEDED = {"bandwidth": {"rate": 1}, "slicer": {"average_size": 1}}

RECORDS = {"direction": DirectionSpec, "link": LinkSpec}
NOT_TOXICS = {"name", "up", "down"}  # LinkSpec's own fields

#: Specs that between them set every key to something other than its default.
SPECS = [
    *sorted(PROFILES),
    "3g,window=1MiB,limit_data=10MB,timeout=30s,reset_peer=1m,slow_close=1s,burst=64KiB,"
    "mss=1200,min_rto=300ms,outages=10s/2s 1m/500ms,outage_mtbf=45s,outage_mttr=4s,"
    "outage_reset_after=30s",
    "loss=1%,up.gemodel=0.01 0.3 1 0,down.latency=20ms,down.distribution=pareto",
]


def fields(record):
    return [f.name for f in dataclasses.fields(record) if f.name not in NOT_TOXICS]


def test_the_registry_holds_every_type_the_api_accepts_by_its_kind():
    assert set(TOXICS) == API_TYPES
    for kind, toxic in TOXICS.items():
        assert toxic.kind == kind
        assert type(build(ToxicDef(kind, attributes=NEEDED.get(kind, {})))) is toxic
    with pytest.raises(ParamError, match="a toxic type") as err:
        build(ToxicDef("slicer_of_bread"))
    assert all(kind in str(err.value) for kind in API_TYPES)


def test_every_spec_field_is_the_key_of_exactly_one_parameter():
    for scope, record in RECORDS.items():
        keys = [p.key for t in TOXICS.values() if t.scope == scope for p in t.params if p.key]
        assert sorted(keys) == sorted(fields(record)), scope  # each once, none missing
        for t in TOXICS.values():
            if t.scope == scope:
                assert set(t.reads) <= set(fields(record)), t.kind
    assert list(DIRECTION_KEYS) == fields(DirectionSpec)  # in the record's order
    assert list(LINK_KEYS) == fields(LinkSpec)


def test_a_key_left_out_of_a_spec_means_the_toxics_default_or_no_toxic():
    for scope, record in RECORDS.items():
        spec = record()
        for t in TOXICS.values():
            if t.scope != scope:
                continue
            for p in t.params:
                if p.key is not None:
                    assert getattr(spec, p.key) in (None, p.default), (t.kind, p.name)


def test_parameters_have_unique_names_and_defaults_that_encode():
    for t in TOXICS.values():
        names = [p.name for p in t.params]
        assert len(set(names)) == len(names), t.kind
        for p in t.params:
            if p.default is not None:
                msgspec.json.encode(p.unit.encode(p.default))


def test_the_specs_here_set_every_key():
    specs = [parse(s) for s in SPECS]
    direction = {k for s in specs for side in (s.up, s.down) for k in _changed(side)}
    assert direction == set(fields(DirectionSpec))
    assert {k for s in specs for k in _changed(s)} == set(fields(LinkSpec))


def _changed(record):
    default = type(record)()
    return {k for k in fields(type(record)) if getattr(record, k) != getattr(default, k)}


@pytest.mark.parametrize("text", SPECS)
def test_a_spec_round_trips_through_toxiproxy_toxics(text):
    spec = parse(text)
    defs = from_toxics(spec.toxics())
    wire = msgspec.json.decode(msgspec.json.encode(defs), type=list[ToxicDef])
    again = to_spec(wire)
    for side in ("up", "down"):
        for key in fields(DirectionSpec):
            _same(getattr(getattr(again, side), key), getattr(getattr(spec, side), key))
    for key in fields(LinkSpec):
        _same(getattr(again, key), getattr(spec, key))
    assert from_toxics(again.toxics()) == defs  # and the JSON is the same again


def _same(got, expected):
    if isinstance(expected, tuple):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _same(g, e)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9)
    else:
        assert got == expected


def test_decode_fills_defaults_and_names_the_attribute_in_errors():
    toxic, values = decode("loss", {"probability": "5%", "min_rto": 0, "gemodel": None})
    assert toxic is TOXICS["loss"]
    assert values == {
        "probability": 0.05,
        "gemodel": None,
        "burst": 0.0,
        "mss": 1460,
        "min_rto": 0.2,
    }
    with pytest.raises(ParamError, match=r"latency\.attributes\.distribution"):
        decode("latency", {"distribution": None})  # null is not the default for a choice
    assert decode("latency", {"latency": None})[1]["latency"] == 0.0  # but is for a number
