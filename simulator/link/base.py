"""What every toxic shares: segments, the per-direction environment, the base class.

A toxic is pure: it sees each segment with the time it reaches the toxic and
says when (and whether) it leaves. Nothing here sleeps or touches a socket;
:class:`~simulator.link.pipe.Pipe` chains toxics and :class:`~simulator.link.stream.Link`
moves bytes on trio.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Direction = Literal["up", "down"]
DIRECTIONS: tuple[Direction, Direction] = ("up", "down")
#: Toxiproxy calls the directions streams: upstream = client->server.
TOXIPROXY_STREAM: dict[Direction, str] = {"up": "upstream", "down": "downstream"}

#: Linux's minimum TCP retransmission timeout (``TCP_RTO_MIN``).
MIN_RTO = 0.2
#: Linux's maximum (``TCP_RTO_MAX``).
MAX_RTO = 120.0


def ms(seconds: float) -> float:
    """Seconds as Toxiproxy's milliseconds: a whole number when it is one."""
    value = round(seconds * 1000, 3)
    return int(value) if value == int(value) else value


@dataclass(slots=True)
class Segment:
    """Bytes (or the end of the stream) on their way through one direction.

    ``kind`` is ``data``, ``fin`` (the sender closed: EOF after the data before it)
    or ``reset`` (the connection breaks when this reaches the far end).
    """

    at: float  # when it leaves the current stage, on the trio clock
    data: bytes = b""
    kind: Literal["data", "fin", "reset"] = "data"
    sent: float = 0.0  # when it entered the link, to measure the delay added


@dataclass(slots=True)
class DirectionStatistics:
    """What one direction of a link did; times in seconds."""

    bytes: int = 0  # delivered
    chunks: int = 0  # delivered writes (after any splitting into segments)
    stalls: int = 0  # segments held for a retransmission timeout (loss)
    added_delay: float = 0.0  # sum over delivered chunks of (delivered - sent)
    max_delay: float = 0.0
    outages: int = 0  # down windows that began while the link was open
    dropped_bytes: int = 0  # only toxics meant to break the connection drop data


class RttEstimator:
    """Smoothed RTT as RFC 6298 computes it, fed with the one-way delays the link adds.

    The loss toxic takes its retransmission timeout from here, so RTO grows
    with the configured latency as a real TCP's does. It starts from an RTT of
    0 (a link with no latency toxic adds none), so RTO starts at its minimum.
    Stalls are not fed back (Karn's algorithm: a retransmitted segment gives
    no RTT sample).
    """

    def __init__(self) -> None:
        self.one_way: dict[Direction, float] = {"up": 0.0, "down": 0.0}
        self.srtt = 0.0
        self.rttvar = 0.0

    def sample(self, direction: Direction, delay: float) -> None:
        self.one_way[direction] = delay
        rtt = self.one_way["up"] + self.one_way["down"]
        self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
        self.srtt = 0.875 * self.srtt + 0.125 * rtt

    def rto(self, minimum: float = MIN_RTO) -> float:
        return min(MAX_RTO, max(minimum, self.srtt + 4 * self.rttvar))


@dataclass
class Env:
    """The world one direction's toxics live in: where they are, randomness, shared RTT."""

    direction: Direction
    rng: random.Random
    rtt: RttEstimator = field(default_factory=RttEstimator)
    stats: DirectionStatistics = field(default_factory=DirectionStatistics)
    #: told of each stall: (direction, when the segment was sent, seconds held, retries)
    on_stall: Callable[[Direction, float, float, int], None] | None = None


class Toxic:
    """One impairment of one direction of a link.

    Subclasses set ``kind`` (the Toxiproxy type name) and override what they need:
    :meth:`process` for what happens to each segment, :meth:`hold` for times
    when nothing may pass, :meth:`deadline` for a reset due at a set time,
    :meth:`mean_delay` and :meth:`window` for what the pipe's window needs to know.
    Segments reach :meth:`process` in order with non-decreasing ``at``.
    """

    kind: ClassVar[str] = ""

    def __init__(self) -> None:
        self.env: Env
        self.rng: random.Random
        self.started = 0.0

    def bind(self, env: Env, now: float) -> None:
        """Attach to a direction at ``now``; each toxic draws from its own seeded stream."""
        self.env = env
        self.rng = random.Random(env.rng.getrandbits(64))
        self.started = now

    def process(self, seg: Segment) -> list[Segment]:
        """The segments that leave this toxic for ``seg`` (default: unchanged)."""
        return [seg]

    def hold(self, now: float) -> float:
        """The earliest time data may leave, seen at ``now`` (default: no hold)."""
        return now

    def deadline(self) -> float | None:
        """When :meth:`expire` is next due, if ever (a timer independent of traffic)."""
        return None

    def expire(self, now: float) -> bool | Literal["fin"]:
        """The deadline has come: True resets the connection (the default); ``"fin"``
        closes it (a FIN after what is already on its way, through the toxics after
        this one); False lets it go on. A toxic that closes moves its deadline away."""
        return True

    def mean_delay(self) -> float:
        """The one-way delay this toxic adds on average, in seconds (default: none).

        A window counts it: an acknowledgement takes both directions' delays to come back.
        """
        return 0.0

    def window(self) -> int | None:
        """The most bytes this toxic lets be on their way unacknowledged (None: it sets no
        window; the pipe's default applies)."""
        return None

    def attributes(self) -> dict[str, Any]:
        """Parameters in Toxiproxy's JSON form (times in ms, rates in KB/s)."""
        return {}
