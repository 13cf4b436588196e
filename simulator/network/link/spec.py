"""Link specifications: a profile plus overrides, from TOML or the compact CLI form.

A spec is plain data (validated values in base units) and builds fresh toxics
for each connection. Both written forms say the same thing::

    3g,down.loss=0.05,up.latency=200ms          # CLI
    {profile = "3g", down = {loss = 0.05}, up = {latency = "200ms"}}   # TOML

A key without ``up.``/``down.`` sets both directions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import units
from .base import DIRECTIONS, MIN_RTO, MSS, Direction, Toxic
from .latency import Distribution
from .params import Parser
from .registry import TOXICS
from .units import ParamError


@dataclass(frozen=True, slots=True)
class DirectionSpec:
    """One direction's parameters, in seconds, bytes, bytes/s and probabilities."""

    latency: float = 0.0
    jitter: float = 0.0
    distribution: Distribution = "uniform"
    correlation: float = 0.0
    rate: float | None = None  # None: unlimited
    burst: int = 0
    loss: float = 0.0
    loss_burst: float = 0.0  # mean length of a bad period, seconds; 0 = independent losses
    gemodel: tuple[float, float, float, float] | None = None  # p, r, 1-h, 1-k
    mss: int = MSS
    min_rto: float = MIN_RTO
    slow_close: float = 0.0
    limit_data: int | None = None
    timeout: float | None = None
    reset_peer: float | None = None
    window: int | None = None  # None: the default window (simulator.network.link.window.WINDOW)

    def toxics(self) -> list[tuple[str, Toxic]]:
        """Fresh toxics for one connection, in the order they act."""
        out: list[tuple[str, Toxic]] = []
        for toxic in _PER_DIRECTION:
            values = _values(toxic, self)
            if toxic.wanted(values):
                out.append((toxic.kind, toxic.create(values, {})))
        return out


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """Both directions plus the outages, which hit both at once."""

    name: str = "custom"
    up: DirectionSpec = field(default_factory=DirectionSpec)
    down: DirectionSpec = field(default_factory=DirectionSpec)
    outages: tuple[tuple[float, float], ...] = ()  # (offset from connect, duration)
    outage_mtbf: float | None = None
    outage_mttr: float | None = None
    outage_reset_after: float | None = None

    def toxics(self) -> list[tuple[Direction, str, Toxic]]:
        """Fresh toxics for one connection: ``(direction, name, toxic)``."""
        out: list[tuple[Direction, str, Toxic]] = []
        for direction, spec in zip(DIRECTIONS, (self.up, self.down), strict=True):
            out += [(direction, name, toxic) for name, toxic in spec.toxics()]
        for toxic in _PER_LINK:
            values = _values(toxic, self)
            if toxic.wanted(values):
                shared: dict[str, object] = {}  # e.g. one outage schedule for both directions
                out += [(d, toxic.kind, toxic.create(values, shared)) for d in DIRECTIONS]
        return out

    def describe(self) -> str:
        """One line for logs and reports."""

        def side(s: DirectionSpec) -> str:
            parts = [units.format_duration(s.latency)]
            if s.jitter:
                parts[0] += f"±{units.format_duration(s.jitter)}"
            if s.rate is not None:
                parts.append(_format_rate(s.rate))
            if s.gemodel:
                parts.append("loss gemodel " + " ".join(f"{x:g}" for x in s.gemodel))
            elif s.loss:
                parts.append(f"loss {s.loss:.2%}")
                if s.loss_burst:
                    parts[-1] += f" in {units.format_duration(s.loss_burst)} bursts"
            return " ".join(parts)

        text = f"{self.name}: up {side(self.up)} | down {side(self.down)}"
        if self.outage_mtbf and self.outage_mttr:
            text += (
                f" | outages every ~{units.format_duration(self.outage_mtbf)}"
                f" for ~{units.format_duration(self.outage_mttr)}"
            )
        return text


def _format_rate(bytes_per_s: float) -> str:
    bits = bytes_per_s * 8
    for unit, scale in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3)):
        if bits >= scale:
            return f"{bits / scale:g}{unit}"
    return f"{bits:g}bit"


# ---------------------------------------------------------------- the registry


