"""A toxic's parameters, declared once: how a link spec and Toxiproxy's JSON write each one.

A toxic lists its parameters as :class:`Param`: the attribute's name in Toxiproxy's
JSON, its :class:`Unit`, its default when the JSON leaves it out, and the key a link
spec (a scenario file, ``--link``) sets it with. Between the two written forms a value
is in base units: seconds, bytes, bytes per second, probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import units
from .units import ParamError

#: Reads one value as a link spec writes it: ``(parameter name for errors, value)``.
Parser = Callable[[str, object], Any]
#: Parameter values in base units, by attribute name.
Values = Mapping[str, Any]


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Unit:
    """How one kind of value is written, in a link spec and in Toxiproxy's JSON."""

    parse: Parser  # a link spec's value (``"200ms"``) -> base units
    decode: Callable[[str, object], Any]  # a JSON attribute (``200``) -> base units
    encode: Callable[[Any], Any] = _same  # base units -> a JSON attribute
    #: JSON ``null`` reads as the default (as a missing attribute does); if False, the
    #: decoder gets the null and refuses it
    nullable: bool = True
    #: a list: the compact spec form writes its items apart by spaces, a pair's by ``/``
    listed: bool = False


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a toxic."""

    name: str  # the attribute in Toxiproxy's JSON
    unit: Unit
    default: Any  # base units, when the JSON leaves the attribute out
    key: str | None = None  # the link spec's key; None: only the proxy's API sets it


def ms(seconds: float) -> float:
    """Seconds as Toxiproxy's milliseconds: a whole number when it is one."""
    value = round(seconds * 1000, 3)
    return int(value) if value == int(value) else value


def number(param: str, value: object, minimum: float = 0.0) -> float:
    """A JSON number of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ParamError(param, f"a number >= {minimum:g}", value)
    return float(value)


def whole_number(param: str, value: object, minimum: int = 0) -> int:
    """A JSON integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParamError(param, f"a whole number >= {minimum}", value)
    return value


def _milliseconds(param: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ParamError(param, "milliseconds (a number >= 0)", value)
    return float(value) / 1000


def choice(options: tuple[str, ...]) -> Unit:
    """One of ``options``, written the same way in both forms."""

    def parse(param: str, value: object) -> str:
        if not isinstance(value, str) or value not in options:
            raise ParamError(param, "one of " + ", ".join(options), value)
        return value

    return Unit(parse, parse, nullable=False)


def size(minimum: int = 0, parse: Parser = units.size) -> Unit:
    """Bytes: ``"64KiB"`` in a spec, a number in JSON (a fraction is cut to whole bytes)."""
    return Unit(parse, lambda param, value: int(number(param, value, minimum)))


def whole(minimum: int = 0) -> Unit:
    """A count (bytes, in the slicer's sizes) that JSON must write as an integer."""
    return Unit(units.size, lambda param, value: whole_number(param, value, minimum))


#: Seconds: ``"200ms"`` in a spec, milliseconds in JSON.
DURATION = Unit(units.duration, _milliseconds, ms)
#: Seconds: a duration in a spec, microseconds in JSON (the slicer's delay, as Toxiproxy's).
MICROSECONDS = Unit(
    units.duration,
    lambda param, value: number(param, value) / 1_000_000,
    lambda seconds: round(seconds * 1_000_000),
)
#: Bytes per second: ``"1.6mbit"`` in a spec, KB/s in JSON (Toxiproxy's bandwidth).
RATE = Unit(units.rate, lambda param, value: number(param, value) * 1000, lambda r: r / 1000)
#: 0..1: ``0.05`` or ``"5%"`` in a spec, a number in JSON.
PROBABILITY = Unit(units.probability, units.probability, nullable=False)
