"""``ringlab compare RUN_A RUN_B``: two runs side by side, on the terminal and in a folder
of their own (:mod:`simulator.report.compare`). A comparison has no verdict: it exits 0
whatever the numbers say.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..report.compare import NotARun, Row, RunData, load_run, rows, shown, write_compare
from ..report.folder import fresh, stamp


def print_table(console: Console, a: RunData, b: RunData, table: list[Row]) -> None:
    """The terminal table: expectation metrics first and bold, a rule, then the rest."""
    for key, run in (("A", a), ("B", b)):
        s = run.summary
        console.print(
            f"[bold]{key}[/] = {run.label}  (seed {s.get('seed')}, {s.get('clock')} clock)"
            f"  {run.path}",
            highlight=False,
            soft_wrap=True,
        )
    grid = Table(title=f"{a.label} vs {b.label}", title_justify="left")
    grid.add_column("metric", no_wrap=True)
    grid.add_column("exp", no_wrap=True)
    for column in ("A", "B", "delta B-A", "B/A"):
        grid.add_column(column, justify="right", no_wrap=True)
    expected = True
    for row in table:
        if expected and not row.expected_by:
            grid.add_section()  # the line under the expectation metrics
            expected = False
        cells = shown(row)
        grid.add_row(
            *(cells[k] for k in ("metric", "expected_by", "a", "b", "delta", "ratio")),
            style="bold" if row.expected_by else None,
        )
    console.print(grid)


@click.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_root",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Parent directory of the compare folder.",
)
def compare_command(run_a: Path, run_b: Path, out_root: Path) -> None:
    """Two runs side by side: every metric with delta (B - A) and ratio, the ring-stop
    CDFs overlaid. Typically a scenario's run against baseline's.

    Writes compare.json, ring_stop_cdf.png and index.html into
    OUT/compare-A-vs-B-STAMP/. Exit 0 (a comparison has no verdict), 2 for input that
    is not a run directory.
    """
    runs = []
    for hint, path in (("RUN_A", run_a), ("RUN_B", run_b)):
        try:
            runs.append(load_run(path))
        except NotARun as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from None
    a, b = runs
    table = rows(a, b)
    print_table(Console(), a, b, table)
    try:
        out = fresh(out_root / f"compare-{a.label}-vs-{b.label}-{stamp()}")
    except OSError as exc:
        raise click.BadParameter(
            f"{out_root}: {exc.strerror or exc}", param_hint="'--out'"
        ) from None
    write_compare(out, a, b, table)
    click.echo(f"comparison: {out}")  # plain: a long path must survive copy and paste
