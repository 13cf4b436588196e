"""Behaviour distributions as scenario files write them.

``"3s"`` (always 3 s), ``"2s..6s"`` (uniform), ``"exp(30s)"`` (exponential with
that mean), ``"normal(3s, 1s)"`` (never below 0), and plain numbers for counts
and probabilities. Every draw takes a seeded :class:`random.Random`.
"""

from __future__ import annotations

import random
import re

from ..network.link import units


class _Value:
    """An immutable value object. Not a dataclass on purpose: msgspec decodes
    dataclasses as tables, and these are written as strings in scenario files."""

    __slots__ = ()

    def _key(self) -> tuple[object, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Value) and type(other) is type(self) and self._key() == other._key()
        )

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class Duration(_Value):
    """A length of time in seconds, written ``"30s"``, ``"2m"``, ``"250ms"``."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def _key(self) -> tuple[object, ...]:
        return (self.seconds,)

    @classmethod
    def parse(cls, value: object) -> Duration:
        try:
            return cls(units.duration("", value))
        except units.ParamError:
            raise ValueError(
                f"expected a duration such as 30s, 2m or 250ms, got {value!r}"
            ) from None

    def __str__(self) -> str:
        return units.format_duration(self.seconds)


_CALL = re.compile(r"^\s*(exp|normal)\s*\((.*)\)\s*$")
EXPECTED = 'a duration or distribution such as "3s", "2s..6s", "exp(30s)" or "normal(3s, 1s)"'


class Dist(_Value):
    """A distribution of durations (seconds): const, uniform, exp or normal."""

    __slots__ = ("a", "b", "kind", "text")

    def __init__(self, kind: str, a: float, b: float = 0.0, text: str = "") -> None:
        self.kind, self.a, self.b, self.text = kind, a, b, text

    def _key(self) -> tuple[object, ...]:
        return (self.kind, self.a, self.b)

    @classmethod
    def parse(cls, value: object) -> Dist:
        try:
            return cls._parse(value)
        except (units.ParamError, ValueError):
            raise ValueError(f"expected {EXPECTED}, got {value!r}") from None

    @classmethod
    def _parse(cls, value: object) -> Dist:
        text = str(value)
        if isinstance(value, str):
            if ".." in value:
                low_text, high_text = value.split("..")  # more than one ".." cannot unpack
                low = units.duration("", low_text.strip())
                high = units.duration("", high_text.strip())
                if high < low:
                    raise ValueError("range goes down")
                return cls("uniform", low, high, text)
            if match := _CALL.match(value):
                args = [units.duration("", a.strip()) for a in match[2].split(",")]
                if match[1] == "exp" and len(args) == 1 and args[0] > 0:
                    return cls("exp", args[0], 0.0, text)
                if match[1] == "normal" and len(args) == 2:
                    return cls("normal", args[0], args[1], text)
                raise ValueError("bad arguments")
        return cls("const", units.duration("", value), 0.0, text)

    def sample(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "exp":
            return rng.expovariate(1 / self.a)
        if self.kind == "normal":
            return max(0.0, rng.gauss(self.a, self.b))
        return self.a

    @property
    def mean(self) -> float:
        return {"uniform": (self.a + self.b) / 2}.get(self.kind, self.a)

    def __str__(self) -> str:
        return self.text
