"""The garbage collector's settings for a server process that holds thousands of connections.

Every WebSocket the server holds is a few hundred tracked objects (Hypercorn's and Quart's
per-connection state, tasks, coroutine frames), so a full collection walks all of them and
stops the event loop meanwhile. With CPython's defaults a burst of work (a ring fan-out to
a thousand consoles: a thousand writers suspended mid-send, each holding its coroutine chain)
leaves thousands of short-lived objects alive at each young collection; they are promoted,
die in the old generation and soon trigger the next full pass. Collecting the young
generation less often lets such a burst end before the collector looks: far fewer full
passes, and a shorter tail of fan-out latency. The price is garbage that waits longer: the
middle generation is kept small, since with many young collections per middle one the
dead objects waiting for it grew the soak's server memory markedly.
Figures and the settings tried: ``bench/RESULTS.md``.
"""

from __future__ import annotations

import gc

#: Net new tracked objects between young collections (CPython's default: 700).
YOUNG_THRESHOLD = 20_000
#: Young collections per middle one (CPython's default: 10).
MIDDLE_THRESHOLD = 5


def settle() -> int:
    """Freeze what startup made (modules, the app, the loaded state: it lives as long as the
    process, so full passes need not walk it) and collect the young generation less often.
    Returns the number of objects frozen. For the ``ringlab serve`` process only: an
    embedded server shares the simulator's process, whose collector is its own."""
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    _, _, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, old)
    return gc.get_freeze_count()
