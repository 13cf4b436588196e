"""Loading a scenario file: read once, overrides applied, validated, its links resolved
and its expectations parsed; one run, or one per point of its sweep.

A bad file raises :class:`ScenarioError` naming the file, the key path and what was
expected.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..network.link import LinkSpec, ParamError, from_table
from ..network.link import parse as parse_link
from .expectations import Expectation, expectation
from .format import Scenario, dec_hook
from .overrides import apply_overrides
from .validate import ScenarioError, check_groups, check_scenario, error, msgspec_error


class Loaded(msgspec.Struct):
    """A validated scenario with its links resolved and expectations parsed."""

    scenario: Scenario
    path: str
    links: dict[str, LinkSpec]
    expectations: list[Expectation]
    table: dict[str, Any] = {}  # the file's table as run (overrides applied)
    point: dict[str, Any] = {}  # for one run of a sweep: the swept keys and their values

    @property
    def clock(self) -> str:
        """The clock the run uses: as the file says; by default virtual, or real when the
        run plays against a ``target`` (a server elsewhere runs on real time)."""
        s = self.scenario
        return s.clock or ("real" if s.server.target is not None else "virtual")

    def link(self, ref: str) -> LinkSpec:
        """A group's ``link``: a name under [links], or a profile / compact spec."""
        return self.links[ref] if ref in self.links else parse_link(ref)


def load(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Loaded:
    """Read, validate and resolve a scenario file.

    ``overrides`` are dotted keys (``--set``); an error at a key one of them set blames
    it as ``labels`` names it (by default ``--set KEY``), not the file. A file must
    play at least one operator group and one visitor group.
    """
    return _resolve(_read(path), str(path), overrides or {}, labels)


def _read(path: str | Path) -> dict[str, Any]:
    """A scenario file's table, as written."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def _resolve(
    data: dict[str, Any],
    where: str,
    overrides: Mapping[str, Any],
    labels: Mapping[str, str] | None,
) -> Loaded:
    """:func:`load`'s work on a table already read, which it changes (the overrides)."""
    blame = {key: (labels or {}).get(key, f"--set {key}") for key in overrides}
    apply_overrides(data, overrides, blame, where)
    try:
        loaded = parse(data, where)
        check_groups(data, where)
    except ScenarioError as exc:
        raise _blamed(exc, blame) from None
    return loaded


def _blamed(exc: ScenarioError, blame: Mapping[str, str]) -> ScenarioError:
    """The error said of the override that put the bad value there, if one did."""
    culprits = [
        key
        for key in blame
        if exc.key and (exc.key == key or exc.key.startswith((f"{key}.", f"{key}[")))
    ]
    if not culprits:
        return exc
    key = max(culprits, key=len)
    said = (
        f"{blame[key]}: {exc.problem}"
        if exc.key == key
        else f"{blame[key]}: {exc.key}: {exc.problem}"
    )
    blamed = ScenarioError(said)
    blamed.key, blamed.problem = exc.key, exc.problem
    return blamed


def expand(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[Loaded]:
    """A scenario as the runs it asks for: one, or one per combination of its sweep.

    An override of a swept key pins it: the sweep goes on over the other key, if any.
    The file is read once; each run is validated with its own values.
    """
    where = str(path)
    data = _read(path)
    overrides = dict(overrides or {})
    base = _resolve(copy.deepcopy(data), where, overrides, labels)
    sweep = {k: v for k, v in base.scenario.sweep.items() if k not in overrides}
    if not sweep:
        if not base.scenario.sweep:
            return [base]
        return [_resolve(data, where, {**overrides, "sweep": {}}, labels)]
    runs = []
    for values in itertools.product(*sweep.values()):
        point = dict(zip(sweep, values, strict=True))
        said = {key: f"{path}: sweep: {key} = {value!r}" for key, value in point.items()}
        changes = {**overrides, **point, "sweep": {}}
        loaded = _resolve(copy.deepcopy(data), where, changes, {**(labels or {}), **said})
        runs.append(msgspec.structs.replace(loaded, point=point))
    return runs


def with_seed(loaded: Loaded, seed: int) -> Loaded:
    """The same run under another seed (``--seed``, each run of a seed sweep): nothing
    else to validate, so nothing is read or checked again."""
    scenario = msgspec.structs.replace(loaded.scenario, seed=seed)
    return msgspec.structs.replace(loaded, scenario=scenario, table={**loaded.table, "seed": seed})


def parse(data: dict[str, Any], where: str = "scenario") -> Loaded:
    """Validate an already-read scenario table (groups may be absent: see :func:`load`)."""
    check_scenario(data, Scenario, where)
    try:
        scenario = msgspec.convert(data, Scenario, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        raise msgspec_error(exc, where) from None
    links: dict[str, LinkSpec] = {}
    try:
        for name, table in scenario.links.items():
            links[name] = dataclasses.replace(from_table(table, where=f"links.{name}"), name=name)
        group_links = [(f"operators[{i}]", g.link) for i, g in enumerate(scenario.operators)]
        group_links += [(f"visitors[{i}]", g.link) for i, g in enumerate(scenario.visitors)]
        group_links += [(f"faults[{i}]", f.link) for i, f in enumerate(scenario.faults) if f.link]
        for key, ref in group_links:
            if ref not in links:
                parse_link(ref, where=f"{key}.link")
    except ParamError as exc:
        param = getattr(exc, "param", "")
        raise error(where, param, str(exc).removeprefix(f"{param}: ")) from None
    expectations = []
    for metric, value in scenario.expect.items():
        try:  # the value as written: msgspec made 1 into 1.0, and errors quote it
            expectations.append(expectation(metric, data["expect"].get(metric, value)))
        except ValueError as exc:
            raise error(where, f"expect.{metric}", str(exc)) from None
    _check_names(scenario, where)
    return Loaded(scenario, where, links, expectations, data)


def _check_names(s: Scenario, where: str) -> None:
    for kind, names in (
        ("operators", [g.name for g in s.operators]),
        ("visitors", [g.name for g in s.visitors]),
    ):
        if len(names) != len(set(names)):
            raise error(where, kind, f"group names must differ, got {names}")
    groups = {f"operators.{g.name}": g.count for g in s.operators} | {
        f"visitors.{g.name}": g.count for g in s.visitors
    }
    for i, fault in enumerate(s.faults):
        key = f"faults[{i}]"
        if fault.at.seconds >= s.duration.seconds:
            # it would never happen, and the run would pass as if it had
            raise error(
                where,
                f"{key}.at",
                f"{fault.at} is not before the end of the run (duration = {s.duration})",
            )
        if fault.action == "server_restart":
            continue
        base, _, index = fault.target.partition("[")
        if base not in groups:
            raise error(
                where,
                f"{key}.target",
                f"expected one of {', '.join(groups) or '(no groups)'}"
                f" (optionally with [index]), got {fault.target!r}",
            )
        if index and (not index[:-1].isdigit() or int(index[:-1]) >= groups[base]):
            raise error(where, f"{key}.target", f"index out of range in {fault.target!r}")
        if fault.action == "outage" and fault.duration is None:
            raise error(where, f"{key}.duration", "an outage needs a duration")
        if fault.action == "degrade" and fault.link is None:
            raise error(where, f"{key}.link", "degrade needs the link to switch to")
