"""``ringlab run`` and ``ringlab report``: play scenarios, write and re-render reports.

Exit codes: 0 every expectation held; 1 one failed, the run was stopped (Ctrl-C) or
the target failed during the run; 2 bad input (a file, an option, an unreachable
target), refused before anything runs.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import tomllib
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from ..network.slim_httpx import httpx
from ..play.runner import check_runnable, first_error, run
from ..play.server_under_test import TargetRefused
from ..record import events as ev
from ..report.files import write_report
from ..report.folder import fresh, point_suffix, stamp, write_run
from ..report.metrics import Verdict
from ..report.replay import replay_command
from ..report.results import Check, SeedResult, checks, pass_rate
from ..report.sweep import write_seeds
from ..scenario import Loaded, ScenarioError, expand, parse, with_seed
from ..scenario.metric_names import show
from .progress import LiveProgress
from .seeds import default_jobs, parse_seeds
from .sweep import SPREAD_SHOWN, print_spread, print_sweep, run_seeds, verdict


def _override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"expected key=value, got {text!r}", param_hint="'--set'")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]  # numbers, booleans, "strings", [lists]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word or a comparison ("< 1s"): a string
    return key.strip(), value


def _print_summary(
    console: Console,
    name: str,
    out: Path,
    results: list[Verdict],
    partial: bool,
    reproduces: str = "",
) -> None:
    ok = not partial and all(r.passed for r in results)
    if not results:  # a verdict of "pass" would claim a check nobody asked for
        console.print(f"{name}: no expectations ([expect]), nothing to check")
        console.print(f"report: {out / 'index.html'}")
        return
    table = Table(title=f"{name}{' (partial)' if partial else ''}")
    table.add_column("expectation")
    table.add_column("measured", justify="right")
    table.add_column("verdict")
    for r in results:
        measured = show(r.expectation.metric, r.value)
        table.add_row(r.expectation.describe(), measured, verdict(r.passed, ""))
    console.print(table)
    said = f" ({reproduces})" if reproduces else ""
    console.print(f"verdict: {verdict(ok, reproduces)}{said}")
    console.print(f"report: {out / 'index.html'}")


@click.command("run")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out_root", default="reports", show_default=True, help="Where reports go.")
@click.option("--seed", type=int, help="Override the scenario's seed.")
@click.option(
    "--clock",
    type=click.Choice(["real", "virtual"]),
    help="Override the scenario's clock (default: virtual; real with --target).",
)
@click.option(
    "--target",
    metavar="URL",
    help="Play against this running server instead of the embedded one (server.target).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    help="Override a key: --set operators[0].count=3, --set 'expect.lost_messages=0'.",
)
@click.option(
    "--seeds",
    metavar="RANGE",
    help='Run under many seeds ("1..200", "3,7,9") on the virtual clock (every sweep point).',
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes for --seeds (default: one per CPU).",
)
def run_command(
    scenarios: tuple[str, ...],
    out_root: str,
    seed: int | None,
    clock: str | None,
    target: str | None,
    overrides: tuple[str, ...],
    seeds: str | None,
    jobs: int | None,
) -> None:
    """Play scenario files against the embedded reference server and write reports.

    Exit 0 when every expectation holds, 1 when one fails, 2 for invalid input.
    """
    changes = dict(_override(o) for o in overrides)
    labels = {}
    for key, value, option in (("server.target", target, "--target"), ("clock", clock, "--clock")):
        if value is not None:
            changes[key], labels[key] = value, option
    context = click.get_current_context()
    given_out = context.get_parameter_source("out_root") is not ParameterSource.DEFAULT
    if seeds is not None:
        if seed is not None:
            raise click.UsageError("--seeds and --seed are exclusive")
        if len(scenarios) != 1:
            raise click.UsageError("--seeds takes one scenario file")
        try:
            seed_list = parse_seeds(seeds)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--seeds'") from None
        runs = _plan(scenarios, changes, labels)[0]
        if runs[0].clock != "virtual":
            raise click.UsageError(f"{scenarios[0]}: --seeds runs on the virtual clock, not real")
        root = _output(out_root)
        replay = {"sets": overrides, "out": out_root if given_out else None, "clock": clock}
        _seed_sweep(scenarios[0], runs, seed_list, jobs, replay, root)
        return
    plans = _plan(scenarios, changes, labels, seed)
    _check_targets(plans, target)  # first: a refused run leaves no folder behind
    root = _output(out_root)
    console = Console()
    failed = False
    for runs in plans:
        results = [(loaded, _run_one(loaded, root, console)) for loaded in runs]
        if len(runs) > 1 or runs[0].point:
            from ..report.sweep import Point, write_sweep

            points = [Point(loaded.point, [result]) for loaded, result in results]
            print_sweep(console, runs[0], points, seeded=False)
            name = runs[0].scenario.name
            chart = write_sweep(fresh(root / f"{name}-sweep-{stamp()}"), name, points, seeded=False)
            console.print(f"sweep chart: {chart}")
        failed = failed or not all(result.passed for _, result in results)
    sys.exit(1 if failed else 0)


def _plan(
    scenarios: Sequence[str],
    changes: dict[str, Any],
    labels: dict[str, str],
    seed: int | None = None,
) -> list[list[Loaded]]:
    """Every file as its runs (under ``seed``, if given), validated and checked runnable:
    refused here (exit 2) before anything starts."""
    try:
        plans = [expand(path, changes, labels) for path in scenarios]
        if seed is not None:
            plans = [[with_seed(loaded, seed) for loaded in runs] for runs in plans]
        for runs in plans:
            for loaded in runs:
                check_runnable(loaded)
    except ScenarioError as exc:
        raise click.UsageError(str(exc)) from None
    return plans


def _output(out_root: str) -> Path:
    """``--out``, made if it need be; refused when it, or a folder above it, is a file."""
    root = Path(out_root)
    existing = next((p for p in (root, *root.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise click.BadParameter(f"{existing} is a file, not a directory", param_hint="'--out'")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = f"cannot create {root}: {exc.strerror}"
        raise click.BadParameter(problem, param_hint="'--out'") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise click.BadParameter(f"cannot write into {root}", param_hint="'--out'")
    return root


def _check_targets(plans: list[list[Loaded]], option: str | None) -> None:
    """A TCP connect to every target before anything runs: a server that is not there
    is a bad argument (exit 2), not a run that fails with a trace after its setup."""
    for runs in plans:
        url = runs[0].scenario.server.target
        if url is None:
            continue
        problem = _unreachable(url)
        if problem:
            blame = "--target" if option is not None else f"{runs[0].path}: server.target"
            # not a misuse of the command: one line, no usage text (exit 2 all the same)
            raise _Refused(f"{blame}: cannot reach {url}: {problem}")


class _Refused(click.ClickException):
    """Input that cannot be run, said in one line: ``Error: ...``, exit 2."""

    exit_code = 2


def _unreachable(url: str, timeout: float = 3.0) -> str | None:
    """Why nothing answers a TCP connect to ``url``'s host and port, or None."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except ValueError:
        return "not a valid port"
    except socket.gaierror:
        return f"unknown host {parts.hostname!r}"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return reason[:1].lower() + reason[1:]


