"""What the report says about itself: the command that replays the run, where the docs are.

:func:`replay_command` is also the replay line of ``ringlab run``'s failed seeds and of
the pytest plugin's failures.

A report sent to a customer must let support (or the customer) run it again: the
scenario file, the seed, and every ``--set`` that made this run differ from the
file, found by comparing the table as run with the file as it is.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def command_of(loaded: Any, path: str) -> str:
    """``ringlab run PATH --seed N [--set key=value]...``: the command that plays this run
    again (``loaded``: a :class:`simulator.scenario.Loaded`)."""
    sets = [f"{key}={toml_value(value)}" for key, value in overrides(loaded, path)]
    return replay_command(path, sets, loaded.scenario.seed)


def replay_command(
    path: str,
    sets: Sequence[str],
    seed: int,
    out: str | None = None,
    point: dict[str, Any] | None = None,
    clock: str | None = None,
) -> str:
    """The one command that replays a seed exactly, with its full report.

    ``sets``: the ``--set`` options of the sweep, as given; ``out``: its ``--out``, when
    one was given; ``point``: the sweep point, pinned by a ``--set`` of each swept key
    (which takes the key out of the sweep); ``clock``: its ``--clock``, when one was given
    (a file that says ``real`` runs virtual only with it).
    """
    options = [f"--set {shlex.quote(text)}" for text in sets]
    options += [f"--set {shlex.quote(f'{k}={toml_value(v)}')}" for k, v in (point or {}).items()]
    if clock is not None:
        options.append(f"--clock {clock}")
    if out is not None:
        options.append(f"--out {shlex.quote(out)}")
    return " ".join(["ringlab run", shlex.quote(path), f"--seed {seed}", *options])


def toml_value(value: Any) -> str:
    """A value as ``--set`` reads it back (TOML): ``0.05``, ``"3g"``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


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
