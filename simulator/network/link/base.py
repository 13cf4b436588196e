"""What every toxic shares: segments, the per-direction environment, the base class.

A toxic is pure: it sees each segment with the time it reaches the toxic and
says when (and whether) it leaves. Nothing here sleeps or touches a socket;
:class:`~.pipe.Pipe` chains toxics and :class:`~.stream.Link` moves bytes on trio.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .params import Param, Values

Direction = Literal["up", "down"]
DIRECTIONS: tuple[Direction, Direction] = ("up", "down")
#: Toxiproxy calls the directions streams: upstream = client->server.
TOXIPROXY_STREAM: dict[Direction, str] = {"up": "upstream", "down": "downstream"}

#: Linux's minimum TCP retransmission timeout (``TCP_RTO_MIN``).
MIN_RTO = 0.2
#: Linux's maximum (``TCP_RTO_MAX``).
MAX_RTO = 120.0
#: Ethernet's TCP maximum segment size.
MSS = 1460


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

    A toxic declares itself in its own module: ``kind`` (the Toxiproxy type name),
    ``params`` (each attribute: its name, unit and default, and the link spec key that
    sets it), and how a link spec turns it on (:meth:`wanted`). The link spec and the
    Toxiproxy API read those through :mod:`.registry`, which lists every toxic.

    Subclasses override what they need: :meth:`process` for what happens to each
    segment, :meth:`hold` for times when nothing may pass, :meth:`deadline` for a reset
    due at a set time, :meth:`mean_delay` and :meth:`window` for what the pipe's window
    needs to know. Segments reach :meth:`process` in order with non-decreasing ``at``.
    """

    kind: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: ``direction``: a link spec sets it for each direction. ``link``: once for both,
    #: and the two directions' toxics share state (an outage takes both down at once).
    scope: ClassVar[Literal["direction", "link"]] = "direction"
    #: Link spec keys it reads that another toxic's parameter owns.
    reads: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.env: Env
        self.rng: random.Random
        self.started = 0.0

    @classmethod
    def create(cls, values: Values, shared: dict[str, object]) -> Toxic:
        """A fresh toxic from its parameters' values (base units, by name; the ones in
        ``reads`` too when a link spec builds it). ``shared`` is one dict for the toxics
        built from equal values on one connection, both directions. By default the
        values are the constructor's keyword arguments."""
        return cls(**values)

    @classmethod
    def wanted(cls, values: Values) -> bool:
        """Whether a link spec with these values puts this toxic on a link (default:
        never; only the proxy's API adds it)."""
        return False

    @classmethod
    def check(cls, values: Values, attributes: Mapping[str, Any]) -> None:
        """Refuse (:class:`~.units.ParamError`) values from the API that their units
        allow but this toxic does not. Called after each parameter is read, with the
        values read so far; ``attributes`` are the JSON they come from."""

    def values(self) -> dict[str, Any]:
        """Its parameters' values, base units, by name; None leaves one out of the
        JSON. By default each is the attribute of the parameter's name."""
        return {p.name: getattr(self, p.name) for p in self.params}

    def attributes(self) -> dict[str, Any]:
        """Parameters in Toxiproxy's JSON form (times in ms, rates in KB/s)."""
        unit = {p.name: p.unit for p in self.params}
        return {name: unit[name].encode(v) for name, v in self.values().items() if v is not None}

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
