"""Plays a scenario: the embedded server, operators and visitors on their links, faults.

Arrivals are open-loop: the timetable is drawn from the seed before the run
starts, and every visitor logs when it was meant to arrive beside when it did.
The run writes its raw event log; metrics come afterwards from
:mod:`simulator.checks`.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio

from server import demo
from server.app import ServerConfig
from server.core import Settings
from server.serve import open_server

from . import events as ev
from .actors.operator import OperatorLogin, VirtualOperator
from .actors.stage import Stage
from .actors.visitor import VirtualVisitor
from .scenario import Fault, Loaded, ScenarioError, VisitorGroup

PASSWORD = "virtual-operator"
#: Seconds after the scenario's duration during which nothing new starts and messages
#: already sent still arrive, so the end of a run does not count as loss.
DRAIN = 5.0


def check_runnable(loaded: Loaded) -> None:
    """Refuse, before anything starts, what this runner cannot play yet."""
    s = loaded.scenario
    missing = []
    if s.clock == "virtual":
        missing.append('clock = "virtual" (the virtual clock comes with issue 6)')
    if s.server.target is not None:
        missing.append("server.target (runs use the embedded server for now)")
    missing += [
        f"faults[{i}].action = server_restart"
        for i, fault in enumerate(s.faults)
        if fault.action == "server_restart"
    ]
    if missing:
        raise ScenarioError(f"{loaded.path}: not supported yet: {'; '.join(missing)}")


def arrivals(group: VisitorGroup, duration: float, rng: random.Random) -> list[float]:
    """When each visitor of a group arrives, seconds into the run (open loop)."""
    window = group.over.seconds if group.over is not None else duration
    if group.arrival == "start":
        return [0.0] * group.count
    if group.arrival == "uniform":
        return [window * (i + 0.5) / group.count for i in range(group.count)]
    times: list[float] = []
    t = 0.0
    rate = group.count / window if window > 0 else float("inf")
    while len(times) < group.count:
        t += rng.expovariate(rate)
        times.append(min(t, window))
    return times


@dataclass
class Run:
    """What a finished run hands to the report."""

    events: list[ev.Event]
    operator_names: dict[str, str]
    partial: bool = False
    info: dict[str, Any] = field(default_factory=dict)


async def run_scenario(
    loaded: Loaded,
    *,
    progress: Callable[[float, dict[str, int]], None] = lambda t, counts: None,
    stop_on_interrupt: bool = False,
    drain: float = DRAIN,
) -> Run:
    """Run one scenario on the real clock against the embedded server."""
    s = loaded.scenario
    log: list[ev.Event] = []
    stage_box: dict[str, Stage] = {}

    def observe(event: str, fields: dict[str, Any]) -> None:
        if event == "ring_stopped" and "stage" in stage_box:
            stage = stage_box["stage"]
            log.append(
                ev.ServerDecision(
                    t=stage.now(),
                    call=fields["call"],
                    operator=fields["operator"],
                    reason=fields["reason"],
                )
            )

    settings = Settings(
        ring_timeout=s.server.ring_timeout.seconds,
        max_chats=s.server.max_chats,
        binding=s.server.binding,  # type: ignore[arg-type]
    )
    config = ServerConfig(demo_settings=settings, observer=observe)
    async with open_server(config) as server:
        logins = await _create_operators(server.url, loaded)
        stage = Stage(
            url=server.url,
            t0=trio.current_time(),
            seed=s.seed,
            log=log.append,
            link_for=loaded.link,
            precise=True,
        )
        stage_box["stage"] = stage
        rng = random.Random(stage.seed_for("timetable"))
        operators = [
            VirtualOperator(stage, group, i, logins[f"{group.name}-{i}"])
            for group in s.operators
            for i in range(group.count)
        ]
        visitors = [
            VirtualVisitor(stage, group, i, at)
            for group in s.visitors
            for i, at in enumerate(arrivals(group, s.duration.seconds, rng))
        ]
        actors = {op.name: op for op in operators} | {v.name: v for v in visitors}
        interrupted = trio.Event()
        async with trio.open_nursery() as nursery:
            if stop_on_interrupt:
                nursery.start_soon(_watch_interrupt, nursery.cancel_scope, interrupted)
            nursery.start_soon(_end_of_run, stage, s.duration.seconds, drain, nursery.cancel_scope)
            for op in operators:
                nursery.start_soon(op.run)
            await trio.sleep(0.5)  # operators log in before the first visitor arrives
            for visitor in visitors:
                nursery.start_soon(visitor.run)
            for fault in s.faults:
                nursery.start_soon(_apply_fault, stage, loaded, fault, actors)
            nursery.start_soon(_report_progress, stage, log, progress)
        return Run(log, dict(stage.operator_names), partial=interrupted.is_set())


async def _end_of_run(stage: Stage, duration: float, drain: float, scope: trio.CancelScope) -> None:
    """At ``duration`` actors start nothing new; what is in flight gets ``drain`` s."""
    await stage.sleep_until(duration)
    stage.closing = True
    await trio.sleep(drain)
    scope.cancel()


async def _watch_interrupt(scope: trio.CancelScope, interrupted: trio.Event) -> None:
    """Ctrl-C ends the run early; what was logged so far still makes a (partial) report."""
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            interrupted.set()
            scope.cancel()
            return


async def _report_progress(
    stage: Stage, log: list[ev.Event], progress: Callable[[float, dict[str, int]], None]
) -> None:
    while True:
        ringing: set[tuple[str, str]] = set()
        for e in log:
            if isinstance(e, ev.RingStart):
                ringing.add((e.call, e.operator))
            elif isinstance(e, ev.RingStop):
                ringing.discard((e.call, e.operator))
        counts = {
            "rings": len(ringing),
            "calls": sum(isinstance(e, ev.CallPlaced) for e in log),
            "messages": sum(isinstance(e, ev.MessageSent) for e in log),
        }
        progress(stage.now(), counts)
        await trio.sleep(1.0)


async def _create_operators(url: str, loaded: Loaded) -> dict[str, OperatorLogin]:
    """The scenario's operators as accounts of the embedded server (via the admin API)."""
    login, _, password, _ = demo.OPERATORS[0]  # the demo admin
    logins = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        token = (await http.post("/api/login", json={"login": login, "password": password})).json()[
            "token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        for group in loaded.scenario.operators:
            for i in range(group.count):
                name = f"{group.name}-{i}"
                response = await http.post(
                    "/api/operators",
                    json={"login": name, "name": f"{group.name} {i}", "password": PASSWORD},
                    headers=headers,
                )
                response.raise_for_status()
                logins[name] = OperatorLogin(name, PASSWORD)
    return logins


async def _apply_fault(stage: Stage, loaded: Loaded, fault: Fault, actors: dict[str, Any]) -> None:
    await stage.sleep_until(fault.at.seconds)
    base, _, index = fault.target.partition("[")
    group = base.split(".", 1)[1] if "." in base else ""
    chosen = [
        actor
        for name, actor in actors.items()
        if name.split("[")[0] == group and (not index or name == f"{group}[{index}")
    ]
    for actor in chosen:
        wire = getattr(actor, "wire", None)
        if wire is None:
            continue
        if fault.action == "outage" and wire.link is not None and fault.duration is not None:
            wire.link.cut(fault.duration.seconds)
        elif fault.action == "degrade" and fault.link is not None:
            wire.switch(loaded.link(fault.link))
        elif fault.action == "restore":
            wire.switch(loaded.link(actor.group.link))
        elif fault.action == "reset" and wire.link is not None:
            wire.link.cut(1.0, reset_after=0.0)
