"""Charts as PNG files (matplotlib, no display), titled and labelled with units.

Each chart is a pure function of what the checks computed from the event log,
so ``ringlab report`` draws the same pictures again later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import events as ev
from ..checks import RingStopSample, actors, percentile, ring_overruns

#: Colours of the latency parts, used alike in every chart.
PARTS = (("uplink", "#4c78a8"), ("server", "#f58518"), ("downlink", "#54a24b"))


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


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


def ring_timeline(events: Sequence[ev.Event], path: Path, calls: int = 4) -> Path:
    """Swimlanes of the calls with the longest ring overrun: every console's ringing as a
    bar, the Accept click, the server's accept and each ring stop, in seconds from the
    call being placed."""
    who = actors(events)
    overruns = ring_overruns(events)
    chosen = sorted(overruns, key=lambda c: (-overruns[c], c))[:calls]
    placed = {e.call: e.t for e in events if isinstance(e, ev.CallPlaced)}
    fig, axes = plt.subplots(
        max(1, len(chosen)), 1, figsize=(9, 1.2 + 1.6 * max(1, len(chosen))), dpi=100
    )
    axes_list = list(axes) if len(chosen) > 1 else [axes]
    if not chosen:
        axes_list[0].set_title("Ring timeline")
        _empty(axes_list[0], "no accepted calls in this run")
        axes_list[0].set_axis_off()
        return _save(fig, path)
    for ax, call in zip(axes_list, chosen, strict=True):
        _timeline_of(ax, call, events, who, placed.get(call))
        ax.set_title(
            f"call {call}: consoles still ringing {overruns[call] * 1000:.0f} ms after Accept",
            fontsize=9,
        )
    axes_list[-1].set_xlabel("time since the visitor's call (s)")
    legend: dict[str, Any] = {}  # one entry per kind, however many lanes drew it
    for ax in axes_list:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=4, fontsize=8)
    fig.suptitle("Ring timeline of the calls that rang longest after Accept (swimlane per console)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def _timeline_of(
    ax: Axes, call: str, events: Sequence[ev.Event], who: dict[str, ev.ActorInfo], t0: float | None
) -> None:
    """One call's lanes: a row per console that rang for it."""
    lanes: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for e in events:
        if getattr(e, "call", None) != call:
            continue
        if isinstance(e, ev.RingStart):
            lanes[e.operator]["start"].append(e.t)
        elif isinstance(e, ev.RingStop):
            lanes[e.operator]["stop"].append(e.t)
        elif isinstance(e, ev.ClickAccept):
            lanes[e.operator]["click"].append(e.t)
        elif isinstance(e, ev.ServerDecision):
            lanes[e.operator]["decision"].append(e.t)
    base = t0 if t0 is not None else min(min(v) for lane in lanes.values() for v in lane.values())
    names = sorted(lanes, key=lambda op: who[op].name if op in who else op)
    for y, op in enumerate(names):
        lane = lanes[op]
        for start, stop in zip(lane["start"], lane["stop"] or [float("nan")], strict=False):
            ax.barh(
                y, stop - start, left=start - base, height=0.5, color="#e45756", label="ringing"
            )
        for key, marker, colour, label in (
            ("click", "v", "#1d2330", "Accept clicked"),
            ("decision", "|", "#f58518", "server decided"),
            ("stop", "x", "#1d2330", "ring stopped"),
        ):
            xs = [t - base for t in lane[key]]
            ax.plot(xs, [y] * len(xs), marker, color=colour, markersize=9, label=label, ls="")
    ax.set_yticks(range(len(names)), [who[o].name if o in who else o for o in names], fontsize=8)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
    ax.grid(True, axis="x", alpha=0.3)


