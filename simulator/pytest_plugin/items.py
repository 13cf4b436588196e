"""Scenario files as collectors, their expectations as items, and the one run they share."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .options import settings, shown

if TYPE_CHECKING:  # the simulator is heavy: imported when a scenario file is collected
    from ..report.metrics import Metrics, Verdict
    from ..scenario import Expectation, Loaded


class ScenarioFile(pytest.File):
    """One scenario file: an item per expectation (per expectation and point of a sweep)."""

    def collect(self) -> Iterator[pytest.Item]:
        """Load the file (as ``ringlab run`` would, overrides applied) into items."""
        from ..play.runner import check_runnable
        from ..scenario import ScenarioError, expand, with_seed

        options = settings(self.config)
        try:
            runs = expand(shown(self.path, self.config), options.changes)
            if options.seed is not None:
                runs = [with_seed(loaded, options.seed) for loaded in runs]
            for loaded in runs:
                check_runnable(loaded)
        except ScenarioError as exc:
            yield LoadFailure.from_parent(self, name="load", message=str(exc))
            return
        for loaded in runs:
            play = _Play(loaded, options.out_root)
            # a sweep point as pytest writes a parametrization: `x.toml::lost_messages[k=v]`
            # selects one point, `x.toml::lost_messages` every point
            point = ",".join(f"{key}={value}" for key, value in loaded.point.items())
            suffix = f"[{point}]" if point else ""
            if not loaded.expectations:  # still run it: a crash or a partial run must fail
                yield ScenarioItem.from_parent(self, name=f"run{suffix}", play=play, index=None)
            for index, x in enumerate(loaded.expectations):
                name = f"{x.metric}{suffix}"
                yield ScenarioItem.from_parent(self, name=name, play=play, index=index)


@dataclass
class Outcome:
    """A finished run of one scenario (or sweep point): what its items check."""

    metrics: Metrics
    verdicts: list[Verdict]
    report: Path  # the run's report folder
    partial: bool


class _Play:
    """Runs a scenario at most once, for whichever of its items asks first."""

    def __init__(self, loaded: Loaded, out_root: Path) -> None:
        self.loaded = loaded
        self.out_root = out_root
        self._outcome: Outcome | None = None
        self._crash: str | None = None

    @property
    def label(self) -> str:
        point = ",".join(f"{k}={v}" for k, v in self.loaded.point.items())
        return self.loaded.scenario.name + (f" [{point}]" if point else "")

    def replay(self, sets: tuple[str, ...]) -> str:
        """The ``ringlab run`` command that replays this run exactly, report included."""
        from ..report.replay import replay_command

        loaded = self.loaded
        return replay_command(loaded.path, sets, loaded.scenario.seed, point=loaded.point)

    def outcome(self, asking: str) -> Outcome:
        """The run's outcome, running it first if no item has (``asking``: the item's id)."""
        if self._crash is not None:  # the traceback went to the first item: not again
            raise ScenarioFailure(self._crash)
        if self._outcome is None:
            try:
                self._outcome = play_and_report(self.loaded, self.out_root)
            except Exception as exc:
                from ..network.slim_httpx import httpx
                from ..play.runner import first_error
                from ..play.server_under_test import TargetRefused

                cause = first_error(exc)
                self._crash = f"the run of {self.label} failed in {asking}: {cause!r}"
                if isinstance(cause, OSError | httpx.HTTPError | TargetRefused):
                    # the target went away or is not a ringlab server: a traceback of the
                    # runner would bury that one line
                    where = self.loaded.scenario.server.target or "the embedded server"
                    raise ScenarioFailure(f"the run against {where} failed: {cause}") from exc
                raise
        return self._outcome


def play_and_report(loaded: Loaded, out_root: Path) -> Outcome:
    """Run one scenario and write its report folder, as ``ringlab run`` does, without the
    console."""
    from ..play.runner import run
    from ..report.folder import stamp, write_run

    started, began = stamp(), time.monotonic()
    result = run(loaded)
    written = write_run(
        out_root, loaded, result.events, result.partial, started, time.monotonic() - began
    )
    return Outcome(written.values, written.verdicts, written.out, result.partial)


def _not_a_coroutine() -> None:
    """What pytest-trio's trio_mode inspects: it reads every item's ``obj``, as if all were
    functions, and fails the session without one (0.8.0; python-trio/pytest-trio#132)."""


class ScenarioFailure(Exception):
    """A failed expectation or load: its message is the whole story, no traceback."""


class _Worded(pytest.Item):
    """An item whose failures are a :class:`ScenarioFailure`'s words alone (a traceback of
    the runner or the loader would only hide them); a crash keeps its traceback."""

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class ScenarioItem(_Worded):
    """One expectation of a scenario (``index``), or the bare run of one that has none."""

    def __init__(self, *, play: _Play, index: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.play = play
        self.index = index
        self.add_marker("ringlab")
        self.obj = _not_a_coroutine  # pytest-trio's trio_mode reads it from every item
        if reproduces := play.loaded.scenario.reproduces:
            self.user_properties.append(("reproduces", reproduces))

    @property
    def expectation(self) -> Expectation | None:
        """What this item checks; None for the bare run of a scenario without expectations."""
        return None if self.index is None else self.play.loaded.expectations[self.index]

    def runtest(self) -> None:
        """Run the scenario if no item of it has yet, then judge this item's verdict."""
        from ..scenario.metric_names import show

        outcome = self.play.outcome(self.nodeid)
        loaded = self.play.loaded
        report = outcome.report / "index.html"
        self.user_properties += [("seed", loaded.scenario.seed), ("report", str(report))]
        lines: list[str] = []
        if self.index is not None:
            verdict = outcome.verdicts[self.index]
            x = verdict.expectation
            self.user_properties.append(("measured", show(x.metric, verdict.value)))
            if not verdict.passed:
                # the first line is what `-ra` and junit.xml show: the numbers, in their unit
                lines.append(f"measured {show(x.metric, verdict.value)}, expected {_describe(x)}")
        if outcome.partial:
            lines.append(f"{self.play.label}: the run stopped early; its report is partial")
        if not lines:
            return
        lines.append(
            f"scenario: {self.play.label} (seed {loaded.scenario.seed}, {loaded.clock} clock)"
        )
        if loaded.scenario.reproduces:
            lines.append(f"fault NOT reproduced: {loaded.scenario.reproduces}")
        lines.append(f"replay: {self.play.replay(settings(self.config).sets)}")
        lines.append(f"report: {shown(report, self.config)}")
        raise ScenarioFailure("\n".join(lines))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the expectation is written, and a headline for the failure's section."""
        # the headline must not end the node id: pytest would rewrite its dots to "::"
        x = self.expectation
        what = f"{x.metric} {_describe(x)}" if x else "run"
        return self.path, _line_of(self.path, x), f"{self.play.label}: {what}"


def _describe(x: Expectation) -> str:
    """``< 500 ms``: the comparison, its threshold in the metric's unit."""
    from ..scenario.metric_names import show

    return f"{x.op} {show(x.metric, x.threshold)}"


def _line_of(path: Path, x: Expectation | None) -> int | None:
    """The 0-based line of an expectation's key, for editors; None when not found."""
    if x is None:
        return None
    key = re.compile(rf"""^\s*["']?{re.escape(x.metric)}["']?\s*=""")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((i for i, line in enumerate(lines) if key.match(line)), None)


class LoadFailure(_Worded):
    """A scenario file that does not load: one failing item with the loader's message."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.add_marker("ringlab")
        self.obj = _not_a_coroutine  # as ScenarioItem.obj

    def runtest(self) -> None:
        """Fail with the loader's message (the file, the key path, what was expected)."""
        raise ScenarioFailure(self.message)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """The file, and a headline for the failure's section."""
        return self.path, None, f"{self.path.name}: cannot load"
