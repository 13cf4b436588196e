"""The chart of ``ringlab compare``: two runs' ring-stop latency CDFs on one set of axes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.ticker import FuncFormatter

from .metrics import RingStopSample
from .plot import empty, plt, save

#: One colour per run (A, B): the run is what the eye compares first.
COLORS = ("#4c78a8", "#f58518")
#: One line style per role, alike in both runs.
STYLES = (("acceptor", "-"), ("other", "--"))
#: The lowest latency a log axis shows (ms): an optimistic console stops at the click
#: itself, and 0 has no place on a log axis.
LOG_FLOOR_MS = 0.001
#: Spread (max / min) beyond which the axis turns logarithmic: a clean run's
#: sub-millisecond stops beside a lossy link's seconds are otherwise one vertical line.
LOG_SPREAD = 20.0


def ring_stop_cdf_compare(runs: Sequence[tuple[str, Sequence[RingStopSample]]], path: Path) -> Path:
    """Ring-stop latency CDFs of two runs overlaid: a colour per run, a line style per role.

    ``runs`` is (label, samples) per run, A first. The x axis is in milliseconds, log
    scale when the latencies span more than a factor of :data:`LOG_SPREAD`.
    """
    lines: list[tuple[str, str, str, list[float]]] = []
    for (label, samples), color in zip(runs, COLORS, strict=False):
        for role, style in STYLES:
            values = sorted(s.latency * 1000 for s in samples if s.role == role)
            if values:
                name = "acceptor" if role == "acceptor" else "others"
                lines.append((f"{label}, {name} (n={len(values)})", color, style, values))
    every = [v for *_, values in lines for v in values]
    positive = [v for v in every if v > 0]
    log = bool(positive) and max(positive) / min(positive) > LOG_SPREAD
    clipped = log and any(v < LOG_FLOOR_MS for v in every)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for text, color, style, values in lines:
        xs = [max(v, LOG_FLOOR_MS) for v in values] if log else values
        ys = [0.0] + [(i + 1) / len(xs) for i in range(len(xs))]
        ax.step([xs[0], *xs], ys, where="post", color=color, linestyle=style, label=text)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))  # 0.1, not 10⁻¹
    ax.set_title("Ring-stop latency, two runs: how long consoles kept ringing")
    ax.set_xlabel(
        "ring-stop latency (ms"
        + (", log scale" if log else "")
        + ("; 0 drawn at 1 µs" if clipped else "")
        + ")"
    )
    ax.set_ylabel("fraction of rings stopped")
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    if lines:
        ax.legend(loc="best", fontsize=8)
    else:
        empty(ax, "no rings in either run")
    return save(fig, path)
