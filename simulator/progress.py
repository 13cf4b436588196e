"""Live progress of a run: a rich bar with the counts of the moment on a terminal, plain
lines every 10 s otherwise (CI logs)."""

from __future__ import annotations

import time
from types import TracebackType

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

PLAIN_EVERY = 10.0  # wall-clock seconds between plain lines (a virtual run is much faster)


def describe(counts: dict[str, int]) -> str:
    """The counts of the moment as one line."""
    return (
        f"connected {counts['connected']}  calls {counts['calls']}"
        f" (waiting {counts['waiting']})  chats {counts['chats']}  ringing {counts['ringing']}"
        f"  overrunning {counts['overrunning']}  messages {counts['messages']}"
    )


class LiveProgress:
    """``with LiveProgress(console, name, duration) as show: show(t, counts)``."""

    def __init__(self, console: Console, name: str, duration: float) -> None:
        self.console = console
        self.name = name
        self.duration = duration
        self._shown = -PLAIN_EVERY  # time.monotonic() of the last plain line
        self._ended = False  # the line at the end of the run is shown
        self._bar: Progress | None = None
        self._task = TaskID(0)

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:5.1f}/{task.total:.0f} s"),
                TextColumn("{task.fields[counts]}"),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.name, total=self.duration, counts="")
        return self

    def __call__(self, t: float, counts: dict[str, int]) -> None:
        elapsed = min(t, self.duration)
        if self._bar is not None:
            self._bar.update(self._task, completed=elapsed, counts=describe(counts))
            return
        ended = t >= self.duration and not self._ended
        if ended or time.monotonic() - self._shown >= PLAIN_EVERY:
            self._shown, self._ended = time.monotonic(), self._ended or ended
            click.echo(f"{self.name}: {elapsed:5.1f}/{self.duration:.0f} s  {describe(counts)}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
