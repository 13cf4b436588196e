"""The tables of sweeps and seed sweeps, and the progress of a seed sweep (``ringlab run``).

Beside :mod:`.run`, which drives a run from its options to its exit code; this module
shows what a set of runs measured, across sweep points and seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ..report.results import SeedResult, distribution, pass_rate
from ..report.sweep import Point, labels, point_label
from ..scenario import Loaded
from ..scenario.metric_names import show
from .seeds import run_many

#: Metrics every sweep and seed sweep table shows besides the scenario's expectations.
MAIN_METRICS = (
    "ring_stop.acceptor.p50",
    "ring_stop.acceptor.p95",
    "ring_stop.others.p95",
    "ring_overrun.p95",
)
#: And a seed sweep of one point, which has room for more.
SPREAD_SHOWN = (
    *MAIN_METRICS,
    "ring_overrun.max",
    "calls.accepted",
    "lost_messages",
    "duplicated_messages",
    "merged_visitors",
)


def verdict(passed: bool, reproduces: str) -> str:
    """The word for a run: a scenario that reproduces a fault passes by reproducing it."""
    if reproduces:
        return "[green]fault reproduced[/]" if passed else "[red]not reproduced[/]"
    return "[green]pass[/]" if passed else "[red]FAIL[/]"


def print_sweep(console: Console, first: Loaded, points: Sequence[Point], *, seeded: bool) -> None:
    """A sweep's table: one row per point; with seeds, a table per point (each metric's
    spread across the seeds, under the point's pass rate and verdict)."""
    keys = list(first.point)
    short = labels(keys)
    reproduces = first.scenario.reproduces
    if seeded:
        shown = [x.metric for x in first.expectations]
        for p in points:
            word = verdict(p.passed, reproduces)
            title = f"{point_label(p.values)}: {word}, {pass_rate(p.runs)} of seeds passed"
            print_spread(console, p.runs, shown, MAIN_METRICS, title)
    else:
        table = Table(title=f"{first.scenario.name}: sweep", pad_edge=False)
        for key in keys:  # never cut: "links.op.l…" twice told nothing
            width = max(len(short[key]), *(len(str(p.values[key])) for p in points))
            table.add_column(short[key], min_width=width)
        for metric in MAIN_METRICS:  # headers may wrap onto two lines; values may not
            header = metric.removeprefix("ring_stop.").removeprefix("ring_").replace(".", " ")
            table.add_column(header, justify="right", min_width=7)
        table.add_column("verdict", min_width=10 if reproduces else 7)
        for p in points:
            values = p.runs[0].metrics
            cells = [show(m, values.get(m)) for m in MAIN_METRICS]
            table.add_row(*[str(p.values[k]) for k in keys], *cells, verdict(p.passed, reproduces))
        console.print(table)
    for key in keys:  # the full keys, once: the columns and titles carry short labels
        if short[key] != key:
            console.print(f"  {short[key]} = {key}")


def run_seeds(runs: list[Loaded], seeds: list[int], jobs: int) -> list[Point]:
    """Every seed at every point of ``runs`` (one, or a sweep's), with a progress bar on
    a terminal."""
    name = runs[0].scenario.name
    tasks = [(loaded, seed) for loaded in runs for seed in seeds]
    console = Console()
    with Progress(
        TextColumn(f"[bold]{name}[/] seeds"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("seeds", total=len(tasks), failed=0)
        failures = [0]

        def done(result: SeedResult) -> None:
            failures[0] += not result.passed
            bar.update(task, advance=1, failed=failures[0])

        results = run_many(tasks, jobs, done)
    n = len(seeds)
    return [Point(loaded.point, results[i * n : (i + 1) * n]) for i, loaded in enumerate(runs)]


def print_spread(
    console: Console,
    results: Sequence[SeedResult],
    expected: Sequence[str],
    also: Sequence[str],
    title: str,
) -> None:
    """Each metric's spread across seeds: the expectations' metrics, then ``also``."""
    spread = distribution(results)
    table = Table(title=title)
    for column in ("metric", "min", "p50", "p95", "max"):
        table.add_column(column, justify="left" if column == "metric" else "right", no_wrap=True)
    for metric in dict.fromkeys([*expected, *also]):
        row = spread.get(metric, {})
        table.add_row(metric, *[show(metric, row.get(k)) for k in ("min", "p50", "p95", "max")])
    console.print(table)
