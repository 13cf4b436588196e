"""Waking a link's tasks when a delivery is due: exactly on a virtual clock, precisely
on the real one, at little CPU.

trio's timers wait in epoll, whose timeout counts whole milliseconds (CPython rounds it
up), so on the real clock a plain sleep ends up to a millisecond late plus the wake-up.
The link used to wake a few milliseconds early and yield until the moment came: precise,
but it spun the CPU for every delayed write, which hundreds of connections cannot afford
(``bench/link_bench.py --margins`` measures both; figures in ``bench/RESULTS.md``).

Now one Linux timerfd per trio run, armed for the earliest deadline any link waits for,
wakes a single system task (:class:`Alarms`) that fires the waiting links' signals: the
kernel's high-resolution timer is far more precise than epoll's, and nothing spins. Where
there is no timerfd, a precise link falls back to waking :data:`MARGIN` early and yielding
until the moment comes. Under a virtual clock (``MockClock``) timers are exact and plain
trio deadlines are used.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import math
import os
import sys
from collections.abc import Callable
from enum import Enum
from typing import Any

import trio

#: Fallback without a timerfd: how early a precise wait wakes before its deadline, then
#: yields until it comes. epoll counts whole milliseconds, rounded up: 1.5 ms covers that
#: and a wake-up of half a millisecond, at ~0.8 ms of CPU per delayed write (waking 3 ms
#: early, as links did before, cost 2.8 ms; ``bench/link_bench.py --margins`` measures).
MARGIN = 0.0015

_CLOCK_MONOTONIC = 1
#: ``timerfd_settime(fd, flags, new, old)`` through ctypes
_SetTime = Callable[[int, int, Any, Any], int]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class Signal:
    """A wake-up many tasks can wait for; each :meth:`fire` wakes the current waiters.

    A link has at most one task per signal waiting through :class:`Waker` (with a
    deadline that may move): ``waiting`` says whether it does, ``until`` is its deadline,
    ``scope`` its cancel scope when trio's own timers serve it.
    """

    __slots__ = ("_event", "alarm", "scope", "until", "waiting")

    def __init__(self) -> None:
        self._event = trio.Event()
        self.waiting = False
        self.until = math.inf
        self.alarm = math.inf  # the earliest alarm pending for this signal
        self.scope: trio.CancelScope | None = None

    def fire(self) -> None:
        self._event.set()
        self._event = trio.Event()

    @property
    def event(self) -> trio.Event:
        return self._event


class Alarms:
    """One timerfd and one system task per trio run: fires signals at their deadlines."""

    def __init__(self, fd: int, settime: _SetTime) -> None:
        self._fd = fd
        self._settime = settime
        self._heap: list[tuple[float, int, Signal]] = []
        self._order = itertools.count()  # ties keep the order they were set in
        self._armed = math.inf

    def at(self, deadline: float, signal: Signal) -> None:
        """Fire ``signal`` at ``deadline`` (trio's clock), unless an earlier alarm for it is
        pending: its waiter wakes then and asks again if it must."""
        if deadline >= signal.alarm:
            return
        signal.alarm = deadline
        heapq.heappush(self._heap, (deadline, next(self._order), signal))
        if deadline < self._armed:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        # relative to now on trio's clock, which need not share the kernel's epoch; a
        # zero time would disarm the timer, so a deadline already past fires in 1 ns
        delay = max(deadline - trio.current_time(), 1e-9)
        spec = _Itimerspec()
        spec.it_value.tv_sec = int(delay)
        spec.it_value.tv_nsec = max(1, int((delay - int(delay)) * 1e9))
        self._settime(self._fd, 0, ctypes.byref(spec), None)
        self._armed = deadline

    async def run(self) -> None:
        """Wait for the timer; fire what is due; arm it for what is next."""
        try:
            while True:
                await trio.lowlevel.wait_readable(self._fd)
                try:
                    os.read(self._fd, 8)
                except BlockingIOError:  # re-armed after it fired: not expired yet
                    continue
                self._armed = math.inf
                now = trio.current_time()
                heap = self._heap
                while heap and heap[0][0] <= now:
                    deadline, _, signal = heapq.heappop(heap)
                    if signal.alarm == deadline:
                        signal.alarm = math.inf
                    signal.fire()
                if heap:
                    self._arm(heap[0][0])
        finally:
            os.close(self._fd)


_ALARMS: trio.lowlevel.RunVar[Alarms | None] = trio.lowlevel.RunVar("ringlab_link_alarms")


def _open_timerfd() -> tuple[int, _SetTime] | None:
    """A non-blocking monotonic timerfd and ``timerfd_settime``, or None off Linux."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        create, settime = libc.timerfd_create, libc.timerfd_settime
    except (OSError, AttributeError):
        return None
    fd = int(create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC))
    return None if fd < 0 else (fd, settime)


def _alarms() -> Alarms | None:
    """This run's alarms, started on first use (None where there is no timerfd)."""
    try:
        return _ALARMS.get()
    except LookupError:
        pass
    opened = _open_timerfd()
    alarms = None if opened is None else Alarms(*opened)
    if alarms is not None:
        trio.lowlevel.spawn_system_task(alarms.run, name="ringlab link alarms")
    _ALARMS.set(alarms)
    return alarms


class Mode(Enum):
    """How a link waits for a deadline."""

    PLAIN = "plain"  # trio's timers: exact under a virtual clock, 0-1.5 ms late on the real one
    ALARM = "alarm"  # the run's timerfd: tens of microseconds late, no CPU while waiting
    SPIN = "spin"  # no timerfd: wake MARGIN early, then yield until due


class Waker:
    """A link's waits for "this signal fires, or this deadline comes"."""

    def __init__(self, precise: bool) -> None:
        # a MockClock exists only if trio.testing was imported: not importing it here
        # keeps pytest (and pygments) out of `ringlab run --target`
        testing = sys.modules.get("trio.testing")
        virtual = testing is not None and isinstance(
            trio.lowlevel.current_clock(), testing.MockClock
        )
        self.alarms = _alarms() if precise and not virtual else None
        if self.alarms is not None:
            self.mode = Mode.ALARM
        else:
            self.mode = Mode.SPIN if precise and not virtual else Mode.PLAIN

    async def wait(self, signal: Signal, deadline: float | None) -> None:
        """Until ``signal`` fires or ``deadline`` (if any, and as :meth:`advance` moves it)
        comes."""
        event = signal.event
        signal.waiting = True
        signal.until = math.inf if deadline is None else deadline
        try:
            if self.alarms is not None:
                if deadline is not None:
                    self.alarms.at(deadline, signal)
                await event.wait()
                return
            with trio.CancelScope(deadline=self._early(signal.until)) as signal.scope:
                await event.wait()
            # the last stretch: yield to other tasks instead of trusting a millisecond
            # timer (never under a virtual clock: time would stand still)
            while (
                self.mode is Mode.SPIN and not event.is_set() and trio.current_time() < signal.until
            ):
                await trio.sleep(0)
        finally:
            signal.waiting = False
            signal.scope = None

    def _early(self, deadline: float) -> float:
        return deadline - MARGIN if self.mode is Mode.SPIN else deadline

    def advance(self, signal: Signal, deadline: float) -> None:
        """The task waiting on ``signal`` must now wake by ``deadline`` (if one waits)."""
        if not signal.waiting or deadline >= signal.until:
            return
        signal.until = deadline
        if self.alarms is not None:
            self.alarms.at(deadline, signal)
        elif signal.scope is not None:
            signal.scope.deadline = min(signal.scope.deadline, self._early(deadline))
