"""A run's event log, spooled to an unnamed temporary file while the run goes on.

A run logs every frame of every client: millions of events in a long soak. Held as
objects they grew with the run (a large share of its memory: ``bench/RESULTS.md``). Here
they are encoded to JSON lines as they come and written out in blocks, so what a run
holds does not grow with its length; they are decoded again when the run is over and
the report reads them.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator

from . import events as ev

#: Encoded bytes kept before a block is written out: small enough that the write
#: (one system call into the page cache) never stalls the event loop for long.
BLOCK = 256 * 1024


class EventLog:
    """Append-only, iterable any number of times (each pass decodes the file again).

    ``watch(f)`` calls ``f`` with every event as it is appended (the live tally), since
    the log itself can only be read back whole.
    """

    def __init__(self, block: int = BLOCK) -> None:
        # closed by the finalizer below: the log lives as long as whoever reads it
        self._file = tempfile.TemporaryFile(prefix="ringlab-events-", buffering=0)  # noqa: SIM115
        weakref.finalize(self, self._file.close)
        self._block = block
        self._buffer = bytearray()
        self._written = 0  # bytes in the file
        self._count = 0
        self._watchers: list[Callable[[ev.Event], None]] = []

    def watch(self, watcher: Callable[[ev.Event], None]) -> None:
        self._watchers.append(watcher)

    def append(self, event: ev.Event) -> None:
        ev.encode_line(event, self._buffer)
        self._count += 1
        for watcher in self._watchers:
            watcher(event)
        if len(self._buffer) >= self._block:
            self._write_out()

    def extend(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            self.append(event)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[ev.AnyEvent]:
        self._write_out()
        end, offset, tail = self._written, 0, b""
        while offset < end:
            data = os.pread(self._file.fileno(), min(4 * self._block, end - offset), offset)
            offset += len(data)
            block = tail + data
            cut = block.rfind(b"\n") + 1  # whole lines only; the rest waits for the next read
            tail = block[cut:]
            yield from ev.decode_lines(block[:cut])

    def _write_out(self) -> None:
        view = memoryview(self._buffer)
        while view:
            n = self._file.write(view) or 0  # unbuffered: a write may be partial
            view = view[n:]
            self._written += n
        view.release()
        self._buffer.clear()
