"""Charts and report files from hand-made event logs: every chart renders, also when empty."""

import json
import struct
from pathlib import Path

import pytest

from simulator.record import events as ev
from simulator.report import charts
from simulator.report.causes import explain
from simulator.report.files import write_report
from simulator.report.index import Index
from simulator.report.labels import Labels
from simulator.report.load import concurrency
from simulator.report.metrics import actors, ring_stops
from simulator.report.timeline import ring_timeline
from simulator.scenario import parse
from tests.simulator.report.logs import race

SCENARIOS = Path(__file__).parents[3] / "scenarios"


def size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def busy_log() -> list[ev.Event]:
    who = [
        ev.ActorInfo(
            t=0,
            actor=op,
            name=f"ops[{i}]",
            role="operator",
            group="ops",
            link="3g",
            floor_up=0.1,
            floor_down=0.1,
        )
        for i, op in enumerate(("op1", "op2"))
    ]
    return [
        *who,
        *race(acceptor_stop=2.5, other_stop=1.3),
        ev.ServerReceived(t=1.05, call="c1", operator="op1"),
        ev.RoomJoined(t=2.5, actor="op1", room="r1", role="operator"),
        ev.FaultApplied(t=2.0, action="outage", target="operators.ops", actors=2),
        ev.RoomLeft(t=5.0, actor="op1", room="r1", reason="closed"),
    ]


@pytest.mark.parametrize("log", [busy_log(), []], ids=["busy", "empty"])
def test_every_chart_renders_titled_images(tmp_path, log):
    index = Index.of(log)
    labels = Labels(index)
    stories = explain(log, index, labels)
    made = [
        charts.ring_stop_cdf(ring_stops(log), actors(log), tmp_path / "cdf.png"),
        ring_timeline(index, stories, labels, tmp_path / "timeline.png"),
        charts.latency_attribution(ring_stops(log), tmp_path / "attribution.png"),
        concurrency(index, 10.0, tmp_path / "concurrency.png"),
    ]
    for png in made:
        width, height = size(png)
        assert width >= 600 and height >= 150


def test_the_report_names_consoles_and_splits_latency(tmp_path):
    loaded = parse({"name": "hand", "duration": "10s", "expect": {"ring_overrun.max": "< 1s"}})
    values, results = write_report(tmp_path, loaded, busy_log())
    assert values["ring_overrun.max"] == pytest.approx(1.5)
    assert not results[0].passed
    html = (tmp_path / "index.html").read_text()
    assert "ops[0]" in html and "ops[1]" in html  # consoles by name, not server id
    assert "Every call" in html and "<td>call #1 (v1)</td>" in html  # a label, not an id
    assert html.count("data:image/png;base64,") == 4
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["actors"] == {"op1": "ops[0]", "op2": "ops[1]"}
    assert not summary["passed"]


def test_plain_progress_lines_for_logs_at_most_every_10_wall_seconds_and_at_the_end(capsys):
    from rich.console import Console

    from simulator.cli.progress import LiveProgress

    counts = dict.fromkeys(
        ("connected", "calls", "waiting", "chats", "ringing", "overrunning", "messages"), 1
    )
    with LiveProgress(Console(force_terminal=False), "quick", 60.0) as show:
        for t in range(0, 65):  # a virtual run: 65 s of run in no wall time
            show(float(t), counts)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # the first, and the one when the run's duration is reached
    assert lines[0].startswith("quick:   0.0/60 s  connected 1") and "60.0/60 s" in lines[1]
    assert "overrunning 1" in lines[1]
