"""``ringlab run`` and ``ringlab report``: play scenarios, write and re-render reports."""

from __future__ import annotations

import datetime
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from . import events as ev
from .checks import Metrics
from .progress import LiveProgress
from .report import write_report, write_sweep
from .runner import check_runnable, run
from .scenario import Loaded, ScenarioError, expand, load, parse
from .seeds import (
    SeedResult,
    default_jobs,
    distribution,
    parse_seeds,
    replay_command,
    sweep_seeds,
)


def _override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"expected key=value, got {text!r}", param_hint="'--set'")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]  # numbers, booleans, "strings", [lists]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: a string
    return key.strip(), value


def _print_summary(
    console: Console, name: str, out: Path, results: list[Any], partial: bool
) -> None:
    table = Table(title=f"{name}{' (partial)' if partial else ''}")
    table.add_column("expectation")
    table.add_column("measured", justify="right")
    table.add_column("verdict")
    for r in results:
        value = "no data" if r.value is None else f"{r.value:.4g}"
        table.add_row(str(r.expectation), value, "[green]pass[/]" if r.passed else "[red]FAIL[/]")
    console.print(table)
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
    "--set", "overrides", multiple=True, help="Override a key: --set operators[0].count=3"
)
@click.option(
    "--seeds",
    metavar="RANGE",
    help='Run one scenario under many seeds ("1..200", "3,7,9") on the virtual clock.',
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
    if seed is not None:
        changes["seed"] = seed
    if target is not None:
        changes["server.target"] = target
    if clock is not None:
        changes["clock"] = clock
    if seeds is not None:
        _seed_sweep(scenarios, seeds, jobs, changes, overrides, Path(out_root))
        return
    try:
        plans = [expand(path, changes) for path in scenarios]
        for runs in plans:
            for loaded in runs:
                check_runnable(loaded)
    except ScenarioError as exc:
        raise click.UsageError(str(exc)) from None
    console = Console()
    failed = False
    for runs in plans:
        results = [(loaded, _run_one(loaded, Path(out_root), console)) for loaded in runs]
        if len(runs) > 1:
            _print_sweep(console, results)
            name = runs[0].scenario.name
            chart = write_sweep(
                Path(out_root) / f"{name}-sweep-{_stamp()}",
                name,
                [(loaded, values, ok) for loaded, (ok, values) in results],
            )
            console.print(f"sweep chart: {chart}")
        failed = failed or not all(ok for _, (ok, _) in results)
    sys.exit(1 if failed else 0)


def _print_sweep(console: Console, results: list[tuple[Loaded, tuple[bool, Metrics]]]) -> None:
    """One row per sweep point: the point, ring-stop latency, the verdict."""
    keys = list(results[0][0].point)
    table = Table(title=f"{results[0][0].scenario.name}: sweep")
    for key in keys:
        table.add_column(key)
    for column in ("acceptor p50", "acceptor p95", "others p95", "verdict"):
        table.add_column(column, justify="right")
    for loaded, (ok, values) in results:
        cells = [
            _ms(values.get(f"ring_stop.{w}"))
            for w in ("acceptor.p50", "acceptor.p95", "others.p95")
        ]
        table.add_row(*[str(loaded.point[k]) for k in keys], *cells, "pass" if ok else "FAIL")
    console.print(table)


def _seed_sweep(
    scenarios: tuple[str, ...],
    seeds_text: str,
    jobs: int | None,
    changes: dict[str, Any],
    sets: tuple[str, ...],
    out_root: Path,
) -> None:
    """``--seeds``: every seed of one scenario, the spread of its metrics, the failures."""
    try:
        seeds = parse_seeds(seeds_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--seeds'") from None
    if len(scenarios) != 1:
        raise click.UsageError("--seeds takes one scenario file")
    if "seed" in changes:
        raise click.UsageError("--seeds and --seed are exclusive")
    (path,) = scenarios
    try:
        loaded = load(path, changes)
        if loaded.scenario.sweep:
            raise ScenarioError(f"{path}: --seeds cannot run a [sweep]; run one or the other")
        check_runnable(loaded)
        if loaded.clock != "virtual":
            raise ScenarioError(f"{path}: --seeds runs on the virtual clock, not {loaded.clock}")
    except ScenarioError as exc:
        raise click.UsageError(str(exc)) from None
    console = Console()
    workers = jobs or default_jobs()
    with Progress(
        TextColumn(f"[bold]{loaded.scenario.name}[/] seeds"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("seeds", total=len(seeds), failed=0)
        failures = [0]

        def done(result: SeedResult) -> None:
            failures[0] += not result.passed
            bar.update(task, advance=1, failed=failures[0])

        results = sweep_seeds(path, changes, seeds, workers, done)
    spread = distribution(results)
    failed = [r for r in results if not r.passed]
    out = _fresh(out_root / f"{loaded.scenario.name}-seeds-{_stamp()}")
    document = {
        "scenario": loaded.scenario.name,
        "file": path,
        "seeds": seeds,
        "distribution": spread,
        "failed": [
            {"seed": r.seed, "failed": r.failed, "replay": replay_command(path, sets, r.seed)}
            for r in failed
        ],
        "runs": [{"seed": r.seed, "passed": r.passed, "metrics": r.metrics} for r in results],
    }
    (out / "seeds.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    shown = [x.metric for x in loaded.expectations] + [
        m for m in SPREAD_SHOWN if m not in {x.metric for x in loaded.expectations}
    ]
    table = Table(title=f"{loaded.scenario.name}: {len(seeds)} seeds, {len(failed)} failed")
    for column in ("metric", "min", "p50", "p95", "max"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name in shown:
        row = spread.get(name, {})
        table.add_row(name, *[_value(name, row.get(k)) for k in ("min", "p50", "p95", "max")])
    console.print(table)
    for r in failed:  # plain lines: a replay command must survive copy and paste
        click.echo(f"seed {r.seed}: {'; '.join(r.failed)}")
        click.echo(f"  replay: {replay_command(path, sets, r.seed)}")
    click.echo(f"every seed's metrics: {out / 'seeds.json'}")
    sys.exit(1 if failed else 0)


#: Metrics a seed sweep's table shows besides the scenario's expectations.
SPREAD_SHOWN = (
    "ring_stop.acceptor.p50",
    "ring_stop.acceptor.p95",
    "ring_stop.others.p95",
    "ring_overrun.max",
    "calls.accepted",
    "lost_messages",
    "duplicated_messages",
    "merged_visitors",
)


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return _ms(value) if metric.startswith(("ring_", "time_to_answer")) else f"{value:g}"


def _stamp() -> str:
    """Report directories are named by the UTC time the run started."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fresh(path: Path) -> Path:
    """A new directory at ``path``, or beside it (``-2``, ``-3``...) when runs share a second."""
    candidate, n = path, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            n += 1
            candidate = path.with_name(f"{path.name}-{n}")


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def _run_one(loaded: Loaded, out_root: Path, console: Console) -> tuple[bool, Metrics]:
    """Run one scenario and write its report; (every expectation held, the metrics)."""
    name = loaded.scenario.name
    stamp = _stamp()
    point = "".join(f"-{k.rsplit('.', 1)[-1]}={v}" for k, v in loaded.point.items())
    out = _fresh(out_root / f"{name}{point}-{stamp}")
    started = time.monotonic()
    with LiveProgress(console, name + point, loaded.scenario.duration.seconds) as show:
        result = run(loaded, progress=show, stop_on_interrupt=True)
    wall = time.monotonic() - started
    (out / "scenario.json").write_text(json.dumps(loaded.table, indent=2, default=str) + "\n")
    values, results = write_report(out, loaded, result.events, partial=result.partial)
    simulated = max((e.t for e in result.events), default=0.0)
    # wall-clock facts apart from summary.json, which a seed must reproduce byte for byte
    run_info = {
        "started_utc": stamp,
        "wall_seconds": round(wall, 3),
        "simulated_seconds": round(simulated, 3),
        "speedup": round(simulated / wall, 1) if wall else None,
        "clock": loaded.clock,
    }
    (out / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
    _print_summary(console, name + point, out, results, result.partial)
    console.print(f"{loaded.clock} clock: {simulated:.0f} s of run in {wall:.1f} s of wall time")
    return not result.partial and all(r.passed for r in results), values


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
    _, results = write_report(out, loaded, events, partial=summary.get("partial", False))
    _print_summary(Console(), loaded.scenario.name, out, results, summary.get("partial", False))
