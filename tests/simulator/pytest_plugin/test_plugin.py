"""The pytest plugin (simulator/pytest_plugin): scenario files collected and run as tests.

Each test runs pytest in-process on tiny scenario files in a temporary directory; a run
of one takes about a second on the virtual clock.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulator.pytest_plugin.items import play_and_report
from simulator.scenario import load

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider")
SHIPPED = Path(__file__).parents[3] / "scenarios"

# one operator answers one visitor who writes one message: six simulated seconds
TINY = """\
name = "{name}"
duration = "6s"
seed = 3
{extra}
[[operators]]
name = "ops"
reaction = "0.3s"
close_after = "2s"

[[visitors]]
name = "shoppers"
arrival = "start"
messages = 1
think = "0.3s"
stay = "1s"

[expect]
{expect}
"""
HOLDS = 'lost_messages = 0\n"calls.placed" = 1\n"ring_stop.acceptor.p95" = "< 1s"'


@pytest.fixture(scope="module", autouse=True)
def _imported(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One run before any pytester run: pytester unloads the modules its runs imported
    first, and the server's modules imported again would not match the simulator's."""
    path = tmp_path_factory.mktemp("warm") / "warm.toml"
    path.write_text(TINY.format(name="warm", expect=HOLDS, extra=""))
    outcome = play_and_report(load(path), path.parent / "reports")
    assert all(v.passed for v in outcome.verdicts) and not outcome.partial


def scenario(pytester: pytest.Pytester, name: str, expect: str = HOLDS, extra: str = "") -> Path:
    path = pytester.path / f"{name}.toml"
    path.write_text(TINY.format(name=name, expect=expect, extra=extra))
    return path


def collected(result: pytest.RunResult) -> list[str]:
    """The node ids of ``--collect-only -q``."""
    return [line for line in result.outlines if "::" in line]


def test_a_scenario_whose_expectations_hold_passes(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntrio_mode = true\n")  # as this project's: pytest-trio looks too
    scenario(pytester, "ok")
    result = pytester.runpytest("ok.toml", "-v", *QUIET)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["ringlab: 1 scenario run(s)*", "ok.toml::lost_messages PASSED*"])
    # run once for the three items: one report folder
    (report,) = (pytester.path / "reports" / "pytest").iterdir()
    assert report.name.startswith("ok-") and (report / "index.html").is_file()


def test_a_failed_expectation_says_the_value_in_its_unit_the_seed_and_the_report(
    pytester: pytest.Pytester,
) -> None:
    scenario(pytester, "late", expect='"ring_stop.acceptor.p95" = "> 10s"\n"calls.placed" = 2')
    result = pytester.runpytest("late.toml", *QUIET)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2)
    (report,) = (pytester.path / "reports" / "pytest").iterdir()
    result.stdout.fnmatch_lines(
        [
            "*_ late: ring_stop.acceptor.p95 > 10.0 s _*",  # the section: the file's expectation
            "measured *s, expected > 10.0 s",
            "scenario: late (seed 3, virtual clock)",
            "replay: ringlab run late.toml --seed 3",
            f"report: reports/pytest/{report.name}/index.html",
            "*_ late: calls.placed == 2 _*",
            "measured 1, expected == 2",
            # -ra: the numbers on the summary line too
            "FAILED late.toml::ring_stop.acceptor.p95 - measured *s, expected > 10.0 s",
        ]
    )
    assert re.search(r"^measured \d+ (µs|ms|s), expected", result.stdout.str(), re.M)
    assert "Traceback" not in result.stdout.str() and "raise " not in result.stdout.str()


def test_items_are_named_by_expectation_and_by_sweep_point(pytester: pytest.Pytester) -> None:
    scenario(pytester, "plain")
    scenario(pytester, "swept", extra="[sweep]\nseed = [1, 2]\n")
    scenario(pytester, "bare", expect="")
    result = pytester.runpytest("plain.toml", "swept.toml", "bare.toml", "--collect-only", "-q")
    metrics = ["lost_messages", "calls.placed", "ring_stop.acceptor.p95"]
    assert collected(result) == [
        *[f"plain.toml::{m}" for m in metrics],
        *[f"swept.toml::{m}[seed={seed}]" for seed in (1, 2) for m in metrics],
        "bare.toml::run",  # no expectations: one item still runs it
    ]
    # as pytest's own parametrizations: one point by its id, or an expectation at every point
    one = pytester.runpytest("swept.toml::lost_messages[seed=2]", "--collect-only", "-q")
    assert collected(one) == ["swept.toml::lost_messages[seed=2]"]
    every = pytester.runpytest("swept.toml::calls.placed", "--collect-only", "-q")
    assert collected(every) == [f"swept.toml::calls.placed[seed={seed}]" for seed in (1, 2)]


