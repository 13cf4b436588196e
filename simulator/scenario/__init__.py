"""Scenario files: the TOML format QA writes, validated with messages that say where.

:mod:`.format` holds the tables, :mod:`.load` reads a file into the runs it asks for,
:mod:`.validate` and :mod:`.overrides` check it and apply ``--set``, and
:mod:`.metric_names` names what an ``[expect]`` may measure.
"""

from .expectations import Expectation, expectation
from .format import Fault, OperatorGroup, Scenario, Server, VisitorGroup, schema
from .load import Loaded, expand, load, parse, with_seed
from .validate import ScenarioError

__all__ = [
    "Expectation",
    "Fault",
    "Loaded",
    "OperatorGroup",
    "Scenario",
    "ScenarioError",
    "Server",
    "VisitorGroup",
    "expand",
    "expectation",
    "load",
    "parse",
    "schema",
    "with_seed",
]
