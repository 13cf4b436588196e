"""Plays a scenario: the embedded server, operators and visitors on their links, faults.

Arrivals are open-loop: the timetable is drawn from the seed before the run
starts, and every visitor logs when it was meant to arrive beside when it did.
The run writes its raw event log; metrics come afterwards from
:mod:`simulator.report.metrics`.
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import trio

from server import protocol as p

from ..network.stack import Network, RealNetwork
from ..network.virtual.net import VirtualNetwork
from ..record import events as ev
from ..record.eventlog import EventLog
from ..record.tally import Tally
from ..scenario import Fault, Loaded, ScenarioError, VisitorGroup
from . import gc_freeze
from .actors.operator import OperatorLogin, VirtualOperator
from .actors.stage import Stage
from .actors.visitor import VirtualVisitor
from .actors.wire import cut, switch
from .server_under_test import ServerUnderTest, open_server_under_test, prepare

PASSWORD = "virtual-operator"
#: Seconds after the scenario's duration during which nothing new starts and messages
#: already sent still arrive, so the end of a run does not count as loss.
DRAIN = 5.0
#: Seconds between progress reports, on the run's clock: ``progress`` is called on
#: deadlines this far apart from its first call (later only if the run's timers are).
PROGRESS_PERIOD = 0.5


def check_runnable(loaded: Loaded) -> None:
    """Refuse, before anything starts, what this runner cannot play."""
    s = loaded.scenario
    problems = []
    if loaded.clock == "virtual" and s.server.target is not None:
        problems.append('clock = "virtual" needs the embedded server, not server.target')
    if s.server.target is not None:
        problems += [
            f"faults[{i}]: server_restart needs the embedded server, not server.target"
            for i, fault in enumerate(s.faults)
            if fault.action == "server_restart"
        ]
    if problems:
        raise ScenarioError(f"{loaded.path}: {'; '.join(problems)}")


def arrivals(group: VisitorGroup, duration: float, rng: random.Random) -> list[float]:
    """When each visitor of a group arrives, seconds into the run (open loop)."""
    window = group.over.seconds if group.over is not None else duration
    if group.arrival == "start":
        return [0.0] * group.count
    if group.arrival == "uniform":
        return [window * (i + 0.5) / group.count for i in range(group.count)]
    if group.arrival == "ramp":  # the rate grows linearly from 0: the inverse of t**2
        return [window * math.sqrt((i + 0.5) / group.count) for i in range(group.count)]
    # A Poisson process that brings exactly ``count`` visitors in the window puts them at
    # ``count`` uniform random times (its arrivals given their number). Drawing exponential
    # gaps instead ran past the window for a third of the seeds, and the visitors clamped
    # to its end came when the run was closing: they never called.
    return sorted(rng.uniform(0.0, window) for _ in range(group.count))


@dataclass
class Run:
    """What a finished run hands to the report."""

    log: EventLog
    partial: bool = False

    @cached_property
    def events(self) -> list[ev.Event]:
        """The log decoded, once: the run is over, so holding it all costs no timing."""
        return list(self.log)


async def run_scenario(
    loaded: Loaded,
    *,
    progress: Callable[[float, dict[str, int]], None] = lambda t, counts: None,
    stop_on_interrupt: bool = False,
    drain: float = DRAIN,
    server_db: str | None = None,
) -> Run:
    """Run one scenario against its server (embedded or target).

    With ``clock = "virtual"`` everything runs on an in-memory network and must be run
    under ``trio.testing.MockClock`` (see :func:`run`); otherwise on loopback sockets.
    """
    s = loaded.scenario
    virtual = loaded.clock == "virtual"
    net: Network = VirtualNetwork() if virtual else RealNetwork()
    log = EventLog()
    tally = Tally()  # the live counts, from the first event on
    log.watch(tally.take)
    stage_box: dict[str, Stage] = {}

    def observe(event: str, fields: dict[str, Any]) -> None:
        """The embedded server's side of the story, on the run's clock."""
        if "stage" in stage_box:
            log.extend(_server_events(stage_box["stage"].now(), event, fields))

    seed = Stage.derive(s.seed, "server") if virtual else None
    # the real clock: what exists at the start (modules, an embedded server's startup)
    # is frozen, so the collector's full passes stay short (see gc_freeze.py)
    with contextlib.nullcontext() if virtual else gc_freeze.frozen_while_running():
        async with open_server_under_test(loaded, observe, net, seed, server_db) as server:
            await prepare(server.url, loaded, PASSWORD, net)
            stage = Stage(
                url=server.url,
                t0=trio.current_time(),
                seed=s.seed,
                log=log.append,
                link_for=loaded.link,
                precise=not virtual,  # virtual time needs no timer slack
                server=s.server,
                net=net,
                link_faults=any(f.action != "server_restart" for f in s.faults),
            )
            stage_box["stage"] = stage
            rng = random.Random(stage.seed_for("timetable"))
            operators = [
                VirtualOperator(stage, group, i, OperatorLogin(f"{group.name}-{i}", PASSWORD))
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
                # started either way: the same tasks make the same run of a seed
                nursery.start_soon(
                    _watch_interrupt, nursery.cancel_scope, interrupted, stop_on_interrupt
                )
                playing: list[tuple[Any, trio.CancelScope]] = []
                nursery.start_soon(
                    _end_of_run, stage, s.duration.seconds, drain, playing, nursery.cancel_scope
                )
                for op in operators:
                    playing.append((op, await nursery.start(_play, op.run)))
                await trio.sleep(0.5)  # operators log in before the first visitor arrives
                for visitor in visitors:
                    playing.append((visitor, await nursery.start(_play, visitor.run)))
                for fault in s.faults:
                    nursery.start_soon(_apply_fault, stage, loaded, fault, actors, server)
                nursery.start_soon(_report_progress, stage, tally, progress)
                if not virtual and s.server.target is not None:
                    # only with no server in this process: an embedded server's
                    # connections die as cycles, which would stay frozen to the end
                    nursery.start_soon(_keep_frozen)
            return Run(log, partial=interrupted.is_set())


def _server_events(t: float, event: str, fields: dict[str, Any]) -> list[ev.Event]:
    """What the run logs of one of the embedded server's lifecycle events."""
    if event == "ring_stopped":
        return [
            ev.ServerDecision(
                t=t, call=fields["call"], operator=fields["operator"], reason=fields["reason"]
            )
        ]
    if event == "frame_received" and isinstance(fields["message"], p.Accept):
        return [ev.ServerReceived(t=t, call=fields["message"].call, operator=fields["owner"])]
    if event == "visitor_id_conflict":
        return [
            ev.ServerConflict(
                t=t,
                visitor_id=fields["visitor"],
                first_page=fields["first_page_instance"],
                page=fields["page_instance"],
                binding=fields["binding"],
            )
        ]
    return []


