"""The report directory: events.jsonl, summary.json, junit.xml, charts, index.html."""

from __future__ import annotations

import base64
import json
import platform
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2

from .. import events as ev
from ..checks import Metrics, Verdict, actors, calls, metrics, ring_stops, verdicts
from ..scenario import Loaded

_TEMPLATE = jinja2.Environment(
    loader=jinja2.PackageLoader("simulator.report", "templates"), autoescape=True
).get_template("index.html")


def write_report(
    out: Path,
    loaded: Loaded,
    events: Sequence[ev.Event],
    *,
    partial: bool = False,
) -> tuple[Metrics, list[Verdict]]:
    """Write every report file into ``out``; return the metrics and the verdicts."""
    out.mkdir(parents=True, exist_ok=True)
    ev.write(out / "events.jsonl", events)
    values = metrics(events)
    who = actors(events)
    results = verdicts(loaded.expectations, values)
    s = loaded.scenario
    summary: dict[str, Any] = {
        "scenario": s.name,
        "description": s.description,
        "file": loaded.path,
        "seed": s.seed,
        "clock": loaded.clock,
        "partial": partial,
        "sweep_point": loaded.point,
        "passed": all(r.passed for r in results) and not partial,
        "expectations": [
            {"expect": str(r.expectation), "value": r.value, "passed": r.passed} for r in results
        ],
        "metrics": values,
        "links": {name: spec.describe() for name, spec in loaded.links.items()},
        "actors": {a.actor: a.name for a in who.values()},
        "versions": {
            "ringlab": version("ringlab"),
            "python": platform.python_version(),
            "trio": version("trio"),
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    _junit(out / "junit.xml", s.name, results)
    from . import charts as charts_  # matplotlib: loaded when drawing, not by `ringlab serve`

    samples = ring_stops(events)
    charts = [
        ("Ring-stop latency", charts_.ring_stop_cdf(samples, who, out / "ring_stop_cdf.png")),
        ("Ring timeline", charts_.ring_timeline(events, out / "ring_timeline.png")),
        ("Latency attribution", charts_.latency_attribution(samples, out / "attribution.png")),
        (
            "Load over the run",
            charts_.concurrency(events, s.duration.seconds, out / "concurrency.png"),
        ),
    ]
    html = _TEMPLATE.render(
        summary=summary,
        results=results,
        samples=samples,
        calls=calls(events),
        names=summary["actors"],
        charts=[(title, _inline(png)) for title, png in charts],
    )
    (out / "index.html").write_text(html)
    return values, results


def write_sweep(out: Path, name: str, runs: Sequence[tuple[Loaded, Metrics, bool]]) -> Path:
    """The summary of a sweep: one row per point (``sweep.json``) and the sweep chart."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [{"point": run.point, "passed": ok, "metrics": values} for run, values, ok in runs]
    (out / "sweep.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    from . import charts as charts_

    return charts_.sweep_chart(
        [(run.point, values) for run, values, _ in runs], name, out / "sweep.png"
    )


def _inline(png: Path) -> str:
    return base64.b64encode(png.read_bytes()).decode()


def _junit(path: Path, name: str, results: list[Verdict]) -> None:
    suite = ET.Element(
        "testsuite",
        name=f"ringlab.{name}",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname=f"ringlab.{name}", name=str(r.expectation)
        )
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=f"measured {r.value}")
            failure.text = f"expected {r.expectation}, measured {r.value}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
