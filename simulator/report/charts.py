"""Charts as PNG files (matplotlib, no display), titled and labelled with units.

Each chart is a pure function of what the checks computed from the event log,
so ``ringlab report`` draws the same pictures again later. The ring timeline is in
:mod:`.timeline`, the load and fault band in :mod:`.load`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from ..record import events as ev
from .metrics import RingStopSample, percentile
from .plot import PARTS, plt
from .plot import empty as _empty
from .plot import save as _save

__all__ = ["PARTS", "attribution_figure", "latency_attribution", "ring_stop_cdf"]


def ring_stop_cdf(
    samples: Sequence[RingStopSample], who: dict[str, ev.ActorInfo], path: Path
) -> Path:
    """Cumulative distribution of ring-stop latency, one line per operator link and role."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    lines: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        info = who.get(s.operator)
        where = f"{info.group} on {info.link}" if info else s.operator
        lines[f"{where}, {'acceptor' if s.role == 'acceptor' else 'others'}"].append(
            s.latency * 1000
        )
    for label, values in sorted(lines.items()):
        values.sort()
        ys = [0.0] + [(i + 1) / len(values) for i in range(len(values))]
        ax.step([values[0], *values], ys, where="post", label=f"{label} (n={len(values)})")
    ax.set_title("Ring-stop latency: how long consoles kept ringing after they should have stopped")
    ax.set_xlabel("ring-stop latency (ms)")
    ax.set_ylabel("fraction of rings stopped")
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    if lines:
        ax.legend(loc="lower right", fontsize=8)
    else:
        _empty(ax, "no rings in this run")
    return _save(fig, path)


def attribution_figure(
    samples: Sequence[RingStopSample],
    call: Callable[[str], str] = str,
    name: Callable[[str], str] = str,
) -> Figure:
    """The attribution chart as a figure (see :func:`latency_attribution`); ``call`` and
    ``name`` label each bar with the call and the console it measured."""
    rows: list[tuple[str, RingStopSample]] = []
    for role, title in (("acceptor", "acceptor"), ("other", "others")):
        chosen = sorted((s for s in samples if s.role == role), key=lambda s: s.latency)
        if not chosen:
            continue
        for label, p in (("p50", 50.0), ("p95", 95.0), ("max", 100.0)):
            value = percentile([s.latency for s in chosen], p)
            sample = next(s for s in chosen if s.latency == value)
            rows.append((f"{title} {label}: {call(sample.call)}, {name(sample.operator)}", sample))
    fig, ax = plt.subplots(figsize=(9, 2.1 + 0.45 * max(1, len(rows))), dpi=100)
    ax.set_title("Ring-stop latency attribution: where the time went (measured rings)")
    if not rows:
        _empty(ax, "no ring stops in this run")
        ax.set_axis_off()
        fig.tight_layout()
        return fig
    used: set[str] = set()
    for y, (_, s) in enumerate(rows):
        left = 0.0
        if s.uplink is None or s.server is None or s.downlink is None:
            label = "console (no server round trip)"
            ax.barh(y, s.latency * 1000, color="#9d9d9d", label=_once(label, used))
        else:
            for part, colour in PARTS:
                width = getattr(s, part) * 1000
                ax.barh(y, width, left=left, color=colour, label=_once(part, used))
                left += width
        ax.plot([s.floor * 1000], [y], "k|", markersize=18, mew=2, label=_once("link floor", used))
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ring-stop latency (ms)")
    ax.grid(True, axis="x", alpha=0.3)
    # below the axes, never over them: the longest bar is the one that matters
    fig.legend(loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07 if len(rows) > 3 else 0.14, 1, 1))
    return fig


def latency_attribution(
    samples: Sequence[RingStopSample],
    path: Path,
    call: Callable[[str], str] = str,
    name: Callable[[str], str] = str,
) -> Path:
    """Where ring-stop latency goes: the measured ring stops at p50, p95 and max of each
    role, split into uplink / server / downlink, beside the link floor (legend below)."""
    fig = attribution_figure(samples, call, name)
    fig.savefig(path)
    plt.close(fig)
    return path


def _once(label: str, used: set[str]) -> str:
    """A legend label the first time, hidden after."""
    if label in used:
        return "_nolegend_"
    used.add(label)
    return label
