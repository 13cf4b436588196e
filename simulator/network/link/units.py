"""Link parameter values with units: durations, rates, sizes, probabilities.

Values are written as people write them (``"200ms"``, ``"1.6mbit"``, ``"64KiB"``,
``"5%"``). Durations and rates need their unit: a bare ``100`` could mean
seconds or milliseconds, bits or bytes (0 alone is clear). Sizes and probabilities
may be plain numbers (bytes, a fraction). Every bad value raises :class:`ParamError` naming the
parameter and the unit expected.
"""

from __future__ import annotations

import math
import re

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_VALUE = re.compile(rf"^\s*{_NUMBER}\s*([A-Za-z/%]*)\s*$")

#: seconds per unit
DURATION_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "m": 60.0, "min": 60.0, "h": 3600.0}
#: bytes per second per unit; bit rates as netem and tc write them
RATE_UNITS = {
    "": 1.0,
    "B/s": 1.0,
    "bit": 1 / 8,
    "kbit": 1e3 / 8,
    "mbit": 1e6 / 8,
    "gbit": 1e9 / 8,
    "KB/s": 1e3,
    "MB/s": 1e6,
    "GB/s": 1e9,
    "KiB/s": 1024.0,
    "MiB/s": 1024.0**2,
}
#: bytes per unit
SIZE_UNITS = {"": 1.0, "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024.0, "MiB": 1024.0**2}


class ParamError(ValueError):
    """A link parameter with a bad value; ``str()`` names it and the expected unit."""

    def __init__(self, param: str, expected: str, got: object) -> None:
        super().__init__(f"{param}: expected {expected}, got {got!r}")
        self.param = param
        self.expected = expected


def _scaled(
    param: str, value: object, units: dict[str, float], expected: str, *, unit_needed: bool = False
) -> float:
    if isinstance(value, bool):
        raise ParamError(param, expected, value)
    if isinstance(value, int | float):
        number, factor, unit = float(value), 1.0, ""
    elif isinstance(value, str) and (match := _VALUE.match(value)):
        unit = match.group(2)
        found = units.get(unit, units.get(unit.lower()))
        if found is None:
            raise ParamError(param, expected, value)
        number, factor = float(match.group(1)), found
    else:
        raise ParamError(param, expected, value)
    if unit_needed and not unit and number != 0:
        # `latency = 100` read as 100 s gave runs that passed with nothing answered
        raise ParamError(param, f"{expected}, with its unit (a bare number is ambiguous)", value)
    if not math.isfinite(number) or number < 0:
        raise ParamError(param, expected, value)
    return number * factor


def duration(param: str, value: object) -> float:
    """Seconds from ``"200ms"``, ``"1.5s"``, ``"2m"`` or ``"150us"``; a bare number only if 0."""
    return _scaled(
        param, value, DURATION_UNITS, "a duration such as 200ms, 1.5s or 2m", unit_needed=True
    )


def rate(param: str, value: object) -> float:
    """Bytes per second from ``"1.6mbit"``, ``"768kbit"`` or ``"2MB/s"`` (bits or bytes: the
    unit is required)."""
    return _scaled(
        param, value, RATE_UNITS, "a rate such as 768kbit, 1.6mbit or 2MB/s", unit_needed=True
    )


def size(param: str, value: object) -> int:
    """Bytes from ``"64KiB"``, ``"1460"``, ``"10MB"`` or a number."""
    return round(_scaled(param, value, SIZE_UNITS, "a size such as 1460, 64KiB or 10MB"))


def probability(param: str, value: object) -> float:
    """A probability from ``0.05`` or ``"5%"``; 0..1."""
    expected = "a probability from 0 to 1, or a percentage such as 5%"
    if isinstance(value, str) and value.strip().endswith("%"):
        result = _scaled(param, value.strip()[:-1], {"": 0.01}, expected)
    else:
        result = _scaled(param, value, {"": 1.0}, expected)
    if result > 1:
        raise ParamError(param, expected, value)
    return result


def format_duration(seconds: float) -> str:
    """The short form used in messages and reports: ``"250ms"``, ``"1.5s"``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
