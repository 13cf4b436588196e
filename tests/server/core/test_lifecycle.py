"""The core's typed lifecycle events keep the log lines' names and fields."""

import json

from server import protocol as p
from server.core import lifecycle as lc
from server.metrics import Metrics
from tests.support.world import World


def concrete():
    """The event kinds (``__subclasses__`` would also list the classes that
    ``dataclass(slots=True)`` replaced)."""
    for value in vars(lc).values():
        if isinstance(value, type) and issubclass(value, lc.Lifecycle) and "name" in vars(value):
            yield value


def line(event):
    """The JSON log line the runtime writes (server/runtime.py, ``_lifecycle``)."""
    return json.dumps({"event": event.name, **event.fields()}, default=str)


def test_every_kind_has_a_name_of_its_own():
    names = [cls.name for cls in concrete()]
    assert len(names) == len(set(names)) == 23


def test_log_lines_keep_their_fields_in_order():
    """Lines as the dict-based events wrote them, field for field."""
    assert line(lc.OperatorOffline("op2", leaving=True)) == (
        '{"event": "operator_offline", "operator": "op2", "leaving": true}'
    )
    assert line(lc.OperatorOffline("op2")) == '{"event": "operator_offline", "operator": "op2"}'
    assert line(lc.RoomOpened("room_1", "acc", "v_1", "op1", None, "inv_1")) == (
        '{"event": "room_opened", "room": "room_1", "account": "acc", "visitor": "v_1", '
        '"operator": "op1", "call": null, "invitation": "inv_1"}'
    )
    conflict = lc.VisitorIdConflict(
        "acc", "v_shared", "https://shop/2", "https://shop/3", "pg0", "pg2", "legacy", "v_shared"
    )
    assert line(conflict) == (
        '{"event": "visitor_id_conflict", "account": "acc", "visitor": "v_shared", '
        '"first_page": "https://shop/2", "second_page": "https://shop/3", '
        '"first_page_instance": "pg0", "page_instance": "pg2", "binding": "legacy", '
        '"assigned": "v_shared"}'
    )


def test_a_missed_call_and_its_metrics():
    w = World(operators=1, ring_timeout=30.0)
    w.operator(0)
    call = w.do(w.visitor("pg1"), p.PlaceCall(id="c")).call
    w.advance(31)
    kinds = [type(x) for x in w.logs if isinstance(x, lc.CallRinging | lc.CallUnanswered)]
    assert kinds == [lc.CallRinging, lc.CallMissed]
    missed = next(x for x in w.logs if isinstance(x, lc.CallMissed))
    assert missed.fields() == {"call": call, "account": "acc", "reason": "timeout", "wait": 30.0}
    metrics = Metrics()
    for event in w.logs:
        metrics.observe(event)
    text = metrics.render().decode()
    assert 'ringlab_calls_total{outcome="missed"} 1.0' in text
    assert 'ringlab_ring_duration_seconds_count{reason="timeout"} 1.0' in text
