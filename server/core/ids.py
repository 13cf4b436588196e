"""Identifier sources, injected so that virtual-time runs are reproducible."""

from __future__ import annotations

import random
from typing import Protocol


class IdSource(Protocol):
    """Returns a new unguessable identifier, ``prefix`` first (``"call_..."``)."""

    def __call__(self, prefix: str) -> str: ...


_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base62(number: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits)) or "0"


class SeededIds:
    """128-bit ids from a seeded generator: deterministic, for the virtual clock and tests."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{_base62(self._rng.getrandbits(128))}"


class SecretIds:
    """128-bit ids from the OS's cryptographic generator: the real server's source."""

    def __init__(self) -> None:
        self._rng = random.SystemRandom()

    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{_base62(self._rng.getrandbits(128))}"