def _scoped(scope: Literal["direction", "link"]) -> tuple[type[Toxic], ...]:
    """The toxics a link spec sets per direction, or once for the link, in acting order
    (one with no spec key, the slicer, is the proxy API's alone)."""
    return tuple(t for t in TOXICS.values() if t.scope == scope and any(p.key for p in t.params))


_PER_DIRECTION = _scoped("direction")
_PER_LINK = _scoped("link")


def _values(toxic: type[Toxic], spec: DirectionSpec | LinkSpec) -> dict[str, Any]:
    """A toxic's parameter values as ``spec`` sets them, by attribute name."""
    values = {p.name: p.default if p.key is None else getattr(spec, p.key) for p in toxic.params}
    return values | {key: getattr(spec, key) for key in toxic.reads}


def _parsers(record: type[DirectionSpec | LinkSpec]) -> dict[str, Parser]:
    """Each field's parser, in the record's order, from the toxic whose key it is."""
    toxics = _PER_DIRECTION if record is DirectionSpec else _PER_LINK
    parsers = {p.key: p.unit.parse for t in toxics for p in t.params if p.key}
    return {f.name: parsers[f.name] for f in dataclasses.fields(record) if f.name in parsers}


DIRECTION_KEYS: dict[str, Parser] = _parsers(DirectionSpec)
LINK_KEYS: dict[str, Parser] = _parsers(LinkSpec)
#: Keys whose value is a list (``gemodel``, ``outages``).
_LISTED = {p.key for t in TOXICS.values() for p in t.params if p.key and p.unit.listed}


def from_table(table: Mapping[str, Any], where: str = "link") -> LinkSpec:
    """A spec from a TOML table: ``profile`` (optional) plus overrides.

    ``where`` prefixes parameter names in errors (``links.mobile.down.loss``).
    """
    from .profiles import PROFILES

    base = LinkSpec()
    name = table.get("profile")
    if name is not None:
        if name not in PROFILES:
            raise ParamError(_join(where, "profile"), "one of " + ", ".join(PROFILES), name)
        base = from_table(PROFILES[name], where)
        base = dataclasses.replace(base, name=name)
    up: dict[str, Any] = {}
    down: dict[str, Any] = {}
    link: dict[str, Any] = {}
    for key, value in table.items():
        if key == "profile":
            continue
        if key in ("up", "down"):
            if not isinstance(value, Mapping):
                raise ParamError(_join(where, key), "a table of parameters", value)
            target = up if key == "up" else down
            for sub, subvalue in value.items():
                target[sub] = _parse_direction_key(_join(where, f"{key}.{sub}"), sub, subvalue)
        elif key in LINK_KEYS:
            link[key] = LINK_KEYS[key](_join(where, key), value)
        else:
            parsed = _parse_direction_key(_join(where, key), key, value)
            up[key] = down[key] = parsed
    spec = dataclasses.replace(
        base,
        up=dataclasses.replace(base.up, **up),
        down=dataclasses.replace(base.down, **down),
        **link,
    )
    if name is not None and (up or down or link):
        spec = dataclasses.replace(spec, name=f"{name}*")  # a profile, changed
    return spec


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _parse_direction_key(param: str, key: str, value: object) -> Any:
    parser = DIRECTION_KEYS.get(key)
    if parser is None:
        known = ", ".join([*DIRECTION_KEYS, *LINK_KEYS, "profile", "up.<key>", "down.<key>"])
        raise ParamError(param, f"a link parameter ({known})", key)
    return parser(param, value)


def parse(text: str, where: str = "link") -> LinkSpec:
    """A spec from the compact form: ``3g,down.loss=0.05,up.latency=200ms``."""
    table: dict[str, Any] = {}
    for i, item in enumerate(part.strip() for part in text.split(",")):
        if not item:
            continue
        if "=" not in item:
            if i != 0:
                raise ParamError(where or "link", "key=value after the profile name", item)
            table["profile"] = item
            continue
        key, _, value = (s.strip() for s in item.partition("="))
        parsed: Any = value
        if key.rpartition(".")[2] in _LISTED:
            parsed = [v.split("/") if "/" in v else v for v in value.split()]
        head, _, tail = key.partition(".")
        if tail and head in ("up", "down"):
            table.setdefault(head, {})[tail] = parsed
        else:
            table[key] = parsed
    return from_table(table, where)
