"""Scenario files: the TOML format QA writes, validated with messages that say where.

Every key is documented in ``docs/scenarios.md``; ``ringlab schema`` prints the
JSON Schema so editors can check files as they are typed. A bad file raises
:class:`ScenarioError` naming the file, the key path and what was expected.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from . import metric_names
from .dist import Dist, Duration
from .link import LinkSpec, ParamError, from_table
from .link import parse as parse_link
from .link.units import DURATION_UNITS, format_duration
from .scenario_checks import ScenarioError as ScenarioError  # raised here, caught by callers
from .scenario_checks import apply_overrides, check_groups, check_scenario, error, msgspec_error

Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Count = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


def _dist(text: str) -> Any:
    # a factory, not a value: msgspec's JSON Schema cannot encode custom-typed defaults
    return msgspec.field(default_factory=lambda: Dist.parse(text))


def _duration(text: str) -> Any:
    return msgspec.field(default_factory=lambda: Duration.parse(text))


class Server(msgspec.Struct, forbid_unknown_fields=True):
    """The server under test: the embedded reference server (its settings), or ``target``."""

    # http(s)://host:port of a running server
    target: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+/?$")] | None = None
    account: str = "demo"  # the account the visitors' button code names
    button: str = "btn_main"  # the chat button of that account
    admin_login: str = "alice"  # creates the virtual operators (the demo admin by default)
    admin_password: str = "alice-demo"
    ring_timeout: Duration = _duration("120s")
    max_chats: Annotated[int, msgspec.Meta(ge=1)] = 5
    binding: Literal["legacy", "strict"] = "legacy"


class OperatorGroup(msgspec.Struct, forbid_unknown_fields=True):
    """Virtual operators that behave alike."""

    name: Name
    count: Count = 1
    link: str = "lan"  # a name under [links], a profile, or a compact link spec
    policy: Literal["confirm", "optimistic"] = "confirm"
    reaction: Dist = _dist("1s..3s")  # from ring start to the Accept click
    decline: Probability = 0.0  # chance of clicking X on a ringing tab instead
    reply: Dist = _dist("2s..5s")  # think time before each answer
    replies: Annotated[int, msgspec.Meta(ge=0)] = 2  # answers per visitor message burst
    close_after: Dist = _dist("20s..40s")  # chat length before X
    invite_visitors: Probability = 0.0  # chance, per visitor who arrives, of an invitation
    invite_operator: Probability = 0.0  # chance, per chat, of inviting a colleague in
    max_chats: Annotated[int, msgspec.Meta(ge=1)] | None = None  # leaves rings unanswered beyond
    status: list[tuple[Duration, Literal["online", "away"]]] = []  # [[at, status], ...]


class VisitorGroup(msgspec.Struct, forbid_unknown_fields=True):
    """Virtual visitors that behave alike, arriving on an open-loop timetable."""

    name: Name
    count: Count = 1
    arrival: Literal["start", "uniform", "poisson", "ramp"] = "uniform"
    over: Duration | None = None  # arrivals spread over this window (default: the run)
    link: str = "lan"
    code: Literal["correct", "pinned", "cached", "wrong_account"] = "correct"
    call: Probability = 1.0  # chance of clicking the chat button
    patience: Dist = _dist("60s")  # hangs up after waiting this long
    messages: Annotated[int, msgspec.Meta(ge=0)] = 3
    think: Dist = _dist("2s..6s")  # between messages
    accept_invitation: Probability = 0.5
    leave_message: Probability = 1.0  # when the call is missed
    stay: Dist = _dist("2m")  # on the last page, when not chatting
    pages: Annotated[int, msgspec.Meta(ge=1)] = 1  # pages browsed (each a new page instance)
    browse: Dist = _dist("10s..30s")  # on each page before the last


class Fault(msgspec.Struct, forbid_unknown_fields=True):
    """Something that happens to links or the server at a set time."""

    at: Duration
    action: Literal["outage", "degrade", "restore", "reset", "server_restart"]
    target: str = ""  # operators.NAME, operators.NAME[i], visitors.NAME, visitors.NAME[i]
    duration: Duration | None = None  # outage: how long
    link: str | None = None  # degrade: the link to switch to


class Scenario(msgspec.Struct, forbid_unknown_fields=True):
    """One scenario file."""

    name: Name
    duration: Duration
    description: str = ""
    # the fault this scenario is written to reproduce (e.g. "the call keeps ringing after
    # Accept"): when set, expectations that hold mean "fault reproduced", not "passed"
    reproduces: str = ""
    seed: int = 1
    clock: Literal["real", "virtual"] | None = None  # default: virtual, real with a target
    server: Server = msgspec.field(default_factory=Server)
    links: dict[Name, dict[str, Any]] = {}
    operators: list[OperatorGroup] = []
    visitors: list[VisitorGroup] = []
    faults: list[Fault] = []
    expect: dict[str, str | float] = {}
    sweep: dict[str, list[Any]] = {}


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Duration:
        return Duration.parse(value)
    if kind is Dist:
        return Dist.parse(value)
    raise NotImplementedError


def schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (``ringlab schema``): as strict as the loader."""
    from .scenario_schema import strict_schema

    return strict_schema(Scenario)


