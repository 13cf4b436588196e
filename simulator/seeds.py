"""Seed sweeps: one scenario under many seeds, in parallel processes, on the virtual clock.

Each seed is a complete, deterministic run; what comes back is its metrics and
verdicts. The sweep reports how every metric is distributed across seeds and
every seed that failed an expectation, with the one command that replays it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shlex
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from .checks import Metrics, metrics, percentile, verdicts
from .runner import run
from .scenario import load


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
class SeedResult:
    seed: int
    metrics: Metrics
    failed: list[str]  # the expectations that did not hold, as "metric op value (got x)"

    @property
    def passed(self) -> bool:
        return not self.failed


def run_seed(path: str, overrides: dict[str, Any], seed: int) -> SeedResult:
    """One seed of a scenario, start to end (in a worker process)."""
    loaded = load(path, {**overrides, "seed": seed})
    values = metrics(run(loaded).events)
    failed = [
        f"{v.expectation} (got {'no data' if v.value is None else f'{v.value:.4g}'})"
        for v in verdicts(loaded.expectations, values)
        if not v.passed
    ]
    return SeedResult(seed, values, failed)


def sweep_seeds(
    path: str,
    overrides: dict[str, Any],
    seeds: Sequence[int],
    jobs: int,
    done: Callable[[SeedResult], None] = lambda result: None,
) -> list[SeedResult]:
    """Every seed, ``jobs`` at a time in worker processes; results in seed order."""
    if jobs <= 1:
        results = []
        for seed in seeds:
            results.append(run_seed(path, overrides, seed))
            done(results[-1])
        return results
    # spawn, not fork: the parent runs rich's refresh thread, and forking threads is unsafe
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_seed, path, overrides, seed) for seed in seeds]
        results = []
        for future in as_completed(futures):
            results.append(future.result())
            done(results[-1])
    return sorted(results, key=lambda r: r.seed)


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


def replay_command(path: str, sets: Sequence[str], seed: int) -> str:
    """The one command that replays a seed exactly, with its full report (``sets``: the
    ``--set`` options of the sweep, as given)."""
    options = [f"--set {shlex.quote(text)}" for text in sets]
    return " ".join(["ringlab run", shlex.quote(path), f"--seed {seed}", *options])


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)
