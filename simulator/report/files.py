"""The report directory: events.jsonl, summary.json, junit.xml, charts, index.html."""

from __future__ import annotations

import base64
import json
import platform
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import jinja2

from ..record import events as ev
from ..scenario import Loaded
from ..scenario.metric_names import seconds, show
from . import replay
from .buttons import button_codes
from .causes import as_json as causes_json
from .causes import chosen, explain, late_offers
from .index import Index
from .labels import Labels, at, group_links, link_names
from .metrics import Metrics, Verdict, actors, calls, metrics, ring_stops, verdicts

_TEMPLATE = jinja2.Environment(
    loader=jinja2.PackageLoader("simulator.report", "templates"), autoescape=True
).get_template("index.html")
T = TypeVar("T")

#: Explained rings kept in summary.json: the worst first, enough for any report.
CAUSES_KEPT = 200
#: Calls explained in words in index.html (the rest are in summary.json).
STORIES_SHOWN = 20
#: Rows of the tables of calls and ring stops at most: beyond, the worst of them (a
#: page of 100,000 rows takes longer to render than the run took, and nobody reads it).
ROWS = 1000


def write_report(
    out: Path,
    loaded: Loaded,
    events: Sequence[ev.Event],
    *,
    partial: bool = False,
) -> tuple[Metrics, list[Verdict]]:
    """Write every report file into ``out``; return the metrics and the verdicts."""
    out.mkdir(parents=True, exist_ok=True)
    source = replay.origin(loaded, out)  # before summary.json is written again
    ev.write(out / "events.jsonl", events)
    values = metrics(events)
    who = actors(events)
    results = verdicts(loaded.expectations, values)
    index = Index.of(events)
    labels = Labels(index)
    rings = chosen(index)
    stories = explain(events, index, labels, link_names(loaded), rings, CAUSES_KEPT)
    s = loaded.scenario
    passed = all(r.passed for r in results) and not partial
    explained = causes_json(stories, labels)
    summary: dict[str, Any] = {
        "scenario": s.name,
        "description": s.description,
        "file": source,
        "seed": s.seed,
        "clock": loaded.clock,
        "partial": partial,
        "sweep_point": loaded.point,
        "passed": passed,
        "verdict": verdict_words(s.reproduces, passed, partial),
        "expectations": [
            {"expect": r.expectation.describe(), "value": r.value, "passed": r.passed}
            for r in results
        ],
        "metrics": values,
        "causes": explained,  # the worst CAUSES_KEPT
        "causes_total": len(rings),
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
    # matplotlib: loaded when drawing, not by `ringlab serve`
    from . import charts as charts_
    from .load import concurrency, outage_lanes
    from .timeline import ring_timeline

    samples = ring_stops(events)
    charts = [
        (
            "cdf",
            "Ring-stop latency",
            charts_.ring_stop_cdf(samples, who, out / "ring_stop_cdf.png"),
        ),
        (
            "timeline",
            "Ring timeline",
            ring_timeline(index, stories, labels, out / "ring_timeline.png"),
        ),
        (
            "attribution",
            "Latency attribution",
            charts_.latency_attribution(samples, out / "attribution.png", labels.call, labels.name),
        ),
        (
            "load",
            "Load over the run, faults and outages",
            concurrency(index, s.duration.seconds, out / "concurrency.png", s.faults),
        ),
    ]
    html = _TEMPLATE.render(
        summary=summary,
        reproduces=s.reproduces,
        results=[_row(r, s.reproduces) for r in results],
        samples=_worst(samples, lambda r: r.latency, lambda r: (r.should_stop, r.call)),
        calls=_worst(calls(events), lambda c: c.overrun or 0.0, lambda c: (c.placed, c.call)),
        rows=ROWS,
        counts={"samples": len(samples), "calls": len(index.placed)},
        stories=stories[:STORIES_SHOWN],
        stories_more=len({r.call for r in rings}) - min(len(stories), STORIES_SHOWN),
        long_rings=sum(1 for ring in rings if ring.long),
        late=late_offers(events, index, labels)[:STORIES_SHOWN],
        buttons=button_codes(index, labels),
        codes=[(g.name, g.count, g.code) for g in s.visitors],
        binding=s.server.binding,
        links=group_links(loaded),
        outages=outage_lanes(index, s.faults),
        faults=index.faults,
        replay=replay.command_of(loaded, source),
        docs=replay.docs(),
        label=labels.call,
        name=labels.name,
        at=at,
        secs=seconds,
        show=show,
        metrics=[(k, show(k, v)) for k, v in sorted(values.items())],
        charts=[(key, title, _inline(png)) for key, title, png in charts],
    )
    (out / "index.html").write_text(html)
    return values, results


def _worst(rows: Sequence[T], worse: Callable[[T], float], order: Callable[[T], Any]) -> list[T]:
    """All the rows, or the :data:`ROWS` worst of them, in their order."""
    if len(rows) <= ROWS:
        return list(rows)
    return sorted(sorted(rows, key=worse, reverse=True)[:ROWS], key=order)


def verdict_words(reproduces: str, passed: bool, partial: bool) -> str:
    """The run's verdict in words: a scenario written to reproduce a fault says whether
    it did ("fault reproduced: ..."), not a green "passed"."""
    if reproduces:
        text = f"{'fault reproduced' if passed else 'not reproduced'}: {reproduces}"
    else:
        text = "passed" if passed else "failed"
    return text + (" (partial run)" if partial else "")


def _row(r: Verdict, reproduces: str) -> dict[str, Any]:
    """An expectation's row: threshold and measured value in their units."""
    x = r.expectation
    ok = "seen" if reproduces else "pass"
    return {
        "expect": f"{x.metric} {x.op} {show(x.metric, x.threshold)}",
        "measured": show(x.metric, r.value),
        "passed": r.passed,
        "verdict": ok if r.passed else ("not seen" if reproduces else "FAIL"),
    }


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
            suite, "testcase", classname=f"ringlab.{name}", name=r.expectation.describe()
        )
        if not r.passed:
            measured = show(r.expectation.metric, r.value)
            failure = ET.SubElement(case, "failure", message=f"measured {measured}")
            failure.text = f"expected {r.expectation.describe()}, measured {measured}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
