"""``ringlab run`` and ``ringlab report``: play scenarios, write and re-render reports."""

from __future__ import annotations

import datetime
import json
import sys
import tomllib
from functools import partial
from pathlib import Path
from typing import Any

import click
import trio
from rich.console import Console
from rich.table import Table

from . import events as ev
from .report import write_report
from .runner import run_scenario
from .scenario import Loaded, ScenarioError, load, parse


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
    "--set", "overrides", multiple=True, help="Override a key: --set operators[0].count=3"
)
def run_command(
    scenarios: tuple[str, ...], out_root: str, seed: int | None, overrides: tuple[str, ...]
) -> None:
    """Play scenario files against the embedded reference server and write reports.

    Exit 0 when every expectation holds, 1 when one fails, 2 for invalid input.
    """
    changes = dict(_override(o) for o in overrides)
    if seed is not None:
        changes["seed"] = seed
    try:
        loaded_all = [load(path, changes) for path in scenarios]
    except ScenarioError as exc:
        raise click.UsageError(str(exc)) from None
    console = Console()
    failed = [not _run_one(loaded, Path(out_root), console) for loaded in loaded_all]
    sys.exit(1 if any(failed) else 0)


def _run_one(loaded: Loaded, out_root: Path, console: Console) -> bool:
    """Run one scenario and write its report; True if every expectation held."""
    name = loaded.scenario.name
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out_root / f"{name}-{stamp}"
    duration = loaded.scenario.duration.seconds
    shown = [-10.0]

    def progress(t: float, counts: dict[str, int]) -> None:
        line = (
            f"{name}: {min(t, duration):5.1f}/{duration:.0f} s  calls {counts['calls']}"
            f"  ringing {counts['rings']}  messages {counts['messages']}"
        )
        if console.is_terminal:
            console.print(line, end="\r")
        elif t - shown[0] >= 10:  # plain lines in CI logs, every 10 s
            shown[0] = t
            click.echo(line)

    result = trio.run(partial(run_scenario, loaded, progress=progress, stop_on_interrupt=True))
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.json").write_text(json.dumps(loaded.table, indent=2, default=str) + "\n")
    _, results = write_report(
        out, loaded, result.events, result.operator_names, partial=result.partial
    )
    _print_summary(console, name, out, results, result.partial)
    return not result.partial and all(r.passed for r in results)


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
    _, results = write_report(
        out, loaded, events, summary.get("operators", {}), partial=summary.get("partial", False)
    )
    _print_summary(Console(), loaded.scenario.name, out, results, summary.get("partial", False))
