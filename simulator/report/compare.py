"""Two runs side by side (``ringlab compare``), usually a scenario against baseline.

It reads what ``ringlab run`` wrote (``summary.json`` for the metrics, ``events.jsonl``
for the ring stops), puts every metric beside the other run's with the delta B - A and
the ratio B / A, and writes ``compare.json``, ``ring_stop_cdf.png`` and ``index.html``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ..record import events as ev
from ..scenario.metric_names import seconds, show, unit
from .metrics import RingStopSample, ring_stops


class NotARun(ValueError):
    """A directory that is not a run ``ringlab run`` wrote; the message names the path."""


@dataclass(frozen=True, slots=True)
class RunData:
    """What a comparison needs of one run directory."""

    path: Path
    summary: dict[str, Any]
    samples: list[RingStopSample]

    @property
    def label(self) -> str:
        """The scenario's name, with its sweep point as ``ringlab run`` names directories."""
        point = self.summary.get("sweep_point") or {}
        name = str(self.summary.get("scenario", self.path.name))
        return name + "".join(f"-{k.rsplit('.', 1)[-1]}={v}" for k, v in point.items())

    @property
    def metrics(self) -> dict[str, float | None]:
        """Every metric of the run by name (None: no data)."""
        values: dict[str, Any] = self.summary["metrics"]
        return {k: None if v is None else float(v) for k, v in values.items()}

    @property
    def expected(self) -> list[str]:
        """The metrics the run's expectations are about, in the scenario's order."""
        out: list[str] = []
        for x in self.summary.get("expectations", []):
            metric = str(x.get("expect", "")).split(" ", 1)[0]
            if metric and metric not in out:
                out.append(metric)
        return out

    def identity(self) -> dict[str, Any]:
        """Which run this is: enough to tell the two apart and to run either again. Not
        its directory: that is named by the wall clock, and a seed reproduces a run."""
        s = self.summary
        return {
            "scenario": s.get("scenario"),
            "file": s.get("file"),
            "sweep_point": s.get("sweep_point", {}),
            "seed": s.get("seed"),
            "clock": s.get("clock"),
            "links": s.get("links", {}),
            "partial": s.get("partial", False),
            "passed": s.get("passed"),
            "expectations": s.get("expectations", []),
        }


def load_run(path: Path) -> RunData:
    """Read a run directory; :class:`NotARun` naming the path if it is not one."""
    if not path.is_dir():
        raise NotARun(f"{path} is not a directory")
    for name in ("summary.json", "events.jsonl"):
        if not (path / name).is_file():
            raise NotARun(f"{path} is not a ringlab run directory: no {name}")
    try:
        summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        raise NotARun(f"{path / 'summary.json'}: unreadable: {exc}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("metrics"), dict):
        raise NotARun(f"{path / 'summary.json'}: no metrics in it (not written by ringlab run)")
    try:
        samples = ring_stops(list(ev.read(path / "events.jsonl")))
    except (OSError, ValueError) as exc:  # msgspec's DecodeError is a ValueError
        raise NotARun(f"{path / 'events.jsonl'}: unreadable: {exc}") from None
    return RunData(path, summary, samples)


@dataclass(frozen=True, slots=True)
class Row:
    """One metric of both runs. ``expected_by`` is ``A``, ``B``, ``A B`` or empty."""

    metric: str
    a: float | None
    b: float | None
    expected_by: str

    @property
    def delta(self) -> float | None:
        """B - A; None when either run has no data."""
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def ratio(self) -> float | None:
        """B / A, only where it means something: both measured and A above zero."""
        if self.a is None or self.b is None or self.a <= 0 or self.b < 0:
            return None
        return self.b / self.a


def rows(a: RunData, b: RunData) -> list[Row]:
    """Every metric of either run: the expectation metrics first (A's, then B's), then
    the rest by name."""
    va, vb = a.metrics, b.metrics
    first = a.expected + [m for m in b.expected if m not in a.expected]
    rest = sorted((va.keys() | vb.keys()) - set(first))

    def by(metric: str) -> str:
        return " ".join(k for k, run in (("A", a), ("B", b)) if metric in run.expected)

    return [Row(m, va.get(m), vb.get(m), by(m)) for m in first + rest]


def delta_text(metric: str, delta: float | None) -> str:
    """A delta in its metric's unit, signed: ``+2009 ms``, ``-35 µs``, ``+6``, ``0``."""
    if delta is None:
        return "-"
    if unit(metric) == "s":
        return ("+" if delta > 0 else "") + seconds(delta)
    return f"{delta:+g}" if delta else "0"


def ratio_text(ratio: float | None) -> str:
    """``x3.6``, ``x0.5``, ``x4,268``; ``-`` where a ratio means nothing."""
    if ratio is None:
        return "-"
    return f"x{ratio:,.0f}" if ratio >= 100 else f"x{ratio:.3g}"


def shown(row: Row) -> dict[str, str]:
    """A row as the table and the page show it."""
    return {
        "metric": row.metric,
        "expected_by": row.expected_by,
        "a": show(row.metric, row.a),
        "b": show(row.metric, row.b),
        "delta": delta_text(row.metric, row.delta),
        "ratio": ratio_text(row.ratio),
    }


def document(a: RunData, b: RunData, table: list[Row]) -> dict[str, Any]:
    """``compare.json``: both runs' identity and every metric's A, B, delta and ratio.

    Nothing from the wall clock, so the same two runs give the same file."""
    return {
        "a": a.identity(),
        "b": b.identity(),
        "metrics": {
            r.metric: {"a": r.a, "b": r.b, "delta": r.delta, "ratio": r.ratio} for r in table
        },
    }


_TEMPLATE = jinja2.Environment(
    loader=jinja2.PackageLoader("simulator.report", "templates"), autoescape=True
).get_template("compare.html")


def write_compare(out: Path, a: RunData, b: RunData, table: list[Row]) -> None:
    """Write compare.json, ring_stop_cdf.png and a self-contained index.html into ``out``."""
    doc = document(a, b, table)
    (out / "compare.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    # matplotlib loads when drawing, as for `ringlab report`
    from .compare_chart import ring_stop_cdf_compare

    png = ring_stop_cdf_compare(
        [(f"A {a.label}", a.samples), (f"B {b.label}", b.samples)], out / "ring_stop_cdf.png"
    )
    html = _TEMPLATE.render(
        a={"label": a.label, "path": a.path, "identity": doc["a"]},
        b={"label": b.label, "path": b.path, "identity": doc["b"]},
        rows=[shown(r) for r in table],
        chart=base64.b64encode(png.read_bytes()).decode(),
    )
    (out / "index.html").write_text(html)