async def _play(
    actor: Callable[[], Awaitable[None]], task_status: trio.TaskStatus[trio.CancelScope]
) -> None:
    """Run one actor in a cancel scope of its own, handed back so the run can end it."""
    with trio.CancelScope() as scope:
        task_status.started(scope)
        await actor()


async def _end_of_run(
    stage: Stage,
    duration: float,
    drain: float,
    actors: list[tuple[Any, trio.CancelScope]],
    scope: trio.CancelScope,
) -> None:
    """At ``duration`` actors start nothing new; what is in flight gets ``drain`` s. Then
    actors leave one at a time, in a fixed order, so their goodbyes log the same way on
    every run of a seed; then the rest stops. Visitors leave first: a call still ringing
    ends with its visitor (the consoles hear ``ring_stop``), as it would on a real site,
    instead of consoles closing mid-ring."""
    await stage.sleep_until(duration)
    stage.closing = True
    await trio.sleep(drain)
    visitors = [a for a in actors if isinstance(a[0], VirtualVisitor)]
    others = [a for a in actors if not isinstance(a[0], VirtualVisitor)]
    for group in (visitors, others):
        if stage.precise:  # real clock: all at once (one by one, each waits for its link)
            async with trio.open_nursery() as leaving:
                for actor, actor_scope in group:
                    leaving.start_soon(_leave, actor, actor_scope)
        else:  # virtual time: each goodbye settles before the next one
            from trio.testing import wait_all_tasks_blocked  # loaded by virtual runs anyway

            for actor, actor_scope in group:
                await _leave(actor, actor_scope)
                with trio.move_on_after(1.0):
                    await wait_all_tasks_blocked()
        if group is visitors:
            await trio.sleep(min(drain, 1.0))  # their goodbyes reach the consoles first
    scope.cancel()


