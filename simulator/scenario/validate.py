"""Checks of a scenario table before it is converted: every key known, every unit written.

msgspec's own errors say little to whoever wrote the file ("Object contains unknown
field 'reacton'"), and a bare number where a duration goes was taken as seconds, so
``latency = 100`` ran a link with 100 s of delay and passed vacuously. These checks run
on the raw table, before anything is built from it, and name the key path, what was
expected there and, for a misspelt key, the closest valid ones.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import inspect

from ..network.link.spec import DIRECTION_KEYS, LINK_KEYS
from . import metric_names
from .dist import Dist, Duration


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``str()`` names the file, the key and what was expected.

    When the fault is at one key, ``key`` holds its dotted path and ``problem`` the rest,
    so that a caller can blame what put the value there (``--set KEY``).
    """

    key: str = ""
    problem: str = ""


def error(where: str, key: str, problem: str) -> ScenarioError:
    """``where: key: problem``, with the parts kept apart on the exception."""
    exc = ScenarioError(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")
    exc.key, exc.problem = key, problem
    return exc


def join(key: str, name: str) -> str:
    """``server`` + ``target`` -> ``server.target``; at the top level, just ``target``."""
    return f"{key}.{name}" if key else name


def unknown(name: str, valid: list[str], what: str) -> str:
    """The problem of a misspelt key: the closest valid ones, then every valid one."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.75)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"unknown key{hint} ({what}: {', '.join(valid)})"


# ---------------------------------------------------------------- units

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_BARE = re.compile(rf"^\s*({_NUMBER})\s*$")
_CALL = re.compile(r"^\s*(exp|normal)\s*\((.*)\)\s*$")


def _reads_seconds(parser: Any) -> bool:
    # by what the parser does, not which function it is: a parameter whose parser wraps
    # units.duration (loss_burst's, to say what it used to mean) is a duration too
    try:
        return bool(parser("", "1s") == 1.0)
    except (ValueError, TypeError):
        return False


#: Link parameters that are durations (``outages`` holds pairs of them).
DURATION_PARAMS = frozenset(
    k for k, parser in {**DIRECTION_KEYS, **LINK_KEYS}.items() if _reads_seconds(parser)
)


def unitless(value: object) -> bool:
    """A duration written without its unit: ``100`` or ``"100"``. 0 needs none."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and (match := _BARE.match(value)):
        return float(match[1]) != 0
    return False


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value).strip()


def check_duration(value: object, key: str, where: str) -> None:
    """Refuse a duration with no unit, showing the two readings it could have had."""
    if unitless(value):
        n = _number(value)
        raise error(
            where, key, f'expected a duration with its unit, "{n}s" or "{n}ms", got {value!r}'
        )


def check_dist(value: object, key: str, where: str) -> None:
    """Refuse a distribution any of whose durations has no unit (``"1..2"``)."""
    if not isinstance(value, str) or _BARE.match(value):
        check_duration(value, key, where)
        return
    parts = _dist_parts(value)
    if any(unitless(p) for p in parts):
        fixed = [p.strip() + "s" if unitless(p) else p.strip() for p in parts]
        call = _CALL.match(value)
        shown = f"{call[1]}({', '.join(fixed)})" if call else "..".join(fixed)
        raise error(
            where, key, f'expected durations with their units, such as "{shown}", got {value!r}'
        )


def _dist_parts(text: str) -> list[str]:
    if ".." in text:
        return text.split("..")
    if call := _CALL.match(text):
        return call[2].split(",")
    return [text]


# ---------------------------------------------------------------- the walk


@functools.cache
def _info(kind: type) -> inspect.Type:
    return inspect.type_info(kind)


def check_scenario(data: Mapping[str, Any], kind: type, where: str) -> None:
    """Every key of ``data`` known to ``kind`` (the Scenario struct), every required one
    there, every duration with its unit, every link parameter and metric name known."""
    _walk(data, _info(kind), "", where)
    if isinstance(links := data.get("links"), dict):
        for name, table in links.items():
            _link_table(table, f"links.{name}", where)
    if isinstance(expect := data.get("expect"), dict):
        for metric in expect:
            if not metric_names.known(metric):
                raise error(where, f"expect.{metric}", unknown_metric(metric))
    sweep = data.get("sweep")
    if isinstance(sweep, dict) and (
        len(sweep) > 2 or not all(isinstance(v, list) and v for v in sweep.values())
    ):
        raise error(where, "sweep", "expected one or two keys, each with a list of values")


def check_groups(data: Mapping[str, Any], where: str) -> None:
    """A file plays at least one operator group and one visitor group: without either,
    nothing rings and every expectation on messages holds vacuously."""
    for kind in ("operators", "visitors"):
        if not data.get(kind):
            raise error(where, kind, f"at least one group is required ([[{kind}]] with a name)")


