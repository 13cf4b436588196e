"""Why a console rang long: the causes the event log holds, in words and as data.

For every long ring (longer than :func:`threshold`, plus the few longest whatever
their length) this looks, in the window the console rang when it should not have,
for: retransmission stalls on the operator's uplink or downlink (``link_stall``),
outages of its path (``link_down``) and the scenario's faults, connections lost and
resumed, the server's own time (accept read -> decision), the winner's slow accept
(what another console waits for), a late click that lost, an offer that arrived
after the call was taken. ``docs/metrics.md`` ("How the report explains a long
ring") describes the rules.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..record import events as ev
from ..scenario.metric_names import seconds
from . import findings, metrics
from .findings import Cause, stall_words
from .index import Index
from .labels import Labels, at, plural

__all__ = ["Cause", "Ring", "Story", "as_json", "chosen", "explain", "rings_after", "threshold"]

#: Rings explained whatever their length, the longest first: a run with no long
#: ring still says what its worst rings were made of.
TOP = 3


@dataclass(frozen=True, slots=True)
class Ring:
    """One console's ringing after it should have stopped, and why."""

    call: str
    operator: str
    role: str  # winner | loser (clicked and lost) | other
    seconds: float  # rang after the winning click (or after the server's decision)
    threshold: float
    start: float  # from when it should not have rung
    stop: float | None  # None: still ringing when the run ended
    causes: tuple[Cause, ...] = ()
    text: str = ""

    @property
    def long(self) -> bool:
        return self.seconds > self.threshold


@dataclass(frozen=True, slots=True)
class Story:
    """A call whose consoles rang long: who won, who lost, each long ring explained."""

    call: str
    label: str
    header: str
    rings: tuple[Ring, ...] = field(default_factory=tuple)

    @property
    def worst(self) -> float:
        return max((r.seconds for r in self.rings), default=0.0)


def threshold(index: Index, operator: str, role: str) -> float:
    """A ring is long beyond max(1 s, 3x the link floor on the path its stop travels)."""
    return max(1.0, 3 * index.floor(operator, "both" if role == "winner" else "down"))


def late_offers(events: Sequence[ev.Event], index: Index, labels: Labels) -> list[str]:
    """Each late offer in words: which call reached which console only after it was
    taken, by whom, and the outage that kept the console away if one did. They are not
    ringing after Accept (``ring_overrun`` leaves them out), but support is asked about
    them: "my console rang for a call that was already answered"."""
    out = []
    for call, op in metrics.late_offers(events):
        winner, result = index.winner[call]
        taken = index.decided.get((call, winner), result)
        came = min(
            (start for start, _ in index.rings.get((call, op), ()) if start >= taken), default=taken
        )
        text = (
            f"{labels.call(call)} reached {labels.name(op)}'s console only at {at(came)}, "
            f"{seconds(came - taken)} after {labels.name(winner)} had taken it"
        )
        downs = index.downs.get(op)
        # an outage while the call was open kept the console from hearing of it
        opened = index.placed.get(call, (taken, ""))[0]
        away = downs.overlapping(opened, came) if downs else []
        if away:
            t, length, _ = away[-1]
            text += f": its path was down from {at(t)} for {seconds(length)}"
        out.append(text[0].upper() + text[1:] + ".")
    return out


def rings_after(index: Index) -> list[Ring]:
    """Every console that rang after it should have stopped (no causes yet), longest first:
    after the winning click, max(0, stop - max(click, ring start)) summed over its rings;
    for a call nobody won, after the server's decision for that console."""
    out = []
    for call, ops in index.consoles.items():
        winner = index.winner.get(call)
        click = index.clicks.get((call, winner[0])) if winner else None
        for op in ops:
            should = click if click is not None else index.decided.get((call, op))
            if should is None:
                continue
            total, start, stop = 0.0, None, None
            for begin, end in index.rings.get((call, op), ()):
                until = index.end if end is None else end
                if until <= should:
                    continue
                start = max(should, begin) if start is None else start
                total += until - max(should, begin)
                stop = end
            if start is None or total <= 0:
                continue
            role = "other"
            if winner and op == winner[0]:
                role = "winner"
            elif (call, op) in index.clicks:
                role = "loser"
            out.append(Ring(call, op, role, total, threshold(index, op, role), start, stop))
    return sorted(out, key=lambda r: (-r.seconds, r.call, r.operator))


