"""The JSON Schema of scenario files (``ringlab schema``), as strict as the loader.

Editors with a TOML language server check files against it as they are typed, so it
refuses what :func:`simulator.scenario.load` refuses: unknown keys in every table,
durations and rates without their unit, link parameters and metric names that do not
exist, comparisons of the wrong kind (a unit on a count, none on a time).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..network.link import units
from ..network.link.latency import DISTRIBUTIONS
from ..network.link.profiles import PROFILES
from ..network.link.spec import DIRECTION_KEYS, LINK_KEYS
from . import metric_names
from .dist import Dist, Duration
from .validate import DURATION_PARAMS

_N = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_ZERO = r"0*\.?0+"


def _units(table: dict[str, float]) -> str:
    return "|".join(re.escape(u) for u in sorted((u for u in table if u), key=len, reverse=True))


# one duration, no anchors: a number with a unit of time, or 0 alone
_D = rf"(?:{_N}\s*(?:{_units(units.DURATION_UNITS)})|{_ZERO})"
DURATION = rf"^\s*{_D}\s*$"
DIST = (
    rf"^\s*(?:{_D}|{_D}\s*\.\.\s*{_D}|exp\s*\(\s*{_D}\s*\)|normal\s*\(\s*{_D}\s*,\s*{_D}\s*\))\s*$"
)
RATE = rf"^\s*(?:{_N}\s*(?:{_units(units.RATE_UNITS)})|{_ZERO})\s*$"
SIZE = rf"^\s*{_N}\s*(?:{_units(units.SIZE_UNITS)})?\s*$"
_OP = r"^\s*(?:<=|>=|==|!=|<|>)?\s*[-+]?"
COMPARE_TIME = rf"{_OP}(?:{_N}\s*(?:{_units(units.DURATION_UNITS)})|{_ZERO})\s*$"
COMPARE_COUNT = rf"{_OP}{_N}\s*$"
SWEPT_KEY = r"^[A-Za-z_][\w-]*(\[\d+\])*(\.[\w-]+(\[\d+\])*)*$"

_ZERO_NUMBER = {"const": 0}


def _string(pattern: str, description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "description": description}


def _duration(description: str = 'with its unit: "30s", "2m", "250ms" (0 alone)') -> Any:
    return {"anyOf": [_string(DURATION, description), _ZERO_NUMBER]}


# 0..1 as a string, and 0..100 %: "150%" is refused as the loader refuses it
_FRACTION = r"^\s*(?:0(?:\.[0-9]*)?|\.[0-9]+|1(?:\.0*)?)\s*$"
_PERCENT = r"^\s*(?:100(?:\.0*)?|[0-9]{1,2}(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*$"
_PROBABILITY = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1, "description": "a fraction"},
        _string(_FRACTION, "a fraction from 0 to 1, as a string"),
        _string(_PERCENT, "a percentage from 0 to 100, such as 5%"),
    ]
}


def _link_param(name: str) -> Any:
    parser = DIRECTION_KEYS.get(name) or LINK_KEYS.get(name)
    if name in DURATION_PARAMS:
        return _duration()
    if parser is units.rate:
        return {"anyOf": [_string(RATE, 'with its unit: "768kbit", "2MB/s"'), _ZERO_NUMBER]}
    if parser is units.size:
        return {"anyOf": [{"type": "integer", "minimum": 0}, _string(SIZE, '"1460", "64KiB"')]}
    if name == "window":  # a size, and never 0: nothing would ever be in flight
        return {"anyOf": [{"type": "integer", "minimum": 1}, _string(SIZE, '"3MiB", "64KiB"')]}
    if parser is units.probability:
        return _PROBABILITY
    if name == "distribution":
        return {"enum": list(DISTRIBUTIONS)}
    if name == "gemodel":
        four = {"type": "array", "items": _PROBABILITY, "minItems": 4, "maxItems": 4}
        return {"anyOf": [four, {"type": "string"}]}
    if name == "outages":
        window = {"type": "array", "prefixItems": [_duration(), _duration()], "minItems": 2}
        return {"type": "array", "items": {**window, "maxItems": 2}}
    return {}  # a parameter added since: at least its name is known


def _links() -> dict[str, Any]:
    direction = {
        "type": "object",
        "properties": {name: _link_param(name) for name in DIRECTION_KEYS},
        "additionalProperties": False,
    }
    return {
        "Direction": direction,
        "Link": {
            "type": "object",
            "description": "a profile and overrides: see docs/links.md",
            "properties": {
                "profile": {"enum": list(PROFILES)},
                "up": {"$ref": "#/$defs/Direction"},
                "down": {"$ref": "#/$defs/Direction"},
                **{name: _link_param(name) for name in [*DIRECTION_KEYS, *LINK_KEYS]},
            },
            "additionalProperties": False,
        },
    }


def _expect() -> dict[str, Any]:
    time = {"anyOf": [_string(COMPARE_TIME, 'a comparison with a unit: "< 2s"'), _ZERO_NUMBER]}
    count = {"anyOf": [_string(COMPARE_COUNT, 'a comparison: "== 0", "< 5"'), {"type": "number"}]}
    return {
        "type": "object",
        "description": "metric = comparison; every metric is in docs/metrics.md",
        "properties": {
            name: time if metric_names.unit(name) == "s" else count for name in metric_names.names()
        },
        "additionalProperties": False,
    }


def _hook(kind: type) -> dict[str, Any]:
    if kind is Duration:
        return dict(_duration())
    if kind is Dist:
        return {"anyOf": [_string(DIST, '"3s", "2s..6s", "exp(30s)", "normal(3s, 1s)"')]}
    raise NotImplementedError


def _no_null(node: Any) -> Any:
    """TOML has no null: ``X | None`` fields are just optional, so the null goes."""
    if isinstance(node, list):
        return [_no_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _no_null(value) for key, value in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        kept = [option for option in options if option != {"type": "null"}]
        del out["anyOf"]
        out = {**kept[0], **out} if len(kept) == 1 else {**out, "anyOf": kept}
        out.pop("default", None)
    return out


def strict_schema(scenario: type) -> dict[str, Any]:
    """The schema of ``scenario`` (the Scenario struct), with what msgspec cannot say."""
    result: dict[str, Any] = _no_null(msgspec.json.schema(scenario, schema_hook=_hook))
    defs = result["$defs"]
    top = defs["Scenario"]["properties"]
    top["links"]["additionalProperties"] = {"$ref": "#/$defs/Link"}
    top["expect"] = {**_expect(), "default": {}}
    top["sweep"] = {
        "type": "object",
        "description": "one or two dotted keys, each with the list of values to run",
        "maxProperties": 2,
        "propertyNames": {"pattern": SWEPT_KEY},
        "additionalProperties": {"type": "array", "minItems": 1},
        "default": {},
    }
    # what each action needs: an outage its duration, a degrade the link to switch to
    defs["Fault"]["allOf"] = [
        {
            "if": {"properties": {"action": {"const": action}}},
            "then": {"required": [key]},
        }
        for action, key in (("outage", "duration"), ("degrade", "link"))
    ]
    for group in ("operators", "visitors"):  # a file plays at least one of each
        top[group]["minItems"] = 1
        defs["Scenario"]["required"].append(group)
    defs.update(_links())
    return result
