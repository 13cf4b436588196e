"""Keep the garbage collector's full passes out of a real-clock run's timing.

CPython's full collection walks every tracked object and stops the event loop meanwhile:
with thousands of clients held (a few hundred objects each: tasks, cancel scopes,
channels, links) a pass is long, and every timer of the run (think times, link delays,
the progress tick) is that late. Freezing the crowd once it was in (:func:`gc.freeze`)
was not enough: every client's tasks wait in chains of coroutines made anew each time
they wake (a heartbeat, a read), which outlive the young generations and pile up
unfrozen in the old one. So a real-clock run against a target freezes everything every
:data:`PERIOD` seconds: any pass then walks at most that long's new objects.

Freezing costs nothing (it links lists), and objects freed by reference counting are
freed frozen or not. What it keeps is cyclic garbage: what was frozen while alive or
not yet collected. The simulator's clients make almost none, but an embedded server's
connections die as cycles, so with a server in the process only what exists at the
start is frozen. At the end of the run everything is unfrozen and collected as usual:
nothing is kept past the run. The soaks that measured all this: ``bench/RESULTS.md``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds between two freezes in a real-clock run against a target.
PERIOD = 0.5


@contextmanager
def frozen_while_running() -> Iterator[None]:
    """Freeze what exists now (modules, an embedded server); unfreeze at the end."""
    freeze_all()
    try:
        yield
    finally:
        gc.unfreeze()


def freeze_all() -> None:
    """Mark everything that exists now as long-lived (out of every later pass)."""
    gc.freeze()
