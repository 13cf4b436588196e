"""A run's report folder: where it goes, and every file in it.

``ringlab run``, the pytest plugin and ``ringlab compare`` name and fill their folders
here, so a folder looks the same whoever made it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .files import write_report
from .sweep import labels

if TYPE_CHECKING:
    from ..record.events import Event
    from ..scenario import Loaded
    from .metrics import Metrics, Verdict


def stamp() -> str:
    """Report folders are named by the UTC time the run started."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def fresh(path: Path) -> Path:
    """A new directory at ``path``, or beside it (``-2``, ``-3``...) when runs share a second."""
    candidate, n = path, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            n += 1
            candidate = path.with_name(f"{path.name}-{n}")


def point_suffix(loaded: Loaded) -> str:
    """``-latency=300ms`` and so on: a sweep point in a folder name (short key labels)."""
    short = labels(list(loaded.point))
    return "".join(f"-{short[k]}={v}" for k, v in loaded.point.items())


@dataclass(frozen=True)
class Written:
    """A run's folder and what its report found."""

    out: Path
    values: Metrics
    verdicts: list[Verdict]
    simulated: float  # seconds of run, on its own clock


def write_run(
    out_root: Path,
    loaded: Loaded,
    events: Sequence[Event],
    partial: bool,
    started: str,
    wall: float,
) -> Written:
    """Make the run's folder under ``out_root`` (only once the run is over, so a run that
    fails leaves none) and write every file: the report, ``scenario.json`` and
    ``run.json``."""
    out = fresh(out_root / f"{loaded.scenario.name}{point_suffix(loaded)}-{started}")
    (out / "scenario.json").write_text(json.dumps(loaded.table, indent=2, default=str) + "\n")
    values, verdicts = write_report(out, loaded, events, partial=partial)
    simulated = max((e.t for e in events), default=0.0)
    # wall-clock facts apart from summary.json, which a seed must reproduce byte for byte
    run_info = {
        "started_utc": started,
        "wall_seconds": round(wall, 3),
        "simulated_seconds": round(simulated, 3),
        "speedup": round(simulated / wall, 1) if wall else None,
        "clock": loaded.clock,
    }
    (out / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
    return Written(out, values, verdicts, simulated)
