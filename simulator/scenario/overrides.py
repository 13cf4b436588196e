"""``--set``: dotted keys (``operators[0].count``) set in a scenario's table before it is
validated, each named in the errors it causes as the option that set it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from .validate import ScenarioError, join, table_name

_KEY_PATH = re.compile(r"^[A-Za-z_][\w-]*(\[\d+\])*(\.[\w-]+(\[\d+\])*)*$")


def apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, Any], blame: Mapping[str, str], where: str
) -> None:
    """Set each dotted key (``operators[0].count``) in the file's table, in order.

    Everything after ``expect.`` or ``sweep.`` is one key (a metric name, a swept key).
    ``blame`` says how to name each override in an error (``--set KEY``). A key the file
    lacks must still be a key of the format (the checks that follow say so), and a new
    link table must be one a group uses: a misspelt link name would add a link that
    nothing plays over, and the run would pass unchanged.
    """
    had = set(data["links"]) if isinstance(data.get("links"), dict) else set()
    new_links: dict[str, str] = {}
    for dotted, value in overrides.items():
        label = blame.get(dotted, f"--set {dotted}")
        head, _, rest = dotted.partition(".")
        if head in ("expect", "sweep") and rest:
            parts = [head, rest]
        elif _KEY_PATH.match(dotted):
            parts = re.findall(r"[^.\[\]]+|\[\d+\]", dotted)
        else:
            raise ScenarioError(
                f"{label}: expected a key such as operators[0].count, got {dotted!r}"
            )
        _set(data, parts, value, label)
        if parts[0] == "links" and len(parts) > 1 and parts[1] not in had:
            new_links.setdefault(parts[1], label)
    used = {
        group.get("link")
        for kind in ("operators", "visitors", "faults")
        if isinstance(data.get(kind), list)
        for group in data[kind]
        if isinstance(group, dict)
    }
    for name, label in new_links.items():
        if name not in used:
            close = difflib.get_close_matches(name, sorted(had), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ScenarioError(
                f"{label}: {where} has no link {name!r}, and no group uses one by that name"
                f"{hint} (its links: {', '.join(sorted(had)) or 'none'})"
            )


def _set(data: dict[str, Any], parts: list[str], value: Any, label: str) -> None:
    from ..network.link.profiles import PROFILES

    node: Any = data
    path = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list):
                raise ScenarioError(f"{label}: {path} is not a list of tables")
            if index >= len(node):
                tables = table_name(f"{path}[0]")
                raise ScenarioError(
                    f"{label}: the file has {len(node)} {tables} table(s), so no {path}{part}"
                    " (an override cannot add one)"
                )
            if last:
                node[index] = value
                return
            node, path = node[index], path + part
            continue
        if not isinstance(node, dict):
            hint = f"; name one, such as {path}[0].{part}" if isinstance(node, list) else ""
            raise ScenarioError(f"{label}: {path} is not a table{hint}")
        key = join(path, part)
        if last:
            node[part] = value
            return
        if part not in node:
            if parts[i + 1].startswith("["):
                raise ScenarioError(
                    f"{label}: the file has no {table_name(f'{key}[0]')} (an override cannot add"
                    " one)"
                )
            # a new link table named after a profile starts as that profile, so that
            # `--set links.3g.up.loss=0.1` changes the 3g link the groups play over
            node[part] = {"profile": part} if path == "links" and part in PROFILES else {}
        node, path = node[part], key