def _walk(value: Any, info: inspect.Type, key: str, where: str) -> None:
    # only what has the expected shape is walked: msgspec says the rest ("expected an
    # array, got a table")
    if isinstance(info, inspect.StructType) and isinstance(value, dict):
        _struct(value, info, key, where)
    elif isinstance(info, inspect.ListType) and isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, info.item_type, f"{key}[{i}]", where)
    elif isinstance(info, inspect.TupleType) and isinstance(value, list):
        for i, (item, item_type) in enumerate(zip(value, info.item_types, strict=False)):
            _walk(item, item_type, f"{key}[{i}]", where)
    elif isinstance(info, inspect.UnionType):
        for option in info.types:
            _walk(value, option, key, where)
    elif isinstance(info, inspect.CustomType) and info.cls is Duration:
        check_duration(value, key, where)
    elif isinstance(info, inspect.CustomType) and info.cls is Dist:
        check_dist(value, key, where)


def _struct(value: dict[str, Any], info: inspect.StructType, key: str, where: str) -> None:
    fields = {f.name: f for f in info.fields}
    for name in value:
        if name not in fields:
            what = f"the keys of {table_name(key)}"
            raise error(where, join(key, str(name)), unknown(str(name), list(fields), what))
    for f in info.fields:
        if f.required and f.name not in value:
            raise error(where, join(key, f.name), f"required ({describe(f.type)})")
    for name, item in value.items():
        if name == "link" and isinstance(item, str):
            _link_ref(item, join(key, name), where)
        else:
            _walk(item, fields[name].type, join(key, name), where)


def table_name(key: str) -> str:
    """How the file writes the table at ``key``: the top level, ``[server]``, ``[[faults]]``."""
    if not key:
        return "the top level"
    base = re.sub(r"\[\d+\]$", "", key)
    return f"[[{base}]]" if base != key else f"[{key}]"


def describe(info: inspect.Type) -> str:
    """What a value of this type looks like, for "required (...)"."""
    if isinstance(info, inspect.CustomType) and info.cls is Duration:
        return "a duration such as 30s"
    if isinstance(info, inspect.CustomType) and info.cls is Dist:
        return 'a duration or distribution such as "3s" or "2s..6s"'
    if isinstance(info, inspect.LiteralType):
        return "one of " + ", ".join(str(v) for v in info.values)
    if isinstance(info, inspect.StrType) and info.pattern:
        return "a name: 1-40 letters, digits, _ or -"
    return "a value"


def msgspec_error(exc: msgspec.ValidationError, where: str) -> ScenarioError:
    """msgspec's "Expected `int` >= 1 - at `$.visitors[0].count`" as ``key: problem``."""
    text = str(exc)
    match = re.match(r"^(.*) - at `\$\.?(.*)`$", text, re.DOTALL)
    if match is None:
        return error(where, "", text)
    problem = match[1]
    return error(where, match[2], problem[:1].lower() + problem[1:])


# ---------------------------------------------------------------- links and metrics

_LINK_TABLE_KEYS = ["profile", "up", "down", *DIRECTION_KEYS, *LINK_KEYS]


def _link_table(table: object, key: str, where: str) -> None:
    if not isinstance(table, dict):
        return  # msgspec: "expected object"
    for name, value in table.items():
        sub = f"{key}.{name}"
        if name in ("up", "down") and isinstance(value, dict):
            for param, inner in value.items():
                if param not in DIRECTION_KEYS:
                    what = f"the parameters of one direction ({name})"
                    raise error(where, f"{sub}.{param}", unknown(param, list(DIRECTION_KEYS), what))
                _link_value(param, inner, f"{sub}.{param}", where)
        elif name not in _LINK_TABLE_KEYS:
            raise error(where, sub, unknown(name, _LINK_TABLE_KEYS, "the keys of a link table"))
        else:
            _link_value(name, value, sub, where)


def _link_value(param: str, value: object, key: str, where: str) -> None:
    if param in DURATION_PARAMS:
        check_duration(value, key, where)
    elif param == "outages" and isinstance(value, list):
        for i, window in enumerate(value):
            for j, item in enumerate(window if isinstance(window, list) else []):
                check_duration(item, f"{key}[{i}][{j}]", where)


def _link_ref(ref: str, key: str, where: str) -> None:
    """A group's compact link spec (``"3g,up.latency=200"``): durations with units too."""
    for item in ref.split(","):
        name, sep, value = (part.strip() for part in item.partition("="))
        param = name.split(".", 1)[1] if name.startswith(("up.", "down.")) else name
        values = re.split(r"[\s/]+", value) if param == "outages" else [value]
        if sep and (param in DURATION_PARAMS or param == "outages"):
            for one in values:
                if unitless(one):
                    raise error(
                        where,
                        key,
                        f'{name}: expected a duration with its unit, "{one}s" or '
                        f'"{one}ms", got {ref!r}',
                    )


def unknown_metric(name: str) -> str:
    """The problem of a name that is no metric: the closest ones, or every one."""
    close = difflib.get_close_matches(name, metric_names.names(), n=3, cutoff=0.75)
    if close:
        return f"not a metric; did you mean {' or '.join(close)}? (every metric: docs/metrics.md)"
    stats = "/".join(metric_names.STATISTICS)
    families = ", ".join(f"{family}.{{{stats}}}" for family in metric_names.DISTRIBUTIONS)
    counts = ", ".join(metric_names.COUNTS)
    return f"not a metric; expected one of {counts}, {families} (see docs/metrics.md)"
