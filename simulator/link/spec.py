"""Link specifications: a profile plus overrides, from TOML or the compact CLI form.

A spec is plain data (validated values in base units) and builds fresh toxics
for each connection. Both written forms say the same thing::

    3g,down.loss=0.05,up.latency=200ms          # CLI
    {profile = "3g", down = {loss = 0.05}, up = {latency = "200ms"}}   # TOML

A key without ``up.``/``down.`` sets both directions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import units
from .bandwidth import Bandwidth
from .base import DIRECTIONS, MIN_RTO, Direction, Toxic
from .breakers import LimitData, ResetPeer, SlowClose, Timeout
from .latency import DISTRIBUTIONS, Distribution, Latency
from .loss import MSS, GilbertElliott, Loss
from .outage import Outage, Schedule
from .units import ParamError
from .window import Window


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
    window: int | None = None  # None: the default window (simulator.link.window.WINDOW)

    def toxics(self) -> list[tuple[str, Toxic]]:
        """Fresh toxics for one connection, in the order they act."""
        out: list[tuple[str, Toxic]] = []
        if self.limit_data is not None:
            out.append(("limit_data", LimitData(self.limit_data)))
        if self.timeout is not None:
            out.append(("timeout", Timeout(self.timeout)))
        if self.rate is not None:
            out.append(("bandwidth", Bandwidth(self.rate, self.burst, self.mss)))
        if self.loss or self.gemodel:
            model = None
            if self.gemodel is not None:
                model = GilbertElliott(*self.gemodel)
            loss = Loss(
                self.loss, model=model, burst=self.loss_burst, mss=self.mss, min_rto=self.min_rto
            )
            out.append(("loss", loss))
        if self.latency or self.jitter:
            latency = Latency(self.latency, self.jitter, self.distribution, self.correlation)
            out.append(("latency", latency))
        if self.slow_close:
            out.append(("slow_close", SlowClose(self.slow_close)))
        if self.reset_peer is not None:
            out.append(("reset_peer", ResetPeer(self.reset_peer)))
        if self.window is not None:
            out.append(("window", Window(self.window)))
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
        if self.outages or (self.outage_mtbf and self.outage_mttr):
            # one schedule: an outage takes both directions down together
            schedule = Schedule(self.outages, self.outage_mtbf, self.outage_mttr)
            for direction in DIRECTIONS:
                out.append((direction, "outage", Outage(schedule, self.outage_reset_after)))
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


# ---------------------------------------------------------------- parsing


def _choice(options: tuple[str, ...]) -> Callable[[str, object], str]:
    def parse(param: str, value: object) -> str:
        if not isinstance(value, str) or value not in options:
            raise ParamError(param, "one of " + ", ".join(options), value)
        return value

    return parse


def _burst(param: str, value: object) -> float:
    try:
        return units.duration(param, value)
    except ParamError:
        # it was once a count of segments (see docs/links.md): say what it is now
        raise ParamError(
            param, 'the mean length of a bad period, a duration such as "300ms"', value
        ) from None


def _gemodel(param: str, value: object) -> tuple[float, float, float, float]:
    expected = "four probabilities [p, r, 1-h, 1-k] as netem's gemodel takes them"
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) != 4:
        raise ParamError(param, expected, value)
    p, r, h, k = (units.probability(f"{param}[{i}]", v) for i, v in enumerate(items))
    return p, r, h, k


def _window(param: str, value: object) -> int:
    size = units.size(param, value)
    if size <= 0:
        raise ParamError(param, "a window of at least one byte, such as 64KiB or 3MiB", value)
    return size


def _windows(param: str, value: object) -> tuple[tuple[float, float], ...]:
    expected = 'a list of [start, duration] pairs such as [["30s", "10s"]]'
    if not isinstance(value, list):
        raise ParamError(param, expected, value)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ParamError(f"{param}[{i}]", expected, item)
        start = units.duration(f"{param}[{i}][0]", item[0])
        out.append((start, units.duration(f"{param}[{i}][1]", item[1])))
    return tuple(out)


Parser = Callable[[str, object], Any]

DIRECTION_KEYS: dict[str, Parser] = {
    "latency": units.duration,
    "jitter": units.duration,
    "distribution": _choice(DISTRIBUTIONS),
    "correlation": units.probability,
    "rate": units.rate,
    "burst": units.size,
    "loss": units.probability,
    "loss_burst": _burst,
    "gemodel": _gemodel,
    "mss": units.size,
    "min_rto": units.duration,
    "slow_close": units.duration,
    "limit_data": units.size,
    "timeout": units.duration,
    "reset_peer": units.duration,
    "window": _window,
}
LINK_KEYS: dict[str, Parser] = {
    "outages": _windows,
    "outage_mtbf": units.duration,
    "outage_mttr": units.duration,
    "outage_reset_after": units.duration,
}


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
        if key.endswith("gemodel") or key == "outages":
            parsed = [v.split("/") if "/" in v else v for v in value.split()]
        head, _, tail = key.partition(".")
        if tail and head in ("up", "down"):
            table.setdefault(head, {})[tail] = parsed
        else:
            table[key] = parsed
    return from_table(table, where)
