"""Seed sweeps: one scenario under many seeds (at every point of its sweep, if it has
one), in parallel processes, on the virtual clock.

Each seed is a complete, deterministic run; what comes back is its metrics and
verdicts. The sweep reports how every metric is distributed across seeds and
every seed that failed an expectation, with the one command that replays it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shlex
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from .checks import Metrics, metrics, percentile, verdicts
from .metric_names import show
from .runner import run
from .scenario import Expectation, load


def parse_seeds(text: str) -> list[int]:
    """``"1..200"``, ``"3,7,9"`` or ``"5"``; raises ValueError with what was expected."""
    seeds: list[int] = []
    for part in text.split(","):
        low, sep, high = part.strip().partition("..")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise ValueError(f'expected seeds such as "1..200" or "3,7,9", got {text!r}') from None
        if last < first:
            raise ValueError(f"{part.strip()!r}: the range ends before it starts")
        seeds.extend(range(first, last + 1))
    return sorted(set(seeds))


@dataclass(frozen=True)
class Check:
    """One expectation of one run: as written, what was measured, whether it held."""

    expect: str  # Expectation.describe(): "ring_stop.acceptor.p95 < 1s"
    metric: str
    value: float | None
    passed: bool

    def __str__(self) -> str:
        return f"{self.expect} (got {show(self.metric, self.value)})"


def checks(expectations: Sequence[Expectation], values: Metrics) -> list[Check]:
    """Every expectation against a run's metrics."""
    return [
        Check(v.expectation.describe(), v.expectation.metric, v.value, v.passed)
        for v in verdicts(expectations, values)
    ]


@dataclass(frozen=True)
class SeedResult:
    """One run of a seed sweep (or of a sweep point): its metrics and expectations."""

    seed: int
    metrics: Metrics
    checks: list[Check]
    point: dict[str, Any] = field(default_factory=dict)  # the sweep point, if a sweep

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """The expectations that did not hold, as "metric op value (got x)"."""
        return [str(c) for c in self.checks if not c.passed]


def run_seed(
    path: str, overrides: dict[str, Any], seed: int, point: dict[str, Any] | None = None
) -> SeedResult:
    """One seed of a scenario (at one sweep point), start to end (in a worker process)."""
    loaded = load(path, {**overrides, **(point or {}), "sweep": {}, "seed": seed})
    values = metrics(run(loaded).events)
    return SeedResult(seed, values, checks(loaded.expectations, values), dict(point or {}))


def run_many(
    path: str,
    overrides: dict[str, Any],
    tasks: Sequence[tuple[dict[str, Any], int]],
    jobs: int,
    done: Callable[[SeedResult], None] = lambda result: None,
) -> list[SeedResult]:
    """Every (sweep point, seed), ``jobs`` at a time in worker processes; results in the
    order of ``tasks``. One pool for every point: the last point's seeds do not wait for
    the first point's slowest."""
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for point, seed in tasks:
            results.append(run_seed(path, overrides, seed, point))
            done(results[-1])
        return results
    # spawn, not fork: the parent runs rich's refresh thread, and forking threads is unsafe
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        futures = {
            pool.submit(run_seed, path, overrides, seed, point): i
            for i, (point, seed) in enumerate(tasks)
        }
        finished: dict[int, SeedResult] = {}
        for future in as_completed(futures):
            finished[futures[future]] = future.result()
            done(finished[futures[future]])
    return [finished[i] for i in range(len(tasks))]


def distribution(results: Sequence[SeedResult]) -> dict[str, dict[str, float | None]]:
    """Per metric, across seeds: min, p50, p95, max (seeds where it had no data left out)."""
    names = sorted({name for r in results for name in r.metrics})
    out = {}
    for name in names:
        values = [v for r in results if (v := r.metrics.get(name)) is not None]
        out[name] = {
            "seeds": float(len(values)),
            "min": min(values) if values else None,
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "max": max(values) if values else None,
        }
    return out


def replay_command(
    path: str,
    sets: Sequence[str],
    seed: int,
    out: str | None = None,
    point: dict[str, Any] | None = None,
    clock: str | None = None,
) -> str:
    """The one command that replays a seed exactly, with its full report.

    ``sets``: the ``--set`` options of the sweep, as given; ``out``: its ``--out``, when
    one was given; ``point``: the sweep point, pinned by a ``--set`` of each swept key
    (which takes the key out of the sweep); ``clock``: its ``--clock``, when one was given
    (a file that says ``real`` runs virtual only with it).
    """
    options = [f"--set {shlex.quote(text)}" for text in sets]
    options += [f"--set {shlex.quote(f'{k}={toml_value(v)}')}" for k, v in (point or {}).items()]
    if clock is not None:
        options.append(f"--clock {clock}")
    if out is not None:
        options.append(f"--out {shlex.quote(out)}")
    return " ".join(["ringlab run", shlex.quote(path), f"--seed {seed}", *options])


def toml_value(value: Any) -> str:
    """A value as ``--set`` reads it back (TOML): ``0.05``, ``"3g"``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def pass_rate(results: Sequence[SeedResult]) -> str:
    """``18/20 (90%)``."""
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} ({passed / len(results):.0%})" if results else "-"


def default_jobs() -> int:
    """One worker per CPU."""
    return max(1, os.cpu_count() or 1)