def latency_attribution(samples: Sequence[RingStopSample], path: Path) -> Path:
    """Where ring-stop latency goes: the measured ring stops at p50, p95 and max of each
    role, split into uplink / server / downlink, beside the link floor."""
    rows: list[tuple[str, RingStopSample]] = []
    for role, title in (("acceptor", "acceptor"), ("other", "others")):
        chosen = sorted((s for s in samples if s.role == role), key=lambda s: s.latency)
        if not chosen:
            continue
        for label, p in (("p50", 50.0), ("p95", 95.0), ("max", 100.0)):
            value = percentile([s.latency for s in chosen], p)
            rows.append((f"{title} {label}", next(s for s in chosen if s.latency == value)))
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.45 * max(1, len(rows))), dpi=100)
    ax.set_title("Ring-stop latency attribution: where the time went (measured rings)")
    if not rows:
        _empty(ax, "no ring stops in this run")
        ax.set_axis_off()
        return _save(fig, path)
    used: set[str] = set()
    for y, (_, s) in enumerate(rows):
        left = 0.0
        if s.uplink is None or s.server is None or s.downlink is None:
            ax.barh(y, s.latency * 1000, color="#9d9d9d", label="console (no server round trip)")
            used.add("console")
        else:
            for name, colour in PARTS:
                width = getattr(s, name) * 1000
                ax.barh(
                    y,
                    width,
                    left=left,
                    color=colour,
                    label=name if name not in used else "_nolegend_",
                )
                used.add(name)
                left += width
        floor_label = "link floor" if "floor" not in used else "_nolegend_"
        ax.plot([s.floor * 1000], [y], "k|", markersize=18, mew=2, label=floor_label)
        used.add("floor")
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("ring-stop latency (ms)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def concurrency(events: Sequence[ev.Event], duration: float, path: Path) -> Path:
    """Calls waiting, consoles ringing and chats open over the run, with the faults marked."""
    operators = {a.actor for a in actors(events).values() if a.role == "operator"}
    changes: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for e in events:
        if isinstance(e, ev.CallPlaced):
            changes["calls waiting for an answer"].append((e.t, 1))
        elif isinstance(e, ev.CallEnded):
            changes["calls waiting for an answer"].append((e.t, -1))
        elif isinstance(e, ev.RingStart):
            changes["consoles ringing"].append((e.t, 1))
        elif isinstance(e, ev.RingStop):
            changes["consoles ringing"].append((e.t, -1))
        elif isinstance(e, ev.RoomJoined) and e.role == "operator":
            changes["chats open on consoles"].append((e.t, 1))
        elif isinstance(e, ev.RoomLeft) and e.actor in operators:
            changes["chats open on consoles"].append((e.t, -1))
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    for label, steps in sorted(changes.items()):
        steps.sort()
        xs, ys, level = [0.0], [0], 0
        for t, delta in steps:
            level = max(0, level + delta)
            xs.append(t)
            ys.append(level)
        xs.append(max(duration, xs[-1]))
        ys.append(level)
        ax.step(xs, ys, where="post", label=label)
    for fault in (e for e in events if isinstance(e, ev.FaultApplied)):
        ax.axvline(fault.t, color="#b3261e", ls="--", alpha=0.6)
        ax.annotate(
            fault.action if fault.target == "server" else f"{fault.action} {fault.target}",
            (fault.t, 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color="#b3261e",
        )
    ax.set_title("Load over the run: calls, rings and chats at each moment (faults dashed)")
    ax.set_xlabel("time since the run started (s)")
    ax.set_ylabel("how many at once")
    ax.grid(True, alpha=0.3)
    if changes:
        ax.legend(loc="upper left", fontsize=8)
    else:
        _empty(ax, "no calls in this run")
    return _save(fig, path)


def sweep_chart(
    points: Sequence[tuple[dict[str, Any], dict[str, float | None]]], title: str, path: Path
) -> Path:
    """Ring-stop latency p50 / p95 / max against the swept parameter (one panel per role;
    with two swept keys, one line per value of the second)."""
    keys = list(points[0][0]) if points else []
    x_key = keys[0] if keys else "point"
    series_key = keys[1] if len(keys) > 1 else None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100, sharey=False)
    for ax, role, label in zip(axes, ("acceptor", "others"), ("acceptor", "others"), strict=True):
        groups: dict[Any, list[tuple[Any, dict[str, float | None]]]] = defaultdict(list)
        for point, values in points:
            groups[point.get(series_key) if series_key else None].append((point[x_key], values))
        for series, rows in groups.items():
            for stat, style in (("p50", "-o"), ("p95", "-s"), ("max", ":^")):
                xs = [x for x, v in rows if v.get(f"ring_stop.{role}.{stat}") is not None]
                ys = [
                    (v[f"ring_stop.{role}.{stat}"] or 0.0) * 1000
                    for _, v in rows
                    if v.get(f"ring_stop.{role}.{stat}") is not None
                ]
                name = stat if series_key is None else f"{stat}, {series_key}={series}"
                if xs:
                    ax.plot(xs, ys, style, label=name)
        if not ax.lines:
            _empty(ax, f"no ring stops of {label} in these runs")
        ax.set_title(f"ring-stop latency, {label}")
        ax.set_xlabel(x_key)
        ax.set_ylabel("ring-stop latency (ms)")
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(f"{title}: ring-stop latency against {x_key}")
    return _save(fig, path)
