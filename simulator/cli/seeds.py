"""Seed sweeps (``--seeds``): one scenario under many seeds (at every point of its sweep,
if it has one), in parallel processes, on the virtual clock.

Each seed is a complete, deterministic run of the scenario as loaded and validated once;
what comes back is its metrics and checks (:mod:`simulator.report.results`), which the
tables and ``seeds.json`` sum up.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..play.runner import run
from ..report.metrics import metrics
from ..report.results import SeedResult, checks
from ..scenario import Loaded, with_seed


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


def run_seed(loaded: Loaded, seed: int) -> SeedResult:
    """One seed of a scenario (of one sweep point), start to end (in a worker process)."""
    values = metrics(run(with_seed(loaded, seed)).events)
    return SeedResult(seed, values, checks(loaded.expectations, values), dict(loaded.point))


def run_many(
    tasks: Sequence[tuple[Loaded, int]],
    jobs: int,
    done: Callable[[SeedResult], None] = lambda result: None,
) -> list[SeedResult]:
    """Every (run, seed): a run is a scenario loaded and validated once, or one point of
    its sweep. ``jobs`` at a time in worker processes; results in the order of ``tasks``.
    One pool for every point: the last point's seeds do not wait for the first point's
    slowest."""
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for loaded, seed in tasks:
            results.append(run_seed(loaded, seed))
            done(results[-1])
        return results
    # spawn, not fork: the parent runs rich's refresh thread, and forking threads is unsafe
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        futures = {pool.submit(run_seed, loaded, seed): i for i, (loaded, seed) in enumerate(tasks)}
        finished: dict[int, SeedResult] = {}
        for future in as_completed(futures):
            finished[futures[future]] = future.result()
            done(finished[futures[future]])
    return [finished[i] for i in range(len(tasks))]


def default_jobs() -> int:
    """One worker per CPU."""
    return max(1, os.cpu_count() or 1)
