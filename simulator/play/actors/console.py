"""The console model of a virtual operator: the same tab state machine as the real console.

The machine is one table, ``server/static/tabstate.json``, which the browser console
(``server/static/js/tabstate.js``) imports too; this module interprets it the same way.
Both must pass the shared vectors in ``tests/vectors/console_tabs.json``, so a virtual
operator rings, stops and explains exactly as the browser console does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

Policy = Literal["confirm", "optimistic"]

#: Where the table is: served at ``/static/tabstate.json`` and shipped with the package.
TABLE_FILE = resources.files("server") / "static" / "tabstate.json"
_PLACEHOLDER = re.compile(r"\{(reason|notice)\}")


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one event: the tab's next state and the effects, in order."""

    state: str
    effects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the table: under ``when`` (a reason set; None: any reason), go to
    ``next`` (None: stay) and carry out the policy's effects."""

    when: frozenset[str] | None
    next: str | None
    effects: Mapping[str, tuple[str, ...]]


class TabMachine:
    """The tab table, checked when loaded: an inconsistent table fails at import, not in
    the middle of a run."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        self.states = frozenset(table["states"])
        self.events = frozenset(table["events"])
        self.policies: tuple[str, ...] = tuple(table["policies"])
        self.fallback_policy: str = table["fallback_policy"]
        self.notices: Mapping[str, str] = table["notices"]
        reasons = {name: frozenset(codes) for name, codes in table["reasons"].items()}
        self.rules: dict[tuple[str, str], tuple[Rule, ...]] = {
            (event, state): tuple(self._rule(raw, reasons) for raw in rules)
            for event, by_state in table["transitions"].items()
            for state, rules in by_state.items()
        }
        self._check()

    def _rule(self, raw: Mapping[str, Any], reasons: Mapping[str, frozenset[str]]) -> Rule:
        effects = raw["effects"]
        if isinstance(effects, list):
            effects = dict.fromkeys(self.policies, effects)
        when = raw.get("when")
        _require(when is None or when in reasons, f"no reason set {when!r}")
        return Rule(
            reasons[when] if when is not None else None,
            raw.get("next"),
            {policy: tuple(effects[policy]) for policy in self.policies},
        )

    def _check(self) -> None:
        _require(self.fallback_policy in self.policies, "fallback_policy is no policy")
        for (event, state), rules in self.rules.items():
            where = f"{event} in {state}"
            _require(event in self.events and state in self.states, f"{where}: undeclared")
            for rule in rules:
                _require(rule.next in self.states | {None}, f"{where}: no state {rule.next!r}")
                noticed = any("{notice}" in e for fx in rule.effects.values() for e in fx)
                explained = rule.when is not None and rule.when <= self.notices.keys()
                _require(explained or not noticed, f"{where}: {{notice}} of a reason without one")

    @classmethod
    def load(cls) -> TabMachine:
        """The table shipped with the server."""
        return cls(json.loads(TABLE_FILE.read_text(encoding="utf-8")))

    def step(self, policy: str, state: str, event: str, reason: str | None = None) -> Step:
        """The next state of one tab and the effects to carry out, in order."""
        for rule in self.rules.get((event, state), ()):
            if rule.when is None or reason in rule.when:
                known = policy if policy in self.policies else self.fallback_policy
                effects = tuple(self._fill(e, reason) for e in rule.effects[known])
                return Step(rule.next or state, effects)
        return Step(state)

    def _fill(self, effect: str, reason: str | None) -> str:
        # {reason}: the reason as text (None without one); {notice}: that reason's notice
        return _PLACEHOLDER.sub(
            lambda m: str(reason) if m[1] == "reason" else self.notices[reason or ""], effect
        )


def _require(holds: bool, problem: str) -> None:
    if not holds:
        raise ValueError(f"{TABLE_FILE}: {problem}")


#: The console tab machine, from ``server/static/tabstate.json``.
MACHINE = TabMachine.load()


def step(policy: Policy, state: str, event: str, reason: str | None = None) -> Step:
    """The next state of one tab and the effects to carry out, in order."""
    return MACHINE.step(policy, state, event, reason)


@dataclass
class Tab:
    """One tab of a virtual console: its state and whether it is ringing now."""

    key: str
    state: str = "none"
    sounding: bool = False
    room: str | None = None
    call: str | None = None


@dataclass
class ConsoleModel:
    """All tabs of one virtual console; ``fire`` returns the effects to carry out."""

    policy: Policy = "confirm"
    tabs: dict[str, Tab] = field(default_factory=dict)

    def tab(self, key: str) -> Tab:
        return self.tabs.setdefault(key, Tab(key))

    def fire(self, key: str, event: str, reason: str | None = None) -> tuple[str, ...]:
        tab = self.tab(key)
        result = step(self.policy, tab.state, event, reason)
        tab.state = result.state
        for effect in result.effects:
            if effect == "start_ring":
                tab.sounding = True
            elif effect in ("stop_ring", "remove_tab"):
                tab.sounding = False
        return result.effects

    def snapshot(self, keys: set[str]) -> dict[str, tuple[str, ...]]:
        """A snapshot replaced what the console knew; ``keys`` are the tabs it names (its
        rings, rooms and invites, fired first). Every other tab gets ``gone``: a ring that
        ended while the console was away stops. Returns the effects per tab."""
        return {key: self.fire(key, "gone") for key in list(self.tabs) if key not in keys}

    def ringing(self) -> list[str]:
        """Keys of the tabs ringing now."""
        return [key for key, tab in self.tabs.items() if tab.sounding]
