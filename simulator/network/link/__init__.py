"""Link emulation: toxics that delay, throttle, stall and break a trio stream.

Loss over TCP is delay: a lost segment waits a retransmission timeout and
everything behind it waits too, in order. See ``docs/links.md``.
"""

from .bandwidth import Bandwidth
from .base import Direction, DirectionStatistics, Env, RttEstimator, Segment, Toxic
from .latency import DISTRIBUTIONS, Latency
from .limit_data import LimitData
from .loss import GilbertElliott, Loss
from .outage import Outage, Schedule
from .pipe import Pipe
from .profiles import PROFILES
from .reset_peer import ResetPeer
from .slow_close import SlowClose
from .spec import DirectionSpec, LinkSpec, from_table, parse
from .stream import Link, LinkReset, LinkStatistics, open_link
from .timeout import Timeout
from .units import ParamError
from .window import WINDOW, Window

__all__ = [
    "DISTRIBUTIONS",
    "PROFILES",
    "WINDOW",
    "Bandwidth",
    "Direction",
    "DirectionSpec",
    "DirectionStatistics",
    "Env",
    "GilbertElliott",
    "Latency",
    "LimitData",
    "Link",
    "LinkReset",
    "LinkSpec",
    "LinkStatistics",
    "Loss",
    "Outage",
    "ParamError",
    "Pipe",
    "ResetPeer",
    "RttEstimator",
    "Schedule",
    "Segment",
    "SlowClose",
    "Timeout",
    "Toxic",
    "Window",
    "from_table",
    "open_link",
    "parse",
]