_COMPARISON = re.compile(
    r"^\s*(<=|>=|==|!=|<|>)?\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$"
)
_EXPECTED = 'expected a comparison such as "< 2s" or "== 0"'


class Expectation(msgspec.Struct, frozen=True):
    """``metric op threshold``: e.g. ``ring_stop.others.p95 < 2.0`` (seconds)."""

    metric: str
    op: str
    threshold: float

    def holds(self, value: float | None) -> bool:
        """Whether a measured value meets it; no data never does."""
        if value is None:
            return False
        return {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "==": value == self.threshold,
            "!=": value != self.threshold,
        }[self.op]

    def describe(self) -> str:
        """With the threshold in its unit, as a file writes it: ``ring_stop.others.p95 <
        500ms``; ``lost_messages == 0``."""
        timed = metric_names.unit(self.metric) == "s"
        threshold = format_duration(self.threshold) if timed else f"{self.threshold:g}"
        return f"{self.metric} {self.op} {threshold}"

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


def expectation(metric: str, value: str | float) -> Expectation:
    """Parse ``"< 2s"``, ``"<= 3"``, ``0`` (means ``== 0``). A time metric needs a unit
    (``"< 2"`` is refused: seconds or milliseconds?), a count must have none."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{_EXPECTED}, got {value!r}")
    match = _COMPARISON.match(str(value))
    if match is None:
        raise ValueError(f"{_EXPECTED}, got {value!r}")
    op, number, unit = match[1] or "==", float(match[2]), match[3]
    if metric_names.unit(metric) == "s":
        if not unit and number != 0:
            raise ValueError(
                f'a time: expected a comparison with a unit, such as "{op} {match[2]}s",'
                f" got {value!r}"
            )
        if unit and unit not in DURATION_UNITS and unit.lower() not in DURATION_UNITS:
            units = ", ".join(u for u in DURATION_UNITS if u)
            raise ValueError(f"a time: expected a unit of time ({units}), got {value!r}")
        number *= DURATION_UNITS.get(unit, DURATION_UNITS.get(unit.lower(), 1.0))
    elif unit:
        raise ValueError(
            f'a count: expected a comparison with a plain number, such as "{op} {match[2]}",'
            f" got {value!r}"
        )
    return Expectation(metric, op, number)


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
    where = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{where}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
    overrides = overrides or {}
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
    """
    overrides = dict(overrides or {})
    base = load(path, overrides, labels)
    sweep = {k: v for k, v in base.scenario.sweep.items() if k not in overrides}
    if not sweep:
        if not base.scenario.sweep:
            return [base]
        return [load(path, {**overrides, "sweep": {}}, labels)]
    runs = []
    for values in itertools.product(*sweep.values()):
        point = dict(zip(sweep, values, strict=True))
        said = {key: f"{path}: sweep: {key} = {value!r}" for key, value in point.items()}
        loaded = load(path, {**overrides, **point, "sweep": {}}, {**(labels or {}), **said})
        runs.append(msgspec.structs.replace(loaded, point=point))
    return runs


def parse(data: dict[str, Any], where: str = "scenario") -> Loaded:
    """Validate an already-read scenario table (groups may be absent: see :func:`load`)."""
    check_scenario(data, Scenario, where)
    try:
        scenario = msgspec.convert(data, Scenario, dec_hook=_dec_hook)
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
