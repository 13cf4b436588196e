"""Sweeps and seed sweeps: ``sweep.json``, ``seeds.json``, ``junit.xml`` and the sweep chart.

A sweep point is one run, or one run per seed (``--seeds`` on a file with a
``[sweep]``). With seeds, each point is summed up by the median across seeds and
the spread (min / p95 / max), and the chart draws the median with the spread as a
band, so one noisy seed cannot pass for a trend.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario import Loaded
from .metrics import Metrics, percentile
from .results import SeedResult, distribution, pass_rate


@dataclass(frozen=True)
class Point:
    """One point of a sweep: the swept keys with their values, and its runs (one a seed)."""

    values: dict[str, Any]
    runs: list[SeedResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    def median(self) -> Metrics:
        """Every metric's median (p50) across the runs: the point's typical run."""
        spread = distribution(self.runs)
        return {name: row["p50"] for name, row in spread.items()}


def labels(keys: Sequence[str]) -> dict[str, str]:
    """Short labels for swept keys that still tell them apart: the last two parts
    (``up.loss``), more while two keys share them. Tables and file names use them;
    the full keys are printed once beside."""
    out = {}
    for key in keys:
        parts = key.split(".")
        n = min(2, len(parts))
        while n < len(parts) and any(
            other != key and other.split(".")[-n:] == parts[-n:] for other in keys
        ):
            n += 1
        out[key] = ".".join(parts[-n:])
    return out


def point_label(values: dict[str, Any]) -> str:
    """``up.loss=0.05, op.latency=200ms``."""
    short = labels(list(values))
    return ", ".join(f"{short[k]}={v}" for k, v in values.items())


def write_sweep(out: Path, name: str, points: Sequence[Point], *, seeded: bool) -> Path:
    """``sweep.json`` (a row per point), the chart and, with seeds, ``junit.xml``;
    returns the chart's path."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for p in points:
        row: dict[str, Any] = {
            "point": p.values,
            "passed": p.passed,
            "metrics": p.median() if seeded else p.runs[0].metrics,
        }
        if seeded:  # the metrics above are each one's median across seeds
            row["pass_rate"] = pass_rate(p.runs)
            row["distribution"] = distribution(p.runs)
            row["seeds"] = [
                {"seed": r.seed, "passed": r.passed, "failed": r.failed, "metrics": r.metrics}
                for r in p.runs
            ]
        rows.append(row)
    (out / "sweep.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    if seeded:
        write_junit(out / "junit.xml", name, points)
    return sweep_chart(points, name, out / "sweep.png", seeded=seeded)


def write_junit(path: Path, name: str, points: Sequence[Point]) -> None:
    """One testcase per (sweep point, seed, expectation), so CI counts every seed."""
    cases = [
        (p, r, c)
        for p in points
        for r in p.runs
        for c in r.checks  # a run with no expectations has no case
    ]
    suite = ET.Element(
        "testsuite",
        name=f"ringlab.{name}",
        tests=str(len(cases)),
        failures=str(sum(not c.passed for _, _, c in cases)),
    )
    for p, r, c in cases:
        where = f"{point_label(p.values)}, " if p.values else ""
        case = ET.SubElement(
            suite, "testcase", classname=f"ringlab.{name}", name=f"{where}seed {r.seed}: {c.expect}"
        )
        if not c.passed:
            failure = ET.SubElement(case, "failure", message=str(c))
            failure.text = f"expected {c.expect}, measured {c.value}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


#: The chart's panels: a metric family, its title, the statistics drawn.
PANELS = (
    ("ring_stop.acceptor", "ring stop, acceptor", ("p50", "p95", "max")),
    ("ring_stop.others", "ring stop, other consoles", ("p50", "p95", "max")),
    ("ring_overrun", "ring overrun (any console, after the click)", ("p95", "max")),
)


def sweep_chart(points: Sequence[Point], title: str, path: Path, *, seeded: bool) -> Path:
    """Ring-stop latency and ring overrun against the first swept key, one line per
    statistic (and per value of a second key). With seeds: each point's median across
    seeds, the band from the lowest to the highest seed."""
    import matplotlib  # here, not at the top: `ringlab run` loads it only to draw

    matplotlib.use("Agg")  # files only: no display on CI machines
    import matplotlib.pyplot as plt

    keys = list(points[0].values) if points else []
    short = labels(keys)
    x_key = keys[0] if keys else ""
    series_key = keys[1] if len(keys) > 1 else None
    xs_raw = _distinct(p.values.get(x_key) for p in points)  # lists are values too
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs_raw)

    def position(x: Any) -> float:  # strings (profiles, policies) are categories
        return float(x) if numeric else float(xs_raw.index(x))

    fig, axes = plt.subplots(1, len(PANELS), figsize=(15, 4.4), dpi=100)
    for ax, (family, panel_title, stats) in zip(axes, PANELS, strict=True):
        series = _distinct(p.values.get(series_key or "") for p in points)
        for value in series:
            rows = [p for p in points if series_key is None or p.values[series_key] == value]
            # with seeds, the max of each run is as noisy as it gets: p50 and p95 say enough
            for stat in stats if not seeded else stats[:2]:
                _line(
                    ax, rows, f"{family}.{stat}", x_key, position, seeded, stat, series_key, value
                )
        if not ax.lines:
            ax.text(0.5, 0.5, "no data in these runs", ha="center", transform=ax.transAxes)
        ax.set_title(panel_title)
        ax.set_xlabel(short.get(x_key, x_key))
        ax.set_ylabel("ms")
        ax.grid(True, alpha=0.3)
        if not numeric:
            ax.set_xticks([position(x) for x in xs_raw], [str(x) for x in xs_raw])
        if ax.lines:
            ax.legend(fontsize=8)
    runs = len(points[0].runs) if points else 0
    per_point = f", {runs} seeds a point (line: median; band: min to max)" if seeded else ""
    fig.suptitle(f"{title}: ring stops against {x_key}{per_point}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _distinct(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _line(
    ax: Any,
    rows: Sequence[Point],
    metric: str,
    x_key: str,
    position: Callable[[Any], float],
    seeded: bool,
    stat: str,
    series_key: str | None,
    series: Any,
) -> None:
    xs, mid, low, high = [], [], [], []
    for p in rows:
        values = [v * 1000 for r in p.runs if (v := r.metrics.get(metric)) is not None]
        if not values:
            continue
        xs.append(position(p.values.get(x_key)))
        mid.append(percentile(values, 50) or 0.0)
        low.append(min(values))
        high.append(max(values))
    if not xs:
        return
    name = (
        stat
        if series_key is None
        else f"{stat}, {labels([x_key, series_key])[series_key]}={series}"
    )
    (line,) = ax.plot(xs, mid, "-o" if stat == "p50" else "-s" if stat == "p95" else ":^")
    line.set_label(name)
    if seeded and not all(math.isclose(a, b) for a, b in zip(low, high, strict=True)):
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.15, linewidth=0)


def write_seeds(
    document: Path,
    loaded: Loaded,
    path: str,
    seeds: list[int],
    results: list[SeedResult],
    replay_of: Callable[[SeedResult], str],
) -> None:
    """``seeds.json``: every seed's metrics and verdict, the spread, the failures."""
    data = {
        "scenario": loaded.scenario.name,
        "file": path,
        "seeds": seeds,
        "distribution": distribution(results),
        "failed": [
            {"seed": r.seed, "failed": r.failed, "replay": replay_of(r)}
            for r in results
            if not r.passed
        ],
        "runs": [{"seed": r.seed, "passed": r.passed, "metrics": r.metrics} for r in results],
    }
    document.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
