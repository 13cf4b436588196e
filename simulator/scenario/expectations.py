"""Expectations: ``metric op threshold``, as a scenario's ``[expect]`` table writes them."""

from __future__ import annotations

import re

import msgspec

from ..network.link.units import DURATION_UNITS, format_duration
from . import metric_names

_COMPARISON = re.compile(
    r"^\s*(<=|>=|==|!=|<|>)?\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$"
)
_EXPECTED = 'expected a comparison such as "< 2s" or "== 0"'


class Expectation(msgspec.Struct, frozen=True):
    """``metric op threshold``: e.g. ``ring_stop.others.p95 < 2.0`` (seconds)."""

    metric: str
    op: str
    threshold: float

    def holds(self, value: float | None) -> bool:
        """Whether a measured value meets it; no data never does."""
        if value is None:
            return False
        return {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "==": value == self.threshold,
            "!=": value != self.threshold,
        }[self.op]

    def describe(self) -> str:
        """With the threshold in its unit, as a file writes it: ``ring_stop.others.p95 <
        500ms``; ``lost_messages == 0``."""
        timed = metric_names.unit(self.metric) == "s"
        threshold = format_duration(self.threshold) if timed else f"{self.threshold:g}"
        return f"{self.metric} {self.op} {threshold}"

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


def expectation(metric: str, value: str | float) -> Expectation:
    """Parse ``"< 2s"``, ``"<= 3"``, ``0`` (means ``== 0``). A time metric needs a unit
    (``"< 2"`` is refused: seconds or milliseconds?), a count must have none."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{_EXPECTED}, got {value!r}")
    match = _COMPARISON.match(str(value))
    if match is None:
        raise ValueError(f"{_EXPECTED}, got {value!r}")
    op, number, unit = match[1] or "==", float(match[2]), match[3]
    if metric_names.unit(metric) == "s":
        if not unit and number != 0:
            raise ValueError(
                f'a time: expected a comparison with a unit, such as "{op} {match[2]}s",'
                f" got {value!r}"
            )
        if unit and unit not in DURATION_UNITS and unit.lower() not in DURATION_UNITS:
            units = ", ".join(u for u in DURATION_UNITS if u)
            raise ValueError(f"a time: expected a unit of time ({units}), got {value!r}")
        number *= DURATION_UNITS.get(unit, DURATION_UNITS.get(unit.lower(), 1.0))
    elif unit:
        raise ValueError(
            f'a count: expected a comparison with a plain number, such as "{op} {match[2]}",'
            f" got {value!r}"
        )
    return Expectation(metric, op, number)