async def _leave(actor: Any, scope: trio.CancelScope) -> None:
    leave = getattr(actor, "leave", None)
    if leave is not None:
        await leave()
    scope.cancel()


async def _watch_interrupt(scope: trio.CancelScope, interrupted: trio.Event, on: bool) -> None:
    """Ctrl-C ends the run early; what was logged so far still makes a (partial) report."""
    if not on:
        await trio.sleep_forever()
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            interrupted.set()
            scope.cancel()
            return


async def _keep_frozen() -> None:
    while True:
        await trio.sleep(gc_freeze.PERIOD)
        gc_freeze.freeze_all()


async def _report_progress(
    stage: Stage, tally: Tally, progress: Callable[[float, dict[str, int]], None]
) -> None:
    tick = stage.now()
    while True:
        progress(stage.now(), tally.counts())
        # on deadlines, not after intervals: how late a tick comes is then the timer's
        # lateness alone
        tick += PROGRESS_PERIOD
        await stage.sleep_until(tick)


async def _apply_fault(
    stage: Stage,
    loaded: Loaded,
    fault: Fault,
    actors: dict[str, Any],
    server: ServerUnderTest,
) -> None:
    await stage.sleep_until(fault.at.seconds)
    if fault.action == "server_restart":
        stage.log(ev.FaultApplied(t=stage.now(), action=fault.action, target="server", actors=0))
        await server.restart(fault.duration.seconds if fault.duration else 0.0)
        return
    base, _, index = fault.target.partition("[")
    group = base.split(".", 1)[1] if "." in base else ""
    chosen = [
        actor
        for name, actor in actors.items()
        if name.split("[")[0] == group and (not index or name == f"{group}[{index}")
    ]
    # an actor that has not connected yet has a path all the same: an outage holds its
    # first connect too
    hit = [actor for actor in chosen if getattr(actor, "path", None) is not None]
    stage.log(
        ev.FaultApplied(t=stage.now(), action=fault.action, target=fault.target, actors=len(hit))
    )
    for actor in hit:
        wire = getattr(actor, "wire", None)
        if fault.action == "outage" and fault.duration is not None:
            cut(actor.path.path, wire, fault.duration.seconds)
        elif fault.action in ("degrade", "restore"):
            spec = loaded.link(fault.link if fault.link is not None else actor.group.link)
            switch(actor.path.path, wire, spec)
        elif fault.action == "reset" and wire is not None and wire.link is not None:
            wire.link.cut(1.0, reset_after=0.0)  # a RST now; the path stays up


def first_error(exc: BaseException) -> BaseException:
    """The first real exception inside nested exception groups (trio nests nurseries)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def run(loaded: Loaded, **options: Any) -> Run:
    """Run a scenario to the end in a fresh trio run, on the clock it asks for."""
    clock = None
    if loaded.clock == "virtual":
        from trio.testing import MockClock  # not at the top: trio.testing loads pytest

        clock = MockClock(autojump_threshold=0)
        # trio picks the order of tasks woken together at random; from the seed, every
        # run of a seed is the same run (private, as trio's own Hypothesis hook uses it)
        trio._core._run._r.seed(Stage.derive(loaded.scenario.seed, "scheduler"))
    return trio.run(partial(run_scenario, loaded, **options), clock=clock)
