"""Load over the run, and below it a band of the faults and outages with their durations.

The counts pair each opening with its closing per key (a ring per call and console,
a chat per room and operator), so a ring offered again on reconnect, or a stop
replayed with it, cannot leave a console counted as ringing to the end of the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.ticker import MaxNLocator

from ..scenario.metric_names import seconds
from .index import Index, Window
from .plot import FAULT, OUTAGE, empty, plt, save

#: Durations written on the band at most, so a flaky link's hundred drops stay legible.
ANNOTATED = 40
#: Fault labels written on the load panel at most.
LABELLED = 30


def steps(windows: Iterable[Window], end: float) -> tuple[list[float], list[int]]:
    """How many windows are open at each moment: a step line from 0 to ``end``."""
    changes: list[tuple[float, int]] = []
    for start, stop in windows:
        if stop is not None and stop <= start:
            continue  # opened and closed at once: never open
        changes.append((start, 1))
        if stop is not None:
            changes.append((stop, -1))
    changes.sort()
    xs, ys, level = [0.0], [0], 0
    for t, delta in changes:
        level += delta
        xs.append(t)
        ys.append(level)
    xs.append(max(end, xs[-1]))
    ys.append(level)
    return xs, ys


def consoles_ringing(rings: Mapping[tuple[str, str], list[Window]]) -> list[Window]:
    """When each console rang, whatever the call: a console ringing for two calls at once
    is one console ringing (per (call, operator) windows, merged per operator)."""
    per_console: dict[str, list[Window]] = defaultdict(list)
    for (_, operator), windows in rings.items():
        per_console[operator] += windows
    merged: list[Window] = []
    for windows in per_console.values():
        start, stop = None, None  # the window being grown
        for a, b in sorted(windows, key=lambda w: w[0]):
            if b is not None and b <= a:
                continue  # opened and closed at once: never rang
            if start is not None and (stop is None or a <= stop):
                stop = None if stop is None or b is None else max(stop, b)
                continue
            if start is not None:
                merged.append((start, stop))
            start, stop = a, b
        if start is not None:
            merged.append((start, stop))
    return merged


def outage_lanes(
    index: Index, faults: Sequence[Any] = ()
) -> dict[str, list[tuple[float, float, str]]]:
    """Per affected group (``operators.ops``) or the server: (start, length, kind) spans,
    kind ``fault`` or ``link`` (the path down), ``degraded`` or ``restart``. ``faults``
    are the scenario's (for a restart's length, and a degrade's link)."""
    lanes: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for actor, spans in index.downs.items():
        info = index.who.get(actor)
        lane = f"{info.role}s.{info.group}" if info else actor
        lanes[lane] += [(t, length, cause) for t, length, cause in spans.items]
    logged = any(cause == "fault" for spans in index.downs.values() for _, _, cause in spans.items)
    degraded: dict[str, float] = {}
    for fault in index.faults:
        if fault.action == "server_restart":
            lanes["server"].append((fault.t, _planned(fault, faults), "restart"))
        elif fault.action == "outage" and not logged:
            # a log without link_down events: the outage lasted as long as planned
            lanes[fault.target.partition("[")[0]].append(
                (fault.t, _planned(fault, faults), "fault")
            )
        elif fault.action == "reset":
            lanes[fault.target.partition("[")[0]].append((fault.t, 0.0, "reset"))
        elif fault.action == "degrade":
            degraded.setdefault(fault.target, fault.t)
        elif fault.action == "restore" and fault.target in degraded:
            start = degraded.pop(fault.target)
            lanes[fault.target.partition("[")[0]].append((start, fault.t - start, "degraded"))
    for target, start in degraded.items():
        lanes[target.partition("[")[0]].append((start, index.end - start, "degraded"))
    return {lane: merge(spans) for lane, spans in sorted(lanes.items())}


def _planned(fault: Any, faults: Sequence[Any]) -> float:
    """A fault's length, which its event does not carry: the scenario's fault of that
    action and target nearest in time has it."""
    planned = [
        f for f in faults if (f.action, f.target or "server") == (fault.action, fault.target)
    ]
    nearest = min(planned, key=lambda f: abs(f.at.seconds - fault.t), default=None)
    return nearest.duration.seconds if nearest and nearest.duration else 0.0