def test_a_malformed_file_is_one_failing_item_with_the_loaders_message(
    pytester: pytest.Pytester,
) -> None:
    scenario(pytester, "soon").write_text(
        TINY.format(name="soon", expect=HOLDS, extra="").replace('"6s"', '"soon"')
    )
    (pytester.path / "broken.toml").write_text('name = "broken"\nduration = "6s"\n[[operators]\n')
    result = pytester.runpytest("soon.toml", "broken.toml", *QUIET)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ soon.toml: cannot load _*",
            "soon.toml: *expected a duration such as 30s, 2m or 250ms, got 'soon'*",
            "*_ broken.toml: cannot load _*",
            "broken.toml: not valid TOML*",
            "FAILED soon.toml::load - soon.toml: *",
        ]
    )
    assert "Traceback" not in result.stdout.str() and "raise " not in result.stdout.str()


def test_options_override_the_seed_and_the_output_folder(pytester: pytest.Pytester) -> None:
    scenario(pytester, "fault", extra='reproduces = "nothing at all"')
    result = pytester.runpytest(
        "fault.toml",
        "--ringlab-seed=9",
        "--ringlab-out=out",
        "--ringlab-set=operators[0].reaction=0.2s",
        "--junitxml=junit.xml",
        "-v",
        *QUIET,
    )
    assert result.ret == pytest.ExitCode.OK
    (report,) = (pytester.path / "out").iterdir()
    summary = json.loads((report / "summary.json").read_text())
    assert summary["seed"] == 9
    assert json.loads((report / "scenario.json").read_text())["operators"][0]["reaction"] == "0.2s"
    # a scenario written to reproduce a fault says so; the outcome stays pass/fail
    result.stdout.fnmatch_lines(
        [
            "ringlab: fault reproduces 'nothing at all'*",
            "fault.toml::lost_messages PASSED (fault reproduced)*",
        ]
    )
    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["reproduces"] == "nothing at all" and properties["seed"] == "9"
    assert properties["measured"] == "0" and properties["report"].endswith("index.html")


def test_only_named_or_configured_toml_files_are_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "data.toml").write_text('name = "x"\nvalue = 1\n')
    scenario(pytester, "lookalike").rename(pytester.path / "tests" / "lookalike.toml")
    # testpaths are not named: nothing there is read, a scenario lookalike included
    assert collected(pytester.runpytest("--collect-only", "-q")) == []
    # a named directory: its scenarios, not pyproject.toml or other TOML files
    assert collected(pytester.runpytest(".", "--collect-only", "-q")) == [
        "tests/lookalike.toml::lost_messages",
        "tests/lookalike.toml::calls.placed",
        "tests/lookalike.toml::ring_stop.acceptor.p95",
    ]
    # the ini glob takes a file as a scenario without looking, so a stray one fails loudly
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\nringlab_scenarios = ["tests/data*"]\n'
    )
    assert collected(pytester.runpytest("--collect-only", "-q")) == ["tests/data.toml::load"]


def test_a_bad_set_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ringlab-set=nothing", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ringlab-set: expected key=value, got 'nothing'"])


def test_the_shipped_scenarios_collect_and_the_baseline_passes(pytester: pytest.Pytester) -> None:
    everything = collected(pytester.runpytest(str(SHIPPED), "--collect-only", "-q"))
    files = {Path(node.split("::")[0]).name for node in everything}
    assert files == {path.name for path in SHIPPED.glob("*.toml")}
    assert not [node for node in everything if node.endswith("::load")]
    result = pytester.runpytest(str(SHIPPED / "baseline.toml"), *QUIET)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
