"""Live progress of a run: one line redrawn in place on a terminal, fitted to its width;
plain lines every 10 s otherwise (CI logs).

The terminal line is ``NAME  BAR  ELAPSED/TOTAL s  COUNTS``. A line wider than the terminal
wraps, and redrawing a wrapped line in place leaves debris on the screen, so :func:`fit`
shortens it to the width: shorter count labels first, then fewer counts, then the bar,
then the name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType

import click
from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

PLAIN_EVERY = 10.0  # wall-clock seconds between plain lines (a virtual run is much faster)

#: The counts in the order shown, with their full and short labels. ``waiting`` is shown in
#: brackets after ``calls``: the calls not yet ended, of all placed.
LABELS = [
    ("connected", "connected", "conn"),
    ("calls", "calls", "calls"),
    ("chats", "chats", "chats"),
    ("ringing", "ringing", "ring"),
    ("overrunning", "overrunning", "overrun"),
    ("messages", "messages", "msgs"),
]
#: What narrower lines keep, in turn: whether consoles ring, and ring too long, is the point.
ESSENTIAL = [("calls", "waiting", "ringing", "overrunning"), ("calls", "ringing", "overrunning")]
#: The bar's width: at most (wider says nothing more), and at least (or it is left out).
BAR_MAX, BAR_MIN = 40, 10
#: Columns kept free at the right edge: a line that reaches the last column makes some
#: terminals wrap at once.
MARGIN = 1


def describe(counts: dict[str, int], *, short: bool = False, keep: tuple[str, ...] = ()) -> str:
    """The counts of the moment as one line: every count, or only those named in ``keep``,
    with their full labels or ``short`` ones."""
    parts = []
    for key, full, brief in LABELS:
        if keep and key not in keep:
            continue
        part = f"{brief if short else full} {counts[key]}"
        if key == "calls" and (not keep or "waiting" in keep):
            part += f" ({'wait' if short else 'waiting'} {counts['waiting']})"
        parts.append(part)
    return "  ".join(parts)


@dataclass(frozen=True, slots=True)
class Line:
    """The parts of the terminal line, each already cut to size; ``bar`` is its width
    in columns (0: no bar). Names and labels are ASCII: one column per character."""

    name: str
    bar: int
    clock: str
    counts: str

    def width(self) -> int:
        """Columns the line takes: its parts with one space between them."""
        parts = [len(self.name), self.bar, len(self.clock), len(self.counts)]
        shown = [n for n in parts if n]
        return sum(shown) + len(shown) - 1


def fit(name: str, elapsed: float, duration: float, counts: dict[str, int], width: int) -> Line:
    """The progress line for a terminal ``width`` columns wide: the most it can say there."""
    clock = f"{elapsed:5.1f}/{duration:.0f} s"
    room = max(width - MARGIN, 1)
    names = (name, _cut(name, 20))
    # every count before the bar, the bar before the full labels and the name's full length
    for keep in [(), *ESSENTIAL]:
        forms = [describe(counts, keep=keep), describe(counts, short=True, keep=keep)]
        for text in forms:
            for shown in names:
                bar = room - Line(shown, 0, clock, text).width() - 1
                if bar >= BAR_MIN:
                    return Line(shown, min(bar, BAR_MAX), clock, text)
        for text in forms:
            for shown in names:
                if Line(shown, 0, clock, text).width() <= room:
                    return Line(shown, 0, clock, text)
    # narrower still: the fewest counts, the name and then the counts cut to fit
    text = describe(counts, short=True, keep=ESSENTIAL[-1])
    name = _cut(name, 12)
    over = Line(name, 0, clock, text).width() - room
    if over > 0:
        text = _cut(text, len(text) - over)
        over = Line(name, 0, clock, text).width() - room
    if over > 0:
        name = _cut(name, len(name) - over)
    return Line(name, 0, clock, text)


def _cut(text: str, size: int) -> str:
    """``text`` in at most ``size`` characters, an ellipsis marking a cut."""
    if len(text) <= size:
        return text
    return text[: size - 1] + "…" if size > 1 else ""


def render(line: Line, elapsed: float, duration: float) -> RenderableType:
    """The line as rich draws it, on one row."""
    row: list[RenderableType] = [Text(line.name, style="bold", no_wrap=True)]
    if line.bar:
        row.append(ProgressBar(total=duration, completed=elapsed, width=line.bar))
    row += [Text(line.clock, no_wrap=True), Text(line.counts, no_wrap=True)]
    grid = Table.grid(padding=(0, 1))
    for _ in row:
        grid.add_column(no_wrap=True)
    grid.add_row(*row)
    return grid


class LiveProgress:
    """``with LiveProgress(console, name, duration) as show: show(t, counts)``."""

    def __init__(self, console: Console, name: str, duration: float) -> None:
        self.console = console
        self.name = name
        self.duration = duration
        self._shown = -PLAIN_EVERY  # time.monotonic() of the last plain line
        self._ended = False  # the line at the end of the run is shown
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            # transient: the line goes once the run is over, the verdict table follows
            self._live = Live(console=self.console, transient=True, refresh_per_second=8)
            self._live.start()
        return self

    def __call__(self, t: float, counts: dict[str, int]) -> None:
        elapsed = min(t, self.duration)
        if self._live is not None:
            # fitted anew each time: the terminal may have been resized since
            line = fit(self.name, elapsed, self.duration, counts, self.console.width)
            self._live.update(render(line, elapsed, self.duration))
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
        if self._live is not None:
            self._live.stop()
