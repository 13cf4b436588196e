"""An actor's path to the server: its link settings and the outages that outlive connections.

A connection's link is made fresh for each connection, but an outage belongs to the
network under it. While the path is down nothing passes on the live connection, and a
new connection cannot be made either: its SYNs go unanswered, as when a phone is in a
tunnel. So the down windows live here, one schedule per actor, shared by every
connection the actor makes; the link's own outages (``outages``, ``outage_mtbf``) are
counted from the actor's first connection, and a fault's outage is added to the same
schedule.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable

from .base import DIRECTIONS, Direction, Toxic
from .outage import Outage, Schedule
from .spec import LinkSpec

#: Linux sends a SYN again after 1, 2, 4... seconds (``TCP_TIMEOUT_INIT``, doubling) and
#: gives up after ``tcp_syn_retries`` = 6 retries: the connect fails after 127 s.
SYN_TIMEOUT = 1.0
SYN_RETRIES = 6


def syn_times(start: float) -> list[float]:
    """When a connect begun at ``start`` sends its SYNs, the last one's timeout included."""
    times, wait, t = [start], SYN_TIMEOUT, start
    for _ in range(SYN_RETRIES):
        t += wait
        times.append(t)
        wait *= 2
    return [*times, t + wait]


class Path:
    """One actor's way to the server across all of its connections.

    ``on_down(start, seconds, cause)`` is told of every down window as it becomes
    known (``cause`` is ``link`` or ``fault``), on the trio clock.
    """

    def __init__(
        self,
        spec: LinkSpec,
        seed: int,
        *,
        on_down: Callable[[float, float, str], None] = lambda start, seconds, cause: None,
        faults: bool = False,
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.on_down = on_down
        # a fault may take the path down later: then every connection carries the outage
        # toxic, even one whose link has no outages of its own
        self.faults = faults
        self.schedule = self._schedule(spec)

    def _schedule(self, spec: LinkSpec) -> Schedule:
        return Schedule(
            spec.outages,
            spec.outage_mtbf,
            spec.outage_mttr,
            on_window=lambda start, end: self.on_down(start, end - start, "link"),
        )

    def start(self, now: float) -> None:
        """Anchor the link's own outages at ``now`` (the first connection; later calls
        change nothing)."""
        self.schedule.start(now, random.Random(self.seed))

    @property
    def can_go_down(self) -> bool:
        s = self.spec
        return self.faults or bool(s.outages) or bool(s.outage_mtbf and s.outage_mttr)

    def toxics(self) -> list[tuple[Direction, str, Toxic]]:
        """A connection's toxics: the link's, with the path's outages in both directions."""
        out = [t for t in self.spec.toxics() if not isinstance(t[2], Outage)]
        if self.can_go_down:
            reset_after = self.spec.outage_reset_after
            out += [(d, "outage", Outage(self.schedule, reset_after)) for d in DIRECTIONS]
        return out

    def cut(self, now: float, seconds: float) -> None:
        """A fault: the path is down from ``now`` for ``seconds``."""
        self.start(now)
        self.on_down(now, seconds, "fault")
        self.schedule.add(now, seconds, announce=False)

    def switch(self, spec: LinkSpec, now: float) -> None:
        """Use ``spec`` from ``now`` on. Its own outages (if they differ) start now; the
        fault windows still to come are kept."""
        same = (spec.outages, spec.outage_mtbf, spec.outage_mttr) == (
            self.spec.outages,
            self.spec.outage_mtbf,
            self.spec.outage_mttr,
        )
        self.spec = spec
        if not same:
            kept = [w for w in self.schedule.added if w[1] > now]
            self.schedule = self._schedule(spec)
            self.seed += 1  # the new link's windows are new draws
            self.start(now)
            for start, end in kept:
                self.schedule.add(start, end - start, announce=False)

    def up(self, t: float) -> bool:
        """Whether a packet sent at ``t`` gets through: no down window holds ``t``. Asked
        at each SYN as it is sent, since a fault may add a window meanwhile."""
        self.start(t)
        window = self.schedule.next_window(t)
        return window is None or not window[0] <= t < window[1]

    def timed_out(self, now: float) -> OSError:
        """The error of a connect that never got an answer."""
        return OSError(errno.ETIMEDOUT, f"connect timed out ({syn_times(now)[-1] - now:g} s)")
