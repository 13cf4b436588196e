"""The soak scenario, short and in virtual time (``bench/soak.py`` runs it for real)."""

import logging
from pathlib import Path

from simulator.play.runner import run
from simulator.report.metrics import metrics, verdicts
from simulator.scenario import load

SOAK = Path(__file__).parents[3] / "scenarios" / "soak.toml"


def test_a_short_virtual_soak_loses_nothing_and_logs_no_server_error(caplog):
    caplog.set_level(logging.WARNING)
    # ~100 visitors on the site at once for 5 simulated minutes, links dropping out more
    # often than in the long run (every ~3 min), so that the short run sees many
    short = {
        "duration": "5m",
        "clock": "virtual",
        "visitors[0].count": 180,
        "operators[0].count": 4,
        "links.flaky.outage_mtbf": "3m",
    }
    loaded = load(SOAK, short)
    m = metrics(run(loaded).events)
    failed = [v for v in verdicts(loaded.expectations, m) if not v.passed]
    assert failed == []
    assert m["reconnects"] >= 20 and m["messages.expected"] >= 30  # it was put to the test
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