def merge(spans: Iterable[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Overlapping spans of one kind made one (a group's actors go down together)."""
    out: list[tuple[float, float, str]] = []
    for start, length, kind in sorted(spans, key=lambda s: (s[2], s[0])):
        if out and out[-1][2] == kind and start <= out[-1][0] + out[-1][1]:
            first, old, _ = out[-1]
            out[-1] = (first, max(old, start + length - first), kind)
        else:
            out.append((start, length, kind))
    return sorted(out)


STYLE: Mapping[str, dict[str, Any]] = {
    "fault": {"color": FAULT, "alpha": 0.45, "label": "path down (a scenario fault)"},
    "link": {"color": OUTAGE, "alpha": 0.6, "label": "path down (the link's own outage)"},
    "restart": {"color": "#6a3d9a", "alpha": 0.5, "label": "server restarting"},
    "reset": {"color": FAULT, "alpha": 0.9, "label": "connections reset"},
    "degraded": {
        "color": "none",
        "edgecolor": FAULT,
        "hatch": "///",
        "label": "link degraded",
    },
}


def concurrency(index: Index, duration: float, path: Path, faults: Sequence[Any] = ()) -> Path:
    """Calls waiting, consoles ringing and chats open over the run; below, the faults
    and outages, each span with its duration (``faults``: the scenario's)."""
    lanes = outage_lanes(index, faults)
    fig, (ax, band) = plt.subplots(
        2,
        1,
        figsize=(9, 4.6 + 0.3 * len(lanes)),
        dpi=100,
        sharex=True,
        gridspec_kw={"height_ratios": [3, 0.6 + 0.35 * max(1, len(lanes))]},
    )
    end = max(duration, index.end)
    series: list[tuple[str, list[Window]]] = [
        ("calls waiting for an answer", [w for ws in index.calls_open.values() for w in ws]),
        ("consoles ringing", consoles_ringing(index.rings)),
        ("chats open on consoles", [w for ws in index.chats_open.values() for w in ws]),
    ]
    drawn = False
    for label, windows in series:
        if windows:
            xs, ys = steps(windows, end)
            ax.step(xs, ys, where="post", label=label)
            drawn = True
    for i, fault in enumerate(index.faults):
        for axes in (ax, band):
            axes.axvline(fault.t, color=FAULT, ls="--", alpha=0.6, lw=1)
        if i < LABELLED:
            ax.annotate(
                fault.action if fault.target == "server" else f"{fault.action} {fault.target}",
                (fault.t, 1),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="top",
                ha="right",
                fontsize=7,
                color=FAULT,
            )
    ax.set_title("Load over the run: calls, rings and chats at each moment (faults dashed)")
    ax.set_ylabel("how many at once")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of a call
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend(loc="upper left", fontsize=8)  # not "best": slow over a long run's steps
    else:
        empty(ax, "no calls in this run")
    _band(band, lanes)
    band.set_xlabel("time since the run started (s)")
    band.set_xlim(0, end)
    return save(fig, path)


def _band(ax: Any, lanes: Mapping[str, list[tuple[float, float, str]]]) -> None:
    """The faults and outages, a lane per group, each span labelled with its length."""
    ax.set_title("Faults and outages (shaded for as long as they lasted)", fontsize=9)
    if not lanes:
        empty(ax, "no faults or outages in this run")
        ax.set_yticks([])
        return
    used: set[str] = set()
    written = 0
    for y, spans in enumerate(lanes.values()):
        for start, length, kind in spans:
            style = dict(STYLE[kind])
            if style["label"] in used:
                style["label"] = "_nolegend_"
            used.add(STYLE[kind]["label"])
            ax.barh(y, max(length, 0.05), left=start, height=0.7, **style)
            if written < ANNOTATED and length > 0:
                written += 1
                ax.annotate(
                    seconds(length),
                    (start + length / 2, y),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="#1d2330",
                )
    ax.set_yticks(range(len(lanes)), list(lanes), fontsize=8)
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.invert_yaxis()
    ax.legend(loc="upper right", fontsize=7)
