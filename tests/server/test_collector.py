"""The server process's collector settings (server/collector.py)."""

import gc

from server import collector


def test_settle_freezes_startup_objects_and_raises_the_young_threshold():
    before = gc.get_threshold()
    kept = [object() for _ in range(10)] + [[] for _ in range(1000)]  # tracked, alive
    try:
        frozen = collector.settle()
        assert frozen == gc.get_freeze_count() >= 1000
        assert gc.get_threshold() == (
            collector.YOUNG_THRESHOLD,
            collector.MIDDLE_THRESHOLD,
            before[2],
        )
        # frozen objects are out of every generation: a full pass no longer walks them
        walked = {id(x) for x in gc.get_objects()}
        assert not walked & {id(o) for o in kept[-3:]}
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    del kept
