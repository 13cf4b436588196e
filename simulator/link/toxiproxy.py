"""Toxics in Toxiproxy's JSON shape, both ways: what the proxy's control API speaks.

Toxiproxy writes a toxic as ``{"name", "type", "stream", "toxicity",
"attributes"}`` with times in milliseconds (the slicer's delay in microseconds)
and bandwidth in KB/s. ringlab's own toxics (``loss``, ``outage``) and extra
attributes (latency ``distribution``, ``correlation``; bandwidth ``burst``) use
the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

from . import units
from .bandwidth import Bandwidth
from .base import MIN_RTO, TOXIPROXY_STREAM, Direction, Toxic
from .breakers import LimitData, ResetPeer, SlowClose, Timeout
from .latency import DISTRIBUTIONS, Latency
from .loss import MSS, GilbertElliott, Loss
from .outage import Outage, Schedule
from .slicer import Slicer
from .units import ParamError
from .window import WINDOW, Window

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


class _Attrs:
    """Reads one toxic's attributes, naming the attribute in every error."""

    def __init__(self, type_: str, attributes: Mapping[str, Any]) -> None:
        self.type = type_
        self.attributes = attributes

    def _param(self, key: str) -> str:
        return f"{self.type}.attributes.{key}"

    def ms(self, key: str, default: float | None = 0.0) -> float | None:
        value = self.attributes.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ParamError(self._param(key), "milliseconds (a number >= 0)", value)
        return float(value) / 1000

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.attributes.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ParamError(self._param(key), f"a whole number >= {minimum}", value)
        return value

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.attributes.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ParamError(self._param(key), f"a number >= {minimum:g}", value)
        return float(value)

    def probability(self, key: str) -> float:
        return units.probability(self._param(key), self.attributes.get(key, 0.0))

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.attributes.get(key, default)
        if value not in options:
            raise ParamError(self._param(key), "one of " + ", ".join(options), value)
        return str(value)

    def windows(self, key: str) -> list[tuple[float, float]]:
        value = self.attributes.get(key, [])
        expected = "a list of [start_ms, duration_ms] pairs"
        if not isinstance(value, list):
            raise ParamError(self._param(key), expected, value)
        out = []
        for pair in value:
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(x, int | float) and x >= 0 for x in pair)
            ):
                raise ParamError(self._param(key), expected, value)
            out.append((pair[0] / 1000, pair[1] / 1000))
        return out


def build(toxic: ToxicDef, shared: dict[str, Schedule] | None = None) -> Toxic:
    """A fresh toxic for one connection. ``shared`` lets the two streams' outages with
    the same attributes share one schedule (a link goes down both ways at once)."""
    a = _Attrs(toxic.type, toxic.attributes)
    t = toxic.type
    if t == "latency":
        return Latency(
            a.ms("latency") or 0.0,
            a.ms("jitter") or 0.0,
            a.choice("distribution", DISTRIBUTIONS, "uniform"),  # type: ignore[arg-type]
            a.probability("correlation"),
        )
    if t == "bandwidth":
        rate = a.number("rate", 0.0)
        if rate <= 0:
            raise ParamError(a._param("rate"), "KB/s (a number > 0)", toxic.attributes.get("rate"))
        return Bandwidth(rate * 1000, int(a.number("burst", 0)))
    if t == "slow_close":
        return SlowClose(a.ms("delay") or 0.0)
    if t == "timeout":
        return Timeout(a.ms("timeout") or 0.0)
    if t == "reset_peer":
        return ResetPeer(a.ms("timeout") or 0.0)
    if t == "limit_data":
        return LimitData(int(a.number("bytes", 0)))
    if t == "slicer":
        average = a.integer("average_size", 0)
        if average < 1:  # Toxiproxy recurses forever on 0
            got = toxic.attributes.get("average_size")
            raise ParamError(a._param("average_size"), "a whole number >= 1 (bytes)", got)
        variation = a.integer("size_variation", 0)
        if variation >= average:
            raise ParamError(
                a._param("size_variation"),
                f"a whole number below average_size ({average})",
                variation,
            )
        return Slicer(average, variation, a.number("delay", 0.0) / 1_000_000)
    if t == "loss":
        model = None
        if (ge := toxic.attributes.get("gemodel")) is not None:
            if not isinstance(ge, list) or len(ge) != 4:
                raise ParamError(a._param("gemodel"), "[p, r, 1-h, 1-k]", ge)
            p, r, h, k = (units.probability(a._param(f"gemodel[{i}]"), x) for i, x in enumerate(ge))
            model = GilbertElliott(p, r, h, k)
        return Loss(
            a.probability("probability"),
            model=model,
            burst=a.ms("burst", 0.0) or 0.0,
            mss=int(a.number("mss", MSS, minimum=1)),
            min_rto=a.ms("min_rto", MIN_RTO) or MIN_RTO,
        )
    if t == "outage":
        # both streams' outages with equal attributes share a schedule on a connection
        key = json.dumps(toxic.attributes, sort_keys=True)
        schedule = (shared or {}).get(key) or Schedule(
            a.windows("windows"), a.ms("mtbf", None), a.ms("mttr", None)
        )
        if shared is not None:
            shared[key] = schedule
        return Outage(schedule, a.ms("reset_after", None))
    if t == "window":  # ringlab's: the TCP window (bytes in flight per round trip)
        return Window(int(a.number("bytes", WINDOW, minimum=1)))
    known = (
        "latency, bandwidth, slow_close, timeout, reset_peer, limit_data, slicer, loss, outage,"
        " window"
    )
    raise ParamError("type", f"a toxic type ({known})", t)


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
