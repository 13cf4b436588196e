"""Sweeps and seed sweeps from the command line: seeds at every sweep point, their spread,
junit.xml, the chart, short column labels, and replay commands that replay."""

import json
import shlex
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from simulator.cli.main import main
from simulator.report.replay import replay_command
from simulator.report.sweep import labels, point_label

SWEPT = """
name = "sw"
duration = "3s"

[links.op]
latency = "20ms"
up.loss = 0

[[operators]]
name = "ops"
count = 2
link = "op"
reaction = "0.2s..0.4s"
close_after = "1s"

[[visitors]]
name = "v"
count = 2
over = "1s"
messages = 1
think = "0.3s"

[expect]
"ring_stop.acceptor.p95" = "< 100ms"   # holds at 20 ms a way, fails at 80 ms
lost_messages = 0

[sweep]
"links.op.latency" = ["20ms", "80ms"]
"""


def ringlab(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_seeds_run_at_every_sweep_point_with_spread_junit_and_replays(tmp_path):
    path = tmp_path / "sw.toml"
    path.write_text(SWEPT)
    out = tmp_path / "reports"
    result = ringlab("run", path, "--seeds", "1..2", "--jobs", "1", "--out", out)
    assert result.exit_code == 1, result.output  # the 80 ms point fails
    (sweep_dir,) = out.glob("sw-sweep-*")
    rows = json.loads((sweep_dir / "sweep.json").read_text())
    assert [r["point"] for r in rows] == [{"links.op.latency": v} for v in ("20ms", "80ms")]
    assert [r["pass_rate"] for r in rows] == ["2/2 (100%)", "0/2 (0%)"]
    assert [r["passed"] for r in rows] == [True, False]
    assert [[s["seed"] for s in r["seeds"]] for r in rows] == [[1, 2], [1, 2]]
    spread = rows[1]["distribution"]["ring_stop.acceptor.p95"]
    assert spread["min"] <= spread["p50"] <= spread["p95"] <= spread["max"]
    assert rows[1]["metrics"]["ring_stop.acceptor.p95"] == spread["p50"]  # median of seeds
    assert (sweep_dir / "sweep.png").stat().st_size > 10_000
    suite = ET.parse(sweep_dir / "junit.xml").getroot()  # a case per (point, seed, expectation)
    names = [case.get("name") for case in suite]
    assert len(names) == 2 * 2 * 2 and suite.get("failures") == "2"
    assert "op.latency=80ms, seed 2: ring_stop.acceptor.p95 < 100ms" in names
    # per point: the spread across seeds, then the verdict and pass rate
    assert "op.latency=80ms: FAIL, 0/2 (0%) of seeds passed" in result.output
    assert "op.latency = links.op.latency" in result.output
    replays = [
        line.split("replay: ")[1] for line in result.output.splitlines() if "replay:" in line
    ]
    assert len(replays) == 2 and f"--out {out}" in replays[0]
    assert "--set 'links.op.latency=\"80ms\"'" in replays[0]
    replayed = ringlab("run", *shlex.split(replays[0])[2:])  # the command as printed
    assert replayed.exit_code == 1
    (run_dir,) = [d for d in out.iterdir() if not d.name.startswith("sw-sweep-")]
    summary = json.loads((run_dir / "summary.json").read_text())
    first_failed = rows[1]["seeds"][0]
    assert summary["seed"] == first_failed["seed"]
    assert summary["metrics"] == first_failed["metrics"]  # the same run, to the last digit


def test_a_seed_sweep_writes_a_junit_case_per_seed_and_expectation(tmp_path):
    path = tmp_path / "sw.toml"
    path.write_text(SWEPT.split("[sweep]")[0])
    result = ringlab("run", path, "--seeds", "3..5", "--jobs", "1", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    (seeds_dir,) = tmp_path.glob("sw-seeds-*")
    suite = ET.parse(seeds_dir / "junit.xml").getroot()
    assert [case.get("name") for case in suite][:2] == [
        "seed 3: ring_stop.acceptor.p95 < 100ms",
        "seed 3: lost_messages == 0",
    ]
    assert (suite.get("tests"), suite.get("failures")) == ("6", "0")
    assert "verdict: pass, 3/3 (100%) passed" in result.output


def test_a_two_key_sweep_table_keeps_its_labels_whole(tmp_path):
    path = tmp_path / "sw.toml"
    path.write_text(SWEPT.replace('["20ms", "80ms"]', '["20ms", "80ms"]\n"links.op.up.loss" = [0]'))
    result = ringlab("run", path, "--out", tmp_path)
    assert result.exit_code == 1, result.output
    header = next(line for line in result.output.splitlines() if "op.latency" in line)
    assert "up.loss" in header and "…" not in header  # was "links.op.l…" twice
    assert result.output.count("  op.latency = links.op.latency") == 1
    assert "overrun" in result.output  # the ring overrun beside the ring stops
    rows = json.loads(next(tmp_path.glob("sw-sweep-*")).joinpath("sweep.json").read_text())
    assert [sorted(r) for r in rows] == [["metrics", "passed", "point"]] * 2  # as before


def test_short_labels_tell_swept_keys_apart():
    assert labels(["links.op.up.loss"]) == {"links.op.up.loss": "up.loss"}
    assert labels(["links.a.up.loss", "links.b.up.loss"]) == {
        "links.a.up.loss": "a.up.loss",
        "links.b.up.loss": "b.up.loss",
    }
    assert labels(["seed", "links.op.latency"]) == {
        "seed": "seed",
        "links.op.latency": "op.latency",
    }
    assert point_label({"links.op.latency": "20ms", "seed": 3}) == "op.latency=20ms, seed=3"


def test_the_replay_command_keeps_out_and_pins_the_sweep_point():
    assert replay_command("s.toml", ["duration=40s"], 6) == (
        "ringlab run s.toml --seed 6 --set duration=40s"
    )
    assert replay_command("my s.toml", [], 6, "my reports", {"links.x.up.loss": 0.05}) == (
        "ringlab run 'my s.toml' --seed 6 --set links.x.up.loss=0.05 --out 'my reports'"
    )
    assert replay_command("s.toml", [], 1, None, {"operators[0].link": "3g"}) == (
        "ringlab run s.toml --seed 1 --set 'operators[0].link=\"3g\"'"
    )
    assert replay_command("s.toml", [], 2, "out", None, "virtual") == (
        "ringlab run s.toml --seed 2 --clock virtual --out out"
    )
