"""What the report says about itself: the command that replays the run, where the docs are.

A report sent to a customer must let support (or the customer) run it again: the
scenario file, the seed, and every ``--set`` that made this run differ from the
file, found by comparing the table as run with the file as it is.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from .. import seeds
from ..seeds import toml_value

#: The docs a report links to: (path in the repository, what it explains).
DOCS = (
    ("docs/metrics.md", "what each metric, chart and explanation means"),
    ("docs/scenarios.md", "the scenario format, to change the run"),
)


def origin(loaded: Any, out: Path) -> str:
    """The scenario file the run came from. ``ringlab report DIR`` reads the run's
    ``scenario.json``, which ``ringlab run`` cannot read back: the file named by the
    first rendering's summary.json is the one to replay."""
    path = str(loaded.path)
    if Path(path).name == "scenario.json":
        try:
            first = json.loads((out / "summary.json").read_text())
        except (OSError, ValueError):
            return path
        if isinstance(first, dict) and isinstance(first.get("file"), str):
            return str(first["file"])
    return path


def replay_command(loaded: Any, path: str) -> str:
    """``ringlab run PATH --seed N [--set key=value]...``: the command that plays this run
    again (``loaded``: a :class:`simulator.scenario.Loaded`)."""
    sets = [f"{key}={toml_value(value)}" for key, value in overrides(loaded, path)]
    return seeds.replay_command(path, sets, loaded.scenario.seed)


def overrides(loaded: Any, path: str) -> list[tuple[str, Any]]:
    """The keys the run set differently from the file (its sweep point, its ``--set``
    options); the sweep point alone when the file cannot be read."""
    try:
        original = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return sorted(loaded.point.items())
    before, after = _flat(original), _flat(loaded.table)
    changed = [
        (key, value)
        for key, value in after.items()
        if before.get(key, _MISSING) != value and key != "seed" and not key.startswith("sweep")
    ]
    return sorted(changed)


_MISSING = object()


def _flat(table: Any, prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys, as ``--set`` takes them (``operators[0].count``)."""
    out: dict[str, Any] = {}
    if isinstance(table, dict):
        for key, value in table.items():
            out |= _flat(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(table, list) and table and all(isinstance(v, dict) for v in table):
        for i, value in enumerate(table):
            out |= _flat(value, f"{prefix}[{i}]")
    else:
        out[prefix] = table
    return out


def docs() -> list[dict[str, str]]:
    """The docs, by their path in the repository. Not linked: a report travels (support
    sends it to a customer), and a link into this machine's checkout would break there."""
    return [{"path": path, "what": what} for path, what in DOCS]
