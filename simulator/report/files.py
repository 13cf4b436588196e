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
from ..checks import Metrics, Verdict, metrics, ring_stops, verdicts
from ..scenario import Loaded
from .charts import ring_stop_cdf

_TEMPLATE = jinja2.Environment(
    loader=jinja2.PackageLoader("simulator.report", "templates"), autoescape=True
).get_template("index.html")


def write_report(
    out: Path,
    loaded: Loaded,
    events: Sequence[ev.Event],
    operator_names: dict[str, str],
    *,
    partial: bool = False,
) -> tuple[Metrics, list[Verdict]]:
    """Write every report file into ``out``; return the metrics and the verdicts."""
    out.mkdir(parents=True, exist_ok=True)
    ev.write(out / "events.jsonl", events)
    values = metrics(events)
    results = verdicts(loaded.expectations, values)
    s = loaded.scenario
    summary: dict[str, Any] = {
        "scenario": s.name,
        "description": s.description,
        "file": loaded.path,
        "seed": s.seed,
        "clock": s.clock,
        "partial": partial,
        "sweep_point": loaded.point,
        "passed": all(r.passed for r in results) and not partial,
        "expectations": [
            {"expect": str(r.expectation), "value": r.value, "passed": r.passed} for r in results
        ],
        "metrics": values,
        "links": {name: spec.describe() for name, spec in loaded.links.items()},
        "operators": operator_names,
        "versions": {
            "ringlab": version("ringlab"),
            "python": platform.python_version(),
            "trio": version("trio"),
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    _junit(out / "junit.xml", s.name, results)
    samples = ring_stops(events)
    chart = ring_stop_cdf(samples, operator_names, out / "ring_stop_cdf.png")
    html = _TEMPLATE.render(
        summary=summary,
        results=results,
        samples=samples,
        names=operator_names,
        chart=base64.b64encode(chart.read_bytes()).decode(),
    )
    (out / "index.html").write_text(html)
    return values, results


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