def _seed_sweep(
    path: str,
    runs: list[Loaded],
    seeds: list[int],
    jobs: int | None,
    replay: dict[str, Any],
    root: Path,
) -> None:
    """``--seeds``: every seed (at every sweep point), the spread of the metrics, every
    failed seed with the command that replays it; ``seeds.json`` or ``sweep.json``, and
    ``junit.xml`` with a testcase per (point, seed, expectation)."""
    from ..report.sweep import point_label, write_junit, write_sweep

    name = runs[0].scenario.name
    points = run_seeds(runs, seeds, jobs or default_jobs())
    results = [r for p in points for r in p.runs]
    failed = [r for r in results if not r.passed]

    def replay_of(r: SeedResult) -> str:
        return replay_command(path, replay["sets"], r.seed, replay["out"], r.point, replay["clock"])

    console = Console()
    if runs[0].point:
        out = fresh(root / f"{name}-sweep-{stamp()}")
        chart = write_sweep(out, name, points, seeded=True)
        print_sweep(console, runs[0], points, seeded=True)
        console.print(f"sweep chart: {chart}")
        document = out / "sweep.json"
    else:
        out = fresh(root / f"{name}-seeds-{stamp()}")
        document = out / "seeds.json"
        write_seeds(document, runs[0], path, seeds, results, replay_of)
        write_junit(out / "junit.xml", name, points)
        s = runs[0].scenario
        expected = [x.metric for x in runs[0].expectations]
        title = f"{s.name}: {len(results)} seeds, {len(failed)} failed"
        print_spread(console, results, expected, SPREAD_SHOWN, title)
        console.print(f"verdict: {verdict(not failed, s.reproduces)}, {pass_rate(results)} passed")
    for r in failed:  # plain lines: a replay command must survive copy and paste
        where = f"{point_label(r.point)}, " if r.point else ""
        click.echo(f"{where}seed {r.seed}: {'; '.join(r.failed)}")
        click.echo(f"  replay: {replay_of(r)}")
    click.echo(f"every seed's metrics: {document}")
    sys.exit(1 if failed else 0)


