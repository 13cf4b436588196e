"""Every toxic, by its Toxiproxy type name: what link specs and the proxy's API build.

Each toxic declares itself in its own module (:class:`~.base.Toxic`: its kind, its
parameters, when a link spec turns it on); this is the one place that lists them, as
Toxiproxy's ``toxics.Register`` calls do. A new toxic is its module and its line here.

The order is the order a link spec's toxics act on a direction: ``limit_data`` and
``timeout`` see the bytes as the sender wrote them, the window comes last.
"""

from __future__ import annotations

from .bandwidth import Bandwidth
from .base import Toxic
from .latency import Latency
from .limit_data import LimitData
from .loss import Loss
from .outage import Outage
from .reset_peer import ResetPeer
from .slicer import Slicer
from .slow_close import SlowClose
from .timeout import Timeout
from .window import Window

TOXICS: dict[str, type[Toxic]] = {
    toxic.kind: toxic
    for toxic in (
        LimitData,
        Timeout,
        Bandwidth,
        Loss,
        Latency,
        SlowClose,
        ResetPeer,
        Window,
        Outage,
        Slicer,
    )
}
