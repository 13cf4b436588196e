"""Toxics in Toxiproxy's JSON shape, both ways: what the proxy's control API speaks.

Toxiproxy writes a toxic as ``{"name", "type", "stream", "toxicity",
"attributes"}`` with times in milliseconds (the slicer's delay in microseconds)
and bandwidth in KB/s. ringlab's own toxics (``loss``, ``outage``) and extra
attributes (latency ``distribution``, ``correlation``; bandwidth ``burst``) use
the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import msgspec

from .base import TOXIPROXY_STREAM, Direction, Toxic
from .registry import TOXICS
from .spec import DirectionSpec, LinkSpec
from .units import ParamError

Stream = Literal["upstream", "downstream"]


class ToxicDef(msgspec.Struct):
    """One toxic as the control API shows it."""

    type: str
    name: str = ""
    stream: Stream = "downstream"
    toxicity: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    attributes: dict[str, Any] = {}

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.type}_{self.stream}"  # Toxiproxy's default name

    @property
    def direction(self) -> Direction:
        return "up" if self.stream == "upstream" else "down"


def decode(type_: str, attributes: Mapping[str, Any]) -> tuple[type[Toxic], dict[str, Any]]:
    """The toxic of a type and its parameters' values from the JSON attributes, in base
    units; a bad one raises :class:`ParamError` naming ``<type>.attributes.<name>``."""
    toxic = TOXICS.get(type_)
    if toxic is None:
        raise ParamError("type", f"a toxic type ({', '.join(TOXICS)})", type_)
    values: dict[str, Any] = {}
    for p in toxic.params:
        value = attributes.get(p.name)
        if value is None and (p.name not in attributes or p.unit.nullable):
            values[p.name] = p.default
        else:
            values[p.name] = p.unit.decode(f"{type_}.attributes.{p.name}", value)
        toxic.check(values, attributes)  # as each is read: the first bad one is named
    return toxic, values


def build(toxic: ToxicDef, shared: dict[str, dict[str, object]] | None = None) -> Toxic:
    """A fresh toxic for one connection. ``shared`` holds, per connection, what the two
    streams' toxics of one type with the same attributes share (an outage's schedule:
    a link goes down both ways at once)."""
    cls, values = decode(toxic.type, toxic.attributes)
    state: dict[str, object] = {}
    if shared is not None:
        key = f"{toxic.type} {json.dumps(toxic.attributes, sort_keys=True)}"
        state = shared.setdefault(key, {})
    return cls.create(values, state)


def describe(direction: Direction, name: str, toxic: Toxic, toxicity: float = 1.0) -> ToxicDef:
    """The JSON shape of a toxic that is in place."""
    return ToxicDef(
        type=toxic.kind,
        name=name,
        stream=TOXIPROXY_STREAM[direction],  # type: ignore[arg-type]
        toxicity=toxicity,
        attributes=toxic.attributes(),
    )


def from_toxics(toxics: list[tuple[Direction, str, Toxic]]) -> list[ToxicDef]:
    """Toxiproxy-shaped definitions of a link spec's toxics, named ``<type>_<stream>``."""
    return [
        describe(direction, f"{name}_{TOXIPROXY_STREAM[direction]}", toxic)
        for direction, name, toxic in toxics
    ]


def to_spec(toxics: Iterable[ToxicDef], name: str = "custom") -> LinkSpec:
    """The link spec that :func:`from_toxics` writes as ``toxics``: each toxic's
    attributes set the spec keys of its parameters. A toxic no spec key sets (``slicer``)
    and the toxicity are left out; of a link's two outages, the last one's attributes
    stand for both."""
    sides: dict[Direction, dict[str, Any]] = {"up": {}, "down": {}}
    link: dict[str, Any] = {}
    for t in toxics:
        cls, values = decode(t.type, t.attributes)
        target = link if cls.scope == "link" else sides[t.direction]
        target |= {p.key: values[p.name] for p in cls.params if p.key}
    return LinkSpec(name, DirectionSpec(**sides["up"]), DirectionSpec(**sides["down"]), **link)