def _run_one(loaded: Loaded, out_root: Path, console: Console) -> SeedResult:
    """Run one scenario and write its report; the run's metrics and expectations (its
    report folder is made once the run is over, so a run that fails leaves none)."""
    name = loaded.scenario.name + point_suffix(loaded)
    started, began = stamp(), time.monotonic()
    target = loaded.scenario.server.target
    # a target that went away, or that refused the admin login: one line, not a trace
    failures = (OSError, httpx.HTTPError, TargetRefused)
    try:
        with LiveProgress(console, name, loaded.scenario.duration.seconds) as progress:
            result = run(loaded, progress=progress, stop_on_interrupt=True)
    except* failures as group:
        leaf = first_error(group)
        # httpx's timeouts say nothing (ReadTimeout('')): name them
        cause = (str(leaf).splitlines() or [f"{type(leaf).__name__}: no answer in time"])[0]
        where = target or "the embedded server"
        click.echo(f"ringlab run: {name}: the run against {where} failed: {cause}", err=True)
        sys.exit(1)
    wall = time.monotonic() - began
    written = write_run(out_root, loaded, result.events, result.partial, started, wall)
    s = loaded.scenario
    _print_summary(console, name, written.out, written.verdicts, result.partial, s.reproduces)
    console.print(
        f"{loaded.clock} clock: {written.simulated:.0f} s of run in {wall:.1f} s of wall time"
    )
    outcome = checks(loaded.expectations, written.values)
    if result.partial:  # stopped early: whatever held so far, the run did not pass
        outcome.append(Check("the run to its end (it was stopped)", "", None, passed=False))
    return SeedResult(s.seed, written.values, outcome, dict(loaded.point))


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
def report_command(run_dir: str) -> None:
    """Render a run's report again from its events.jsonl."""
    out = Path(run_dir)
    try:
        loaded = parse(json.loads((out / "scenario.json").read_text()), str(out / "scenario.json"))
        summary = json.loads((out / "summary.json").read_text())
        events = list(ev.read(out / "events.jsonl"))
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"{run_dir} is not a ringlab run directory: {exc}") from None
    partial = summary.get("partial", False)
    _, results = write_report(out, loaded, events, partial=partial)
    _print_summary(
        Console(), loaded.scenario.name, out, results, partial, loaded.scenario.reproduces
    )
