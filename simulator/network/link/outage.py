"""Outages: windows when nothing passes, fixed or random, that can break the connection."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from . import units
from .base import Env, Toxic
from .params import DURATION, Param, Unit, Values, ms
from .units import ParamError

Windows = tuple[tuple[float, float], ...]


def _windows(param: str, value: object) -> Windows:
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


def _windows_json(param: str, value: object) -> Windows:
    expected = "a list of [start_ms, duration_ms] pairs"
    if not isinstance(value, list):
        raise ParamError(param, expected, value)
    out = []
    for pair in value:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int | float) and x >= 0 for x in pair)
        ):
            raise ParamError(param, expected, value)
        out.append((pair[0] / 1000, pair[1] / 1000))
    return tuple(out)


#: Down windows, ``(start, duration)`` in seconds: durations in a spec, ms in JSON.
WINDOWS = Unit(
    _windows,
    _windows_json,
    lambda windows: [[ms(a), ms(b)] for a, b in windows],
    nullable=False,
    listed=True,
)


class Schedule:
    """Down windows on the trio clock, shared by both directions of a link.

    ``fixed`` windows are ``(offset, duration)`` pairs counted from when the link
    starts. With ``mtbf`` and ``mttr`` (means, seconds), random windows follow
    each other: up for an exponential time with mean ``mtbf``, then down for an
    exponential time with mean ``mttr``. ``on_window(start, end)`` is told of each
    window as it is drawn (fixed ones when the schedule starts).
    """

    def __init__(
        self,
        fixed: Iterable[tuple[float, float]] = (),
        mtbf: float | None = None,
        mttr: float | None = None,
        on_window: Callable[[float, float], None] | None = None,
    ) -> None:
        self.fixed = sorted(fixed)
        self.mtbf, self.mttr = mtbf, mttr
        self.on_window = on_window
        self.windows: list[tuple[float, float]] = []  # (start, end), sorted by start
        self.added: list[tuple[float, float]] = []  # the windows :meth:`add` put in
        self._rng: random.Random | None = None
        self._random_until = 0.0  # random windows are generated up to here

    def start(self, now: float, rng: random.Random) -> None:
        """Anchor the schedule at ``now`` (the first direction to bind does it)."""
        if self._rng is not None:
            return
        self._rng = rng
        self._random_until = now
        fixed = [(now + offset, now + offset + length) for offset, length in self.fixed]
        self.windows = sorted([*self.windows, *fixed])
        for window in fixed:
            self._announce(window)
        self._extend(now)

    def add(self, start: float, duration: float, *, announce: bool = True) -> None:
        """A window from ``start`` for ``duration`` seconds (a cut or a fault's outage)."""
        window = (start, start + duration)
        self.windows.append(window)
        self.added.append(window)
        self.windows.sort()
        if announce:
            self._announce(window)

    def _announce(self, window: tuple[float, float]) -> None:
        if self.on_window is not None:
            self.on_window(*window)

    def _extend(self, t: float) -> None:
        if self.mtbf is None or self.mttr is None or self._rng is None:
            return
        while self._random_until <= t:
            start = self._random_until + self._rng.expovariate(1 / self.mtbf)
            end = start + self._rng.expovariate(1 / self.mttr)
            self.windows.append((start, end))
            self._announce((start, end))
            self._random_until = end
        self.windows.sort()

    def next_window(self, t: float) -> tuple[float, float] | None:
        """The window that contains ``t``, or else the next one to start."""
        # A plain scan: both directions ask about different times, and a link
        # sees few windows (one every mtbf), so there is nothing worth caching.
        self._extend(t)
        return min((w for w in self.windows if w[1] > t), default=None)


class Outage(Toxic):
    """Nothing passes while the schedule says the link is down.

    Data waits and passes, in order, when the window ends. A window longer than
    ``reset_after`` seconds resets the connection that much after the window
    began, whether or not data was waiting (as when a phone changes network or
    a NAT forgets the mapping).
    """

    kind = "outage"
    params = (
        Param("windows", WINDOWS, (), key="outages"),
        Param("mtbf", DURATION, None, key="outage_mtbf"),
        Param("mttr", DURATION, None, key="outage_mttr"),
        Param("reset_after", DURATION, None, key="outage_reset_after"),
    )
    scope = "link"

    @classmethod
    def create(cls, values: Values, shared: dict[str, object]) -> Outage:
        # one schedule for both directions: the link goes down both ways at once
        schedule = shared.get("schedule")
        if not isinstance(schedule, Schedule):
            schedule = Schedule(values["windows"], values["mtbf"], values["mttr"])
            shared["schedule"] = schedule
        return cls(schedule, values["reset_after"])

    @classmethod
    def wanted(cls, values: Values) -> bool:
        return bool(values["windows"] or (values["mtbf"] and values["mttr"]))

    def __init__(self, schedule: Schedule, reset_after: float | None = None) -> None:
        super().__init__()
        self.schedule = schedule
        self.reset_after = reset_after
        self._counted: set[tuple[float, float]] = set()
        self._look_from = 0.0

    def bind(self, env: Env, now: float) -> None:
        super().bind(env, now)
        self.schedule.start(now, self.rng)
        self._look_from = now

    def hold(self, now: float) -> float:
        window = self.schedule.next_window(now)
        if window is None or window[0] > now:
            return now
        if window not in self._counted:
            self._counted.add(window)
            self.env.stats.outages += 1
        return window[1]

    def deadline(self) -> float | None:
        if self.reset_after is None:
            return None
        window = self.schedule.next_window(self._look_from)
        if window is None:
            return None
        start, end = window
        # a short window is only a time to look again at the one after it
        return start + self.reset_after if end - start > self.reset_after else end

    def expire(self, now: float) -> bool:
        window = self.schedule.next_window(now)
        self._look_from = now
        if window is None or self.reset_after is None:
            return False
        start, end = window
        return start <= now and end - start > self.reset_after and now >= start + self.reset_after

    def values(self) -> dict[str, Any]:
        s = self.schedule
        return {"windows": s.fixed, "mtbf": s.mtbf, "mttr": s.mttr, "reset_after": self.reset_after}
