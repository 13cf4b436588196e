"""The ring timeline: swimlanes of the calls that rang longest after Accept, with why.

One panel per call, one lane per console: its ringing, the Accept clicks (the
winner's apart from the losers'), the server's decision, each stop, and what the
report's explanations name: retransmission stalls as short hatched spans (uplink
above the ring, downlink below), the path down shaded, the scenario's faults dashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes

from ..scenario.metric_names import seconds
from .causes import Story
from .findings import hits
from .index import Index
from .labels import Labels
from .plot import FAULT, OUTAGE, PARTS, RINGING, empty, plt, save

#: Calls drawn: the worst few, so each lane stays readable.
CALLS = 4
#: Lanes per call at most (a call can ring at hundreds of consoles).
LANES = 8


def ring_timeline(
    index: Index, stories: Sequence[Story], labels: Labels, path: Path, calls: int = CALLS
) -> Path:
    """Swimlanes of the ``calls`` worst calls of ``stories`` (the order the report
    explains them in), in seconds from the visitor's call."""
    chosen = list(stories[:calls])
    lanes = [min(LANES, len(index.consoles.get(s.call, ()))) or 1 for s in chosen] or [1]
    heights = [0.9 + 0.32 * n for n in lanes]  # inches: a lane stays a lane's height
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(9, 1.3 + sum(heights)),
        dpi=100,
        gridspec_kw={"height_ratios": heights},
    )
    axes_list = list(axes) if len(chosen) > 1 else [axes]
    if not chosen:
        axes_list[0].set_title("Ring timeline")
        empty(axes_list[0], "no console rang after Accept in this run")
        axes_list[0].set_axis_off()
        return save(fig, path)
    for ax, story in zip(axes_list, chosen, strict=True):
        left_out = _lanes(ax, story.call, index, labels)
        more = f" ({left_out} more consoles not drawn)" if left_out else ""
        ax.set_title(
            f"{labels.sentence(story.call)}: a console rang {seconds(story.worst)} after Accept"
            + more,
            fontsize=9,
        )
    axes_list[-1].set_xlabel("time since the visitor's call (s)")
    legend: dict[str, Any] = {}  # one entry per kind, however many lanes drew it
    for ax in axes_list:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=5, fontsize=8)
    fig.suptitle("Ring timeline of the calls that rang longest after Accept (a lane per console)")
    rows = (len(legend) + 4) // 5
    # room for the legend's rows, in inches whatever the figure's height
    fig.tight_layout(rect=(0, (0.1 + 0.22 * rows) / fig.get_figheight(), 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def _lanes(ax: Axes, call: str, index: Index, labels: Labels) -> int:
    """One call's lanes: the winner first, then those who clicked, then the consoles
    that stopped last; at most :data:`LANES`. Returns how many consoles it left out."""
    winner = index.winner.get(call, ("", 0.0))[0]
    every = index.consoles.get(call, [])

    def last_stop(op: str) -> float:
        return max((index.end if e is None else e for _, e in index.rings.get((call, op), [])))

    ops = sorted(
        every,
        key=lambda op: (op != winner, (call, op) not in index.clicks, -last_stop(op), op),
    )[:LANES]
    windows = [w for op in ops for w in index.rings.get((call, op), [])]
    placed = index.placed.get(call)
    base = placed[0] if placed else min(start for start, _ in windows)
    ends = [index.end if stop is None else stop for _, stop in windows]
    ends += [t for op in ops for t in (index.decided.get((call, op)),) if t is not None]
    lo, hi = base, max([base, *ends]) + 0.5
    for y, op in enumerate(ops):
        rings = [
            (start - base, (index.end if stop is None else stop) - start)
            for start, stop in index.rings.get((call, op), [])
        ]
        # one artist per kind and lane: a long call's many spans draw in one go
        ax.broken_barh(rings, (y - 0.23, 0.46), color=RINGING, label="ringing")
        stops = [stop - base for _, stop in index.rings.get((call, op), []) if stop is not None]
        ax.plot(stops, [y] * len(stops), "x", color="#1d2330", ms=8, ls="", label="ring stopped")
        click = index.clicks.get((call, op))
        if click is not None:
            won = op == winner
            ax.plot(
                click - base,
                y,
                "*" if won else "v",
                color="#1e8e3e" if won else "#5f6368",
                markersize=12 if won else 8,
                label="Accept clicked, won" if won else "Accept clicked, lost",
                ls="",
            )
        decided = index.decided.get((call, op))
        if decided is not None:
            x, colour = decided - base, PARTS[1][1]
            ax.plot(x, y, "|", color=colour, markersize=14, label="server decided")
        _causes(ax, y, op, index, lo, hi, base)
    names = [labels.name(op) + (" (won)" if op == winner else "") for op in ops]
    ax.set_yticks(range(len(ops)), names, fontsize=8)
    ax.set_ylim(len(ops) - 0.3, -0.7)  # the winner's lane on top
    ax.set_xlim(min(0.0, lo - base) - 0.2, hi - base)
    ax.grid(True, axis="x", alpha=0.3)
    return len(every) - len(ops)


def _causes(ax: Axes, y: int, op: str, index: Index, lo: float, hi: float, base: float) -> None:
    """A lane's stalls (hatched, uplink above the ring, downlink below), outages
    (shaded) and faults (dashed), within [lo, hi]."""
    spans = index.stalls.get(op)
    found = spans.overlapping(lo, hi) if spans else []
    for direction, offset, colour, hatch in (
        # the lanes run top to bottom (y grows downwards): above the ring is y - 0.34
        ("up", -0.34, PARTS[0][1], "////"),
        ("down", 0.34, PARTS[2][1], "\\\\"),
    ):
        # a stall of a few ms stays visible
        xs = [(t - base, max(n, (hi - lo) * 0.004)) for t, n, (d, _) in found if d == direction]
        if xs:
            ax.broken_barh(
                xs,
                (y + offset - 0.09, 0.18),
                facecolor="none",
                edgecolor=colour,
                hatch=hatch,
                lw=0.8,
                label=f"{'uplink' if direction == 'up' else 'downlink'} retransmission stall",
            )
    downs = index.downs.get(op)
    shaded = [(t - base, n) for t, n, _ in (downs.overlapping(lo, hi) if downs else [])]
    if shaded:
        ax.broken_barh(shaded, (y - 0.48, 0.96), color=OUTAGE, alpha=0.35, label="path down")
    info = index.who.get(op)
    for fault in index.faults:
        if lo <= fault.t <= hi and hits(fault, info):
            x = fault.t - base
            ax.plot([x, x], [y - 0.48, y + 0.48], "--", color=FAULT, lw=1.2, label="fault applied")
