"""What runs came to, in brief: each expectation checked, a run's metrics with its checks,
and each metric's spread across the seeds of a seed sweep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..scenario import Expectation
from ..scenario.metric_names import show
from .metrics import Metrics, percentile, verdicts


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


def pass_rate(results: Sequence[SeedResult]) -> str:
    """``18/20 (90%)``."""
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} ({passed / len(results):.0%})" if results else "-"
