"""A pytest plugin: scenario files as tests (``pytest scenarios/``, ``pytest x.toml``).

Registered through the ``pytest11`` entry point, so pytest loads it in every project of an
environment where ringlab is installed. Importing it therefore does nothing but define
hooks; the simulator is imported only once a scenario file is collected.

Which ``.toml`` files are scenarios (``docs/scenarios.md`` has the same rule for users):

- a file named on the command line (``pytest path/x.toml``): always;
- a file matching a glob of the ini option ``ringlab_scenarios`` (relative to the ini
  file's directory): always;
- a file under a directory named on the command line (``pytest scenarios/``) that looks
  like a scenario: top-level ``name`` and ``duration``, and ``operators`` or ``visitors``.

Directories pytest walks on its own (``testpaths``, or the current directory when no
argument is given) are never sniffed: ``pyproject.toml`` and other TOML files met while
collecting a project's tests are left alone and not even read.

Each expectation is one item (``x.toml::ring_stop.acceptor.p95``), and with a ``[sweep]``
one per point, named as pytest names a parametrization
(``x.toml::lost_messages[links.ops.up.loss=0.05]``). A file that does not load is one
failing item ``x.toml::load``; a file without expectations is one item ``x.toml::run``.
A scenario (a sweep point) runs once, in its first item; the others read its verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .items import ScenarioFile, ScenarioItem
from .options import add_options, check_sets, explicit, settings, shown


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--ringlab-*`` options and the ``ringlab_scenarios`` ini option."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker every scenario item carries (``-m ringlab``, ``-m 'not ringlab'``)."""
    config.addinivalue_line("markers", "ringlab: an expectation of a ringlab scenario file")
    check_sets(config)  # a bad --ringlab-set is a usage error now, not a collection error


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A scenario file becomes a :class:`ScenarioFile`; any other file is left alone."""
    if file_path.suffix != ".toml" or not explicit(file_path, settings(parent.config)):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def pytest_report_collectionfinish(
    config: pytest.Config, start_path: Path, items: list[pytest.Item]
) -> list[str]:
    """Say where reports go, and which scenarios are written to reproduce a fault."""
    plays = list({id(i.play): i.play for i in items if isinstance(i, ScenarioItem)}.values())
    if not plays:
        return []
    out = shown(settings(config).out_root, config)
    lines = [f"ringlab: {len(plays)} scenario run(s), reports in {out}/"]
    for p in plays:
        if p.loaded.scenario.reproduces:
            lines.append(
                f"ringlab: {p.label} reproduces {p.loaded.scenario.reproduces!r}: "
                "its expectations passing means the fault was reproduced"
            )
    return lines


def pytest_report_teststatus(
    report: pytest.CollectReport | pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """``-v`` says PASSED (fault reproduced) for an expectation of a ``reproduces`` scenario."""
    properties = getattr(report, "user_properties", ())  # a CollectReport has none
    reproduces = any(key == "reproduces" for key, _ in properties)
    if report.when == "call" and report.passed and reproduces:
        return "passed", ".", ("PASSED (fault reproduced)", {"green": True})
    return None
