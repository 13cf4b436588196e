"""``ringlab compare``: two short virtual runs side by side, and input that is not a run."""

import json
import re
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli.main import main
from simulator.play.runner import run
from simulator.report.compare import delta_text, ratio_text
from simulator.report.compare_chart import ring_stop_cdf_compare
from simulator.report.files import write_report
from simulator.report.metrics import RingStopSample
from simulator.scenario import parse


def tiny(name: str, link: str) -> dict:
    """Two operators on ``link`` answer three visitors: a few seconds of virtual time."""
    return {
        "name": name,
        "duration": "10s",
        "seed": 3,
        "operators": [
            {
                "name": "ops",
                "count": 2,
                "link": link,
                "reaction": "0.5s..1s",
                "close_after": "2s",
            }
        ],
        "visitors": [{"name": "v", "count": 3, "over": "3s", "messages": 1, "think": "0.3s"}],
        "expect": {"ring_stop.acceptor.p95": "< 0.5s", "lost_messages": 0},
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """A clean run (A) and one whose operators sit on a 3G link (B), as `ringlab run` writes."""
    root = tmp_path_factory.mktemp("runs")
    out = []
    for name, link in (("clean", "lan"), ("slow", "3g")):
        loaded = parse(tiny(name, link))
        write_report(root / name, loaded, run(loaded).events)
        out.append(root / name)
    return out[0], out[1]


def compare(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["compare", *map(str, args)])
    return result.exit_code, result.output


def test_a_comparison_prints_every_metric_and_writes_its_folder(runs, tmp_path):
    a, b = runs
    code, output = compare(a, b, "--out", tmp_path)
    assert code == 0, output
    # the delta of a time metric comes signed and in a unit
    (line,) = [x for x in output.splitlines() if "ring_stop.acceptor.p50" in x]
    delta = re.search(r"([+-]\d+(?:\.\d+)?) (µs|ms|s)\b", line)
    assert delta and delta[1].startswith("+"), line
    # the expectation metrics come first, before the rest
    names = [m[1] for m in re.finditer(r"│ (\S+)\s+│", output)]
    assert names[:2] == ["ring_stop.acceptor.p95", "lost_messages"]
    assert "calls.placed" in names

    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("compare-clean-vs-slow-")
    assert str(folder) in output.replace("\n", "")
    doc = json.loads((folder / "compare.json").read_text())
    assert doc["a"]["scenario"] == "clean" and doc["b"]["scenario"] == "slow"
    assert doc["a"]["seed"] == 3 and doc["a"]["clock"] == "virtual"
    p50 = doc["metrics"]["ring_stop.acceptor.p50"]
    assert p50["delta"] == pytest.approx(p50["b"] - p50["a"]) and p50["delta"] > 0
    assert p50["ratio"] == pytest.approx(p50["b"] / p50["a"])
    summary = json.loads((a / "summary.json").read_text())
    assert set(doc["metrics"]) == set(summary["metrics"])

    png = (folder / "ring_stop_cdf.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (800, 450)
    html = (folder / "index.html").read_text()
    assert "data:image/png;base64," in html and "ring_stop.acceptor.p50" in html
    assert not re.search(r'(src|href)="(?!data:)', html)  # self-contained


def test_the_same_two_runs_give_the_same_compare_json(runs, tmp_path):
    for out in ("one", "two"):
        assert compare(*runs, "--out", tmp_path / out)[0] == 0
    (one,), (two,) = (list((tmp_path / out).glob("*/compare.json")) for out in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()


def test_a_run_against_itself_is_all_zero(runs, tmp_path):
    code, output = compare(runs[0], runs[0], "--out", tmp_path)
    assert code == 0, output
    (doc,) = [json.loads(p.read_text()) for p in tmp_path.glob("*/compare.json")]
    assert all(m["delta"] in (0, None) for m in doc["metrics"].values())
    assert doc["metrics"]["ring_stop.acceptor.p50"]["ratio"] == 1


def test_input_that_is_not_a_run_is_one_line_naming_the_path(runs, tmp_path):
    missing = tmp_path / "nowhere"
    empty = tmp_path / "empty"
    empty.mkdir()
    garbled = tmp_path / "garbled"
    garbled.mkdir()
    (garbled / "summary.json").write_text("{not json")
    (garbled / "events.jsonl").write_text("")
    for args, where in (
        ((runs[0], missing), missing),
        ((empty, runs[1]), empty),
        ((runs[0], garbled), garbled),
        ((runs[0], runs[1] / "summary.json"), runs[1] / "summary.json"),
    ):
        code, output = compare(*args, "--out", tmp_path / "out")
        assert code == 2, output
        (error,) = [x for x in output.splitlines() if x.startswith("Error:")]
        assert str(where) in error
        assert "Traceback" not in output
    assert not (tmp_path / "out").exists()  # nothing written for bad input


def test_deltas_and_ratios_read_in_their_units():
    assert delta_text("ring_stop.acceptor.p50", 2.0095) == "+2.01 s"
    assert delta_text("ring_stop.acceptor.p50", -0.000035) == "-35 µs"
    assert delta_text("ring_stop.acceptor.p50", 0.0) == "0 ms"
    assert delta_text("calls.placed", 6.0) == "+6"
    assert delta_text("calls.placed", -2.0) == "-2"
    assert delta_text("calls.placed", 0.0) == "0"
    assert delta_text("calls.placed", None) == "-"
    assert ratio_text(3559.2) == "x3,559"
    assert ratio_text(2.5) == "x2.5"
    assert ratio_text(None) == "-"


def stop(role: str, latency: float) -> RingStopSample:
    return RingStopSample("c1", "op1", role, 1.0, 1.0 + latency, "accepted")


@pytest.mark.parametrize(
    "a, b",
    [
        ([], []),  # no rings in either run
        (
            [stop("acceptor", 0.0003), stop("other", 0.0002)],
            [stop("acceptor", 0.0), stop("acceptor", 2.0)],
        ),
    ],
    ids=["empty", "log-axis-with-zero"],
)
def test_the_chart_renders_empty_runs_and_zero_on_a_log_axis(tmp_path, a, b):
    png = ring_stop_cdf_compare([("A", a), ("B", b)], tmp_path / "cdf.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
