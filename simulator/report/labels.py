"""Words for what the log names by id: calls, operators, link settings, instants.

Server ids (``call_5AM8dK...``, ``op_2JrAX...``) mean nothing to a customer; the
report says "call #3 (shoppers[2])" and "mobile[0]" instead, and gives a link's
every setting, not the one-line summary of :meth:`LinkSpec.describe`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ..network.link import spec as link_spec
from ..network.link import units
from ..scenario.metric_names import seconds
from .index import Index


class Labels:
    """Human labels for a run's calls and actors."""

    def __init__(self, index: Index) -> None:
        self.index = index
        # calls numbered in the order visitors placed them; calls the log saw ring but
        # not placed (a target server's other traffic) come after, in ring order
        placed = sorted(index.placed, key=lambda c: (index.placed[c][0], c))
        unplaced = [c for c in index.consoles if c not in index.placed]
        self.numbers = {call: n for n, call in enumerate([*placed, *unplaced], start=1)}

    def call(self, call: str) -> str:
        """``call #3 (shoppers[2])``: its number and the visitor who placed it."""
        number = self.numbers.get(call)
        if number is None:
            return call
        visitor = self.index.placed.get(call)
        return f"call #{number} ({self.index.name(visitor[1])})" if visitor else f"call #{number}"

    def sentence(self, call: str) -> str:
        """:meth:`call`, capitalised to open a sentence: ``Call #3 (shoppers[2])``."""
        text = self.call(call)
        return text[:1].upper() + text[1:]

    def name(self, actor: str | None) -> str:
        """An actor's scenario name (``ops[0]``); ``-`` for none."""
        return self.index.name(actor) if actor else "-"


def at(t: float) -> str:
    """An instant of the run: ``12.4 s`` since the start."""
    return f"{t:.1f} s" if abs(t) >= 0.1 or t == 0 else f"{t:.3f} s"


def plural(n: int, word: str) -> str:
    """``1 stall``, ``2 stalls``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def size(n: float) -> str:
    """Bytes in the unit that reads best."""
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= 10 * scale:  # 1460 B reads better than 1.46 kB
            return f"{n / scale:g} {unit}"
    return f"{n:g} B"


def rate(bytes_per_s: float) -> str:
    """A bandwidth in bits per second, as links are sold."""
    bits = bytes_per_s * 8
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits >= scale:
            return f"{bits / scale:g} {unit}"
    return f"{bits:g} bit/s"


def _kinds() -> dict[str, str]:
    """The unit of each direction parameter, from the parser the spec uses for it."""
    by_parser: dict[Callable[[str, object], Any], str] = {
        units.duration: "time",
        units.size: "size",
        units.rate: "rate",
        units.probability: "share",
    }
    kinds = {key: by_parser.get(parser, "") for key, parser in link_spec.DIRECTION_KEYS.items()}
    # the mean length of a bad (lossy) period: a duration, parsed by a parser of its own
    kinds["loss_burst"] = kinds.get("loss_burst") or "time"
    return kinds


def value(kind: str, v: Any) -> str:
    """One parameter's value in its unit; ``none`` for an unset one."""
    if v is None:
        return "unlimited" if kind == "rate" else "none"
    if isinstance(v, tuple):
        return " ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if kind == "time":
        return seconds(v)
    if kind == "size":
        return size(v)
    if kind == "rate":
        return rate(v)
    if kind == "share":
        return f"{v * 100:g} %"
    return f"{v:g}"


def link_settings(spec: link_spec.LinkSpec) -> dict[str, str]:
    """Every setting of a link, by the key a scenario file sets it with: ``up`` and
    ``down`` (each parameter, burst and distribution included) and the outages."""
    kinds = _kinds()
    out: dict[str, str] = {}
    for direction in ("up", "down"):
        side = getattr(spec, direction)
        out[direction] = ", ".join(
            f"{f.name} {value(kinds.get(f.name, ''), getattr(side, f.name))}"
            for f in dataclasses.fields(side)
        )
    outages = []
    for f in dataclasses.fields(spec):
        if f.name in ("name", "up", "down"):
            continue
        v = getattr(spec, f.name)
        if f.name == "outages":
            text = ", ".join(f"at {seconds(a)} for {seconds(d)}" for a, d in v) or "none"
        else:
            text = value("time", v)
        outages.append(f"{f.name} {text}")
    out["outages"] = ", ".join(outages)
    return out


def group_links(loaded: Any) -> list[dict[str, Any]]:
    """Per operator and visitor group: its link reference, the link's name and every
    setting (``loaded`` is a :class:`simulator.scenario.Loaded`)."""
    rows = []
    s = loaded.scenario
    groups = [("operators", g) for g in s.operators] + [("visitors", g) for g in s.visitors]
    for kind, group in groups:
        try:
            spec = loaded.link(group.link)
        except ValueError:  # a link the scenario check let through but no longer parses
            continue
        rows.append(
            {
                "group": f"{kind}.{group.name}",
                "count": group.count,
                "ref": group.link,
                "name": _made_from(loaded, group.link, spec.name),
                "settings": link_settings(spec),
            }
        )
    return rows


def _made_from(loaded: Any, ref: str, name: str) -> str:
    """What a link under [links] was made from: its profile (``3g``), starred when
    changed (``3g*``), as compact specs are named; else its own name."""
    table = loaded.scenario.links.get(ref)
    profile = table.get("profile") if isinstance(table, dict) else None
    if not isinstance(profile, str):
        return name
    return profile + ("*" if set(table) - {"profile"} else "")


def link_names(loaded: Any) -> Mapping[str, str]:
    """A group's link reference -> the link's own name (``lossy_operator`` -> ``3g*``)."""
    return {row["ref"]: row["name"] for row in group_links(loaded)}
