"""Charts as PNG files (matplotlib, no display), titled and labelled with units."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines
import matplotlib.pyplot as plt

from ..checks import RingStopSample


def ring_stop_cdf(samples: list[RingStopSample], names: dict[str, str], path: Path) -> Path:
    """Cumulative distribution of ring-stop latency, one line per console (operator)."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    by_console: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        by_console[f"{names.get(s.operator, s.operator)} ({s.role})"].append(s.latency * 1000)
    for label, values in sorted(by_console.items()):
        values.sort()
        ys = [0.0] + [(i + 1) / len(values) for i in range(len(values))]
        ax.step([values[0], *values], ys, where="post", label=f"{label}, n={len(values)}")
    ax.set_title(
        "Ring-stop latency: how long each console kept ringing after it should have stopped"
    )
    ax.set_xlabel("ring-stop latency (ms)")
    ax.set_ylabel("fraction of rings stopped")
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    if by_console:
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no rings in this run", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
