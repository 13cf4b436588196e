"""Keep the garbage collector's full passes out of a real-clock run's timing.

CPython's full collection walks every tracked object and stops the event loop meanwhile:
with thousands of clients held (a few hundred objects each: tasks, cancel scopes,
channels, links) one pass took over a second, and every timer of the run (think times,
link delays, the progress tick) was that late. Objects that exist when the crowd is in
live as long as the run, so they are frozen (:func:`gc.freeze`): later passes walk only
what came after. At the end of the run they are unfrozen, so whatever of them became
garbage meanwhile is collected as usual: nothing is kept past the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds after the last arrival at which the crowd counts as in (connected, greeted).
SETTLE = 2.0


@contextmanager
def frozen_while_running() -> Iterator[None]:
    """Freeze what exists now (modules, an embedded server); unfreeze at the end."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def crowd_in() -> None:
    """Mark what exists now as long-lived: the run's clients once all have arrived."""
    gc.freeze()