def chosen(index: Index, top: int = TOP) -> list[Ring]:
    """The rings to explain: every long one, and the ``top`` longest whatever their
    length, longest first (no causes yet)."""
    return [r for i, r in enumerate(rings_after(index)) if r.long or i < top]


def explain(
    events: Sequence[ev.Event],
    index: Index,
    labels: Labels,
    link_names: Mapping[str, str] | None = None,
    rings: Sequence[Ring] | None = None,
    limit: int | None = None,
) -> list[Story]:
    """Stories of the calls with long rings, the worst first; each ring of ``rings``
    (by default :func:`chosen`), the first ``limit`` of them only, with its causes in
    words and as data. A report needs the worst few hundred at most: a run with
    thousands of long rings is not explained thousands of times."""
    rings = list(chosen(index) if rings is None else rings)[:limit]
    late = set(metrics.late_offers(events)) if rings else set()
    words = _Words(index, labels, link_names or {}, late)
    by_call: dict[str, list[Ring]] = {}
    for ring in rings:
        by_call.setdefault(ring.call, []).append(words.ring(ring))
    return [
        Story(call, labels.call(call), words.header(call), tuple(rs))
        for call, rs in by_call.items()  # in the order of their longest ring
    ]


class _Words:
    """Finds the causes of one ring and says them."""

    def __init__(
        self,
        index: Index,
        labels: Labels,
        link_names: Mapping[str, str],
        late: Collection[tuple[str, str]],
    ) -> None:
        self.index, self.labels, self.link_names, self.late = index, labels, link_names, late

    def header(self, call: str) -> str:
        """Who placed the call, where it rang, who won, who clicked and lost."""
        ix, name = self.index, self.labels.name
        consoles = ix.consoles.get(call, [])
        placed = ix.placed.get(call)
        text = self.labels.sentence(call)
        text += f", placed at {at(placed[0])}," if placed else ""
        text += f" rang at {plural(len(consoles), 'console')}."
        winner = ix.winner.get(call)
        if winner is None:
            return text + f" Nobody's Accept won: the call was {ix.outcome.get(call, 'open')}."
        won_click = ix.clicks.get((call, winner[0]))
        if won_click is not None:
            text += f" {name(winner[0])} clicked Accept at {at(won_click)} and won."
        for op in consoles:
            if op != winner[0] and (call, op) in ix.clicks:
                text += f" {self.lost(call, op, winner[0])[1]}."
        return text

    def lost(self, call: str, op: str, winner: str) -> tuple[str, str]:
        """(kind, words) of a click that lost: a late click, or a first click whose
        accept reached the server after the winner's."""
        ix, name = self.index, self.labels.name
        click, won_click = ix.clicks[(call, op)], ix.clicks.get((call, winner))
        if won_click is None or click > won_click:
            after = f", {seconds(click - won_click)} after {name(winner)}," if won_click else ""
            return "late_click", f"{name(op)} clicked Accept at {at(click)}{after} and lost"
        got, got_winner = ix.received.get((call, op)), ix.received.get((call, winner))
        text = f"{name(op)} clicked Accept first, at {at(click)}, but lost"
        if got is not None and got_winner is not None:
            text += (
                f": its accept reached the server at {at(got)},"
                f" after {name(winner)}'s ({at(got_winner)})"
            )
        return "lost_race", text

    def ring(self, ring: Ring) -> Ring:
        """The ring with its causes and its sentence."""
        ix, name, op = self.index, self.labels.name(ring.operator), ring.operator
        until = ix.end if ring.stop is None else ring.stop
        first = ix.rings.get((ring.call, op), [(ring.start, None)])[0][0]
        causes: list[Cause] = []
        if (ring.call, op) in self.late:
            taken = self._taken(ring.call)
            windows = ix.rings.get((ring.call, op), [])
            came = next((start for start, _ in windows if start >= taken), first)
            causes.append(
                Cause(
                    "late_offer",
                    f"the offer reached {name}'s console only at {at(came)}, "
                    f"{seconds(came - taken)} after the call was taken (a late offer)",
                    actor=op,
                    at=came,
                )
            )
        if ring.role == "loser":
            winner = ix.winner[ring.call][0]
            kind, text = self.lost(ring.call, op, winner)
            causes.append(Cause(kind, text, actor=op, at=ix.clicks[(ring.call, op)]))
        clicked = (ring.call, op) in ix.clicks
        causes += findings.stalls(ix, self.link_names, op, ring.start, until, clicked)
        causes += findings.outages(ix, op, ring.start, until)
        causes += findings.faults(ix, op, first, until)
        causes += findings.connections(ix, op, first, until)
        if ring.role != "winner":
            causes += self.waited(ring)
        split = self.split(ring)
        if split and split.kind == "server":
            causes.append(split)
            split = self.split(ring, parts_only=True)
        if ring.stop is None:
            causes.append(Cause("never_stopped", "it was still ringing when the run ended"))
        if not causes:
            path = "both" if ring.role == "winner" else "down"
            causes.append(findings.nothing(ix, name, op, ring.long, path))
        lead = f"{name}'s console rang {seconds(ring.seconds)} after "
        lead += "the click" if ring.role == "winner" else "the winning Accept"
        if ring.role == "other" and ring.call not in ix.winner:
            lead = f"{name}'s console rang {seconds(ring.seconds)} after the server stopped it"
        text = lead + ": " + "; ".join(c.text for c in causes) + "."
        if split:
            causes.append(split)
            text += " " + split.text[:1].upper() + split.text[1:] + "."
        return replace(ring, causes=tuple(causes), text=text)

    def _taken(self, call: str) -> float:
        winner, result = self.index.winner[call]
        return self.index.decided.get((call, winner), result)

    def waited(self, ring: Ring) -> list[Cause]:
        """Another console's stop waits for the winner's accept to reach the server."""
        ix = self.index
        winner = ix.winner.get(ring.call)
        decided = ix.decided.get((ring.call, ring.operator))
        click = ix.clicks.get((ring.call, winner[0])) if winner else None
        if winner is None or decided is None or click is None:
            return []
        wait = decided - click
        if wait <= max(0.1, 0.25 * ring.seconds):
            return []
        who = self.labels.name(winner[0])
        text = f"the server decided its stop only {seconds(wait)} after {who}'s click"
        spans = ix.stalls.get(winner[0])
        got = ix.received.get((ring.call, winner[0]))
        found = spans.overlapping(click, decided if got is None else got) if spans else []
        up = tuple(length for _, length, (d, _) in found if d == "up")
        if up:
            text += f": {who}'s accept was held by {stall_words('up', up)}"
        return [Cause("waited_for_winner", text, winner[0], "up" if up else "", len(up), up)]

    def split(self, ring: Ring, parts_only: bool = False) -> Cause | None:
        """Where the winner's time went (uplink, server, downlink); ``server`` when the
        server's own time is a cause (over 100 ms and a fifth of the ring)."""
        key = (ring.call, ring.operator)
        click, got, decided = (
            self.index.clicks.get(key),
            self.index.received.get(key),
            self.index.decided.get(key),
        )
        if ring.role != "winner" or click is None or got is None or decided is None:
            return None
        up, server = got - click, decided - got
        down = (ring.stop - decided) if ring.stop is not None else None
        if not parts_only and server > max(0.1, 0.2 * ring.seconds):
            text = f"the server took {seconds(server)} to decide"
            return Cause("server", text, ring.operator, seconds=(server,), at=got)
        text = (
            f"the accept reached the server {seconds(up)} after the click, "
            f"the server decided in {seconds(server)}"
        )
        if down is not None:
            text += f" and the stop reached the console {seconds(down)} later"
        parts = (up, server) if down is None else (up, server, down)
        return Cause("split", text, ring.operator, seconds=parts)


def as_json(stories: Sequence[Story], labels: Labels) -> list[dict[str, Any]]:
    """The causes for summary.json: one entry per explained ring, worst call first."""
    return [
        {
            "call": ring.call,
            "label": story.label,
            "operator": labels.name(ring.operator),
            "role": ring.role,
            "seconds": round(ring.seconds, 6),
            "long": ring.long,
            "causes": [c.as_json() for c in ring.causes],
            "text": ring.text,
        }
        for story in stories
        for ring in story.rings
    ]
