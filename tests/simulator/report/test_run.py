"""A tiny real scenario end to end: the run's own log through the whole report."""

import json
import re

from simulator.play.runner import run
from simulator.record import events as ev
from simulator.report.files import write_report
from simulator.scenario import parse


def test_a_real_run_renders_a_report_that_explains_itself(tmp_path):
    loaded = parse(
        {
            "name": "tiny",
            "duration": "8s",
            "clock": "virtual",
            "seed": 3,
            "reproduces": "the call keeps ringing after Accept",
            "links": {"lossy": {"profile": "3g", "up": {"loss": 0.3}}},
            "operators": [
                {"name": "ops", "count": 2, "link": "lossy", "reaction": "0.5s..1s"},
            ],
            "visitors": [
                {
                    "name": "shoppers",
                    "count": 3,
                    "over": "3s",
                    "code": "pinned",
                    "messages": 1,
                    "think": "0.3s",
                    "stay": "1s",
                }
            ],
            "faults": [
                {"at": "4s", "action": "outage", "target": "operators.ops[0]", "duration": "1s"}
            ],
            "expect": {"calls.placed": ">= 1"},
        },
        str(tmp_path / "tiny.toml"),
    )
    events = run(loaded).events
    out = tmp_path / "report"
    write_report(out, loaded, events)
    summary = json.loads((out / "summary.json").read_text())
    html = (out / "index.html").read_text()
    assert summary["verdict"] == "fault reproduced: the call keeps ringing after Accept"
    assert html.count("data:image/png;base64,") == 4
    placed = sum(isinstance(e, ev.CallPlaced) for e in events)
    assert placed >= 1 and "call #1 (shoppers[" in html
    assert re.search(r"Call #\d+ \(shoppers\[\d\]\), placed at [\d.]+ s", html)
    assert summary["causes"] and all(c["text"] and c["causes"] for c in summary["causes"])
    assert "ops[0]" in html and "op_" not in html[html.index("<h2>Every call") :]
    assert "Button code: visitor ids" in html and "<code>pinned</code>" in html
    assert "ringlab run" in html and "--seed 3" in html
    assert "lossy (3g*)" in html and "distribution normal" in html
    first = (out / "summary.json").read_bytes()
    write_report(out, loaded, events)  # `ringlab report` again: the same summary
    assert (out / "summary.json").read_bytes() == first
