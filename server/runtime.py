"""The runtime: every change to the chat state goes through one queue, in order.

A change is a function of the current time that asks the hub for effects. The committer
task takes whatever changes are waiting (a batch), applies them to the hub one after the
other, stores every record they produced in **one** transaction (group commit), and only
then carries their effects out: deliveries, closes, timers, logs. So

- nothing is shown to anybody before it is stored, and an ``ok`` implies it is on disk;
- a decoded request is applied whole or not at all, whatever happens to the connection it
  came on: the committer runs in the server's nursery, not in the connection's scope, so
  cutting the connection cannot cancel a change halfway (before, the store write was a
  cancel point of the reader, and a cut there left the hub changed, sequenced and
  answering ``ok``, with nothing stored or delivered);
- a frame goes to the connection its session had when the change was applied, so a
  resume applied later in the same batch gets its ``welcome`` before any replay.

Requests wait in a bounded queue. One that would overflow it, that arrives while the
oldest waiting change has waited longer than ``max_wait``, that waited longer than
``max_lag`` before it was even read (behind its connection's earlier frames: see
:mod:`server.hypercorn_patch`), or that waited longer than ``max_wait`` since it reached the
server by the time its batch comes, is answered ``server_busy`` and not applied: past its
ceiling the server sheds load with an answer instead of letting every answer's latency grow
without bound, and it sheds at the door, where refusing costs least.

If a transaction fails (a full disk), the hub is ahead of the store: the runtime stops
applying changes, closes every connection (1011) and reports :attr:`failure`; the server
shuts down without answering the changes that were not stored.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import trio

from . import protocol as p
from .core import (
    CancelTimer,
    CloseSession,
    Deliver,
    Effect,
    Lifecycle,
    Message,
    Persist,
    StartTimer,
)
from .metrics import Metrics
from .store import Store
from .timers import Timers

log = logging.getLogger("ringlab.server")

#: Requests waiting for the committer before new ones are answered ``server_busy``.
QUEUE_LIMIT = 10_000
#: Seconds a request may wait for its batch; an older one is answered ``server_busy``.
MAX_WAIT = 0.5
#: Changes applied and stored together at most (a bound on one transaction's time).
MAX_BATCH = 512
#: Seconds the server may run late (see :attr:`Runtime.lag`), or a request may wait before
#: it is read, before requests are answered ``server_busy`` at the door.
MAX_LAG = 0.25

Change = Callable[[float], list[Effect]]


class Peer(Protocol):
    """What the runtime needs of a connection: a frame queued, a close asked for."""

    def push(self, text: str) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


#: Answers a request that was not applied: ``refuse(code, retry_after)``.
Refuse = Callable[[str, float | None], None]


@dataclass(eq=False, slots=True)
class Job:
    """A change waiting for its batch. ``refuse`` answers a request not applied."""

    change: Change
    refuse: Refuse | None
    queued_at: float
    #: when it reached the server (a request's bytes, before they were read; a change the
    #: server makes itself, when queued): its wait for ``max_wait`` counts from then, and
    #: the runtime's own lag from ``queued_at``
    arrived: float
    done: trio.Event = field(default_factory=trio.Event)
    failed: bool = False


class RuntimeFailed(Exception):
    """The change was not applied: the runtime stopped after a failed transaction."""


@dataclass(slots=True)
class _Batch:
    records: list[Any] = field(default_factory=list)
    actions: list[Callable[[], None]] = field(default_factory=list)


class Runtime:
    """The hub's single writer. Start :meth:`run` in the server's nursery."""

    def __init__(
        self,
        store: Store,
        timers: Timers,
        metrics: Metrics,
        clock: Callable[[], float],
        observer: Callable[[str, dict[str, Any]], None] | None = None,
        *,
        queue_limit: int = QUEUE_LIMIT,
        max_wait: float = MAX_WAIT,
        max_lag: float = MAX_LAG,
    ) -> None:
        self.store = store
        self.timers = timers
        self.metrics = metrics
        self.clock = clock
        self.observer = observer
        self.queue_limit = queue_limit
        self.max_wait = max_wait
        self.max_lag = max_lag
        #: How late the server runs: how long the committer, once there was work for it,
        #: waited for its turn in trio's scheduler (or how long the oldest change of its
        #: last batch waited). Past its ceiling every round of the scheduler takes longer,
        #: a request waits a round at each step (read, queue, apply, write), and its answer
        #: is as late as a few rounds; the runtime's own queue sees only one of those waits.
        self.lag = 0.0
        self._lag_at = 0.0  # when it was measured
        self._woken_at = 0.0
        #: session id -> its live connection
        self.conns: dict[str, Peer] = {}
        self._jobs: deque[Job] = deque()
        self._requests = 0  # requests among the jobs waiting
        self._wake = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self.failure: str | None = None
        self.failed = trio.Event()
        self.stopped = False  # the server is stopping: its store is closing

    def submit(self, change: Change) -> Job:
        """Queue a change the server makes itself (a connection, a timer, an admin's
        edit): always taken, never shed."""
        now = trio.current_time()
        return self._queue(Job(change, None, now, now))

    def submit_request(
        self, change: Change, refuse: Refuse, arrived: float | None = None
    ) -> Job | None:
        """Queue a client's request; None (and nothing queued) when the queue is full or
        late. ``refuse`` answers it if it waits too long (``server_busy``), or if applying
        it failed (``internal``). ``arrived`` is when it reached the server (before it was
        read: see :mod:`server.hypercorn_patch`); its wait counts from then."""
        now = trio.current_time()
        since = now if arrived is None else min(arrived, now)
        if self._requests >= self.queue_limit or self.failure is not None:
            return None
        if now - since > self.max_lag:
            # it waited that long in its socket, behind its own connection's earlier
            # frames: the server runs late for this client, answer it now
            return None
        if self._jobs and now - self._jobs[0].queued_at > self.max_wait:
            return None  # the queue is already late: refuse now, cheaply, not after waiting
        # a lag measured long ago, before a quiet spell, says nothing about now; running
        # late, the committer measures it again every round
        if self.lag > self.max_lag and now - self._lag_at < 2 * self.lag:
            self._poke()  # the committer measures the lag again, even with nothing to do
            return None
        self._requests += 1
        return self._queue(Job(change, refuse, now, since))

    async def do(self, change: Change) -> None:
        """Queue a change and wait until it is stored and carried out."""
        job = self.submit(change)
        await job.done.wait()
        if job.failed:
            raise RuntimeFailed(self.failure or "")

    def _queue(self, job: Job) -> Job:
        if self.failure is not None or self.stopped:
            job.failed = True
            job.done.set()
            return job
        self._jobs.append(job)
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._poke()
        return job

    def _poke(self) -> None:
        if not self._wake.is_set():
            self._woken_at = trio.current_time()
            self._wake.set()

    @property
    def waiting(self) -> int:
        """Requests waiting for their batch (the ``ringlab_queue_requests`` gauge)."""
        return self._requests

    async def drain(self) -> None:
        """Wait until every change queued so far is stored and carried out; take no more
        (the store closes next: a timer firing during shutdown finds it closed)."""
        while self._jobs or not self._idle.is_set():
            await self._idle.wait()
        self.stopped = True

    async def run(self) -> None:
        """Apply, store and carry out batches of changes until cancelled or failed."""
        while self.failure is None:
            if not self._jobs:
                self._idle.set()
                self._wake = trio.Event()
                await self._wake.wait()
                self._lag_at = trio.current_time()
                self.lag = self._lag_at - self._woken_at
                continue
            jobs = [self._jobs.popleft() for _ in range(min(len(self._jobs), MAX_BATCH))]
            # with work waiting at every turn the committer does not sleep, and the oldest
            # change's wait says how late it runs
            self._lag_at = trio.current_time()
            self.lag = self._lag_at - jobs[0].queued_at
            batch = _Batch()
            for job in jobs:
                self._apply(job, batch)
            if batch.records:
                try:
                    await self.store.apply(batch.records)
                except Exception as exc:  # the store is behind the hub now: stop
                    self._fail(jobs, exc)
                    return
                self.metrics.commits.observe(len(jobs))
                self.metrics.messages.inc(sum(isinstance(r, Message) for r in batch.records))
            for action in batch.actions:
                action()
            for job in jobs:
                job.done.set()

    def _apply(self, job: Job, batch: _Batch) -> None:
        if job.refuse is not None:
            self._requests -= 1
            waited = trio.current_time() - job.arrived
            if waited > self.max_wait:
                job.refuse("server_busy", self.max_wait)
                return
        try:
            effects = job.change(self.clock())
        except Exception:  # a bug in the hub: say so, keep serving the others
            log.exception("a change failed; it was not applied")
            job.failed = True
            if job.refuse is not None:
                job.refuse("internal", None)
            return
        self._stage(effects, batch)

    def _stage(self, effects: list[Effect], batch: _Batch) -> None:
        """Sort one change's effects: records for the transaction, and what to do after it,
        in order, with each frame's connection taken now (see the module's docstring)."""
        actions = batch.actions
        for fx in effects:
            if isinstance(fx, Persist):
                batch.records.append(fx.record)
            elif isinstance(fx, Deliver):
                conn = self.conns.get(fx.session_id)
                if conn is not None:
                    actions.append(partial(conn.push, p.encode(fx.message)))
            elif isinstance(fx, CloseSession):
                conn = self.conns.pop(fx.session_id, None)
                if conn is not None:
                    actions.append(partial(conn.close, fx.code, fx.reason))
            elif isinstance(fx, StartTimer):
                actions.append(partial(self._start_timer, fx))
            elif isinstance(fx, CancelTimer):
                actions.append(partial(self.timers.cancel, fx.key))
            elif isinstance(fx, Lifecycle):
                actions.append(partial(self._lifecycle, fx))

    def _start_timer(self, fx: StartTimer) -> None:
        delay = max(0.0, fx.at - self.clock())
        self.timers.start(fx.key, trio.current_time() + delay)

    def _lifecycle(self, fx: Lifecycle) -> None:
        self.metrics.observe(fx)
        logging_it = log.isEnabledFor(logging.INFO)
        if self.observer is None and not logging_it:
            return  # nobody reads the fields (a ring fan-out makes a thousand events)
        # outside the core an event is its name and its fields: the log line's format, and
        # what ServerConfig.observer is given (it also gets frame_received, not an event)
        fields = fx.fields()
        if self.observer is not None:
            self.observer(fx.name, fields)
        if logging_it:
            log.info("%s", json.dumps({"event": fx.name, **fields}, default=str))

    def _fail(self, jobs: list[Job], exc: Exception) -> None:
        self.failure = f"the database refused a write ({exc}); nothing of it was acknowledged"
        log.critical("%s: stopping", self.failure)
        for job in [*jobs, *self._jobs]:
            job.failed = True
            job.done.set()
        self._jobs.clear()
        for conn in list(self.conns.values()):
            conn.close(1011, "server error: the database failed")
        self.conns.clear()
        self._idle.set()
        self.failed.set()
