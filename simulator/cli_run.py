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
from rich.table import Table

from . import events as ev
from .checks import Metrics
from .progress import LiveProgress
from .report import write_report, write_sweep
from .runner import check_runnable, run
from .scenario import Loaded, ScenarioError, expand, parse


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
def run_command(
    scenarios: tuple[str, ...],
    out_root: str,
    seed: int | None,
    clock: str | None,
    target: str | None,
    overrides: tuple[str, ...],
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
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


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
