"""Keep the garbage collector's full passes out of a real-clock run's timing.

CPython's full collection walks every tracked object and stops the event loop meanwhile:
with thousands of clients held (a few hundred objects each: tasks, cancel scopes,
channels, links) one pass took over a second, and every timer of the run (think times,
link delays, the progress tick) was that late. Freezing the crowd once it was in
(:func:`gc.freeze`) was not enough: every client's tasks wait in chains of coroutines
made anew each time they wake (a heartbeat, a read), which outlive the young
generations, so 10,000 clients kept ~350,000 unfrozen objects in the old generation and
a full pass every 10 s took 250-300 ms. So a real-clock run against a target freezes
everything every :data:`PERIOD` seconds: any pass then walks at most that long's new
objects.

Freezing costs nothing (it links lists), and objects freed by reference counting are
freed frozen or not. What it keeps is cyclic garbage: what was frozen while alive or
not yet collected. The simulator's clients make almost none (a 5-minute soak of 2,000
clients with reconnects left 42 such objects), but an embedded server's connections
die as cycles (a 3-minute soak left 400,000 objects to collect), so with a server in
the process only what exists at the start is frozen. At the end of the run everything
is unfrozen and collected as usual: nothing is kept past the run.
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
