"""What the log holds about one actor in a time window, as causes in words and data.

Each finder looks up the :class:`~.index.Index` (by actor, by time, with bisect),
so explaining thousands of rings stays about as fast as reading the log once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..record import events as ev
from ..scenario.metric_names import seconds
from .index import Index
from .labels import at, plural

#: Stall lengths listed one by one; beyond, a count and the total.
LISTED = 6


@dataclass(frozen=True, slots=True)
class Cause:
    """One cause found in the log. ``kind``: stall, outage, fault, connection, server,
    waited_for_winner, late_click, lost_race, late_offer, never_stopped, split (where
    the time went, not a cause), none (nothing found)."""

    kind: str
    text: str
    actor: str = ""  # whose link or click (the winner's, for waited_for_winner)
    direction: str = ""  # up | down, for stalls
    count: int = 0
    seconds: tuple[float, ...] = ()  # each stall's or outage's length, or the split's parts
    at: float | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain data for summary.json (empty fields left out)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, tuple):
                value = [round(x, 6) for x in value]  # microseconds: noise beyond
            elif isinstance(value, float):
                value = round(value, 6)
            if value:
                out[key] = value
        return out


def hits(fault: ev.FaultApplied, info: ev.ActorInfo | None) -> bool:
    """Whether a fault's target (``operators.ops``, ``operators.ops[1]``, the server)
    takes in this actor."""
    if fault.target in ("", "server"):
        return True
    if info is None:
        return False
    kind, _, who = fault.target.partition(".")
    role = {"operators": "operator", "visitors": "visitor"}.get(kind)
    return role == info.role and who in (info.group, info.name)


def stall_words(direction: str, lengths: Sequence[float]) -> str:
    """``2 uplink retransmission stalls (1200 ms, 2400 ms)``."""
    shown = ", ".join(seconds(x) for x in lengths[:LISTED])
    if len(lengths) > LISTED:
        shown += f", … {seconds(sum(lengths))} in all"
    word = "uplink" if direction == "up" else "downlink"
    return f"{plural(len(lengths), word + ' retransmission stall')} ({shown})"


def link_words(index: Index, link_names: Mapping[str, str], actor: str) -> str:
    """``the lossy_operator (3g*) link``: the group's link and, if it differs, its name."""
    info = index.who.get(actor)
    if info is None:
        return "its link"
    named = link_names.get(info.link)
    return f"the {info.link}{f' ({named})' if named and named != info.link else ''} link"


def stalls(
    index: Index,
    link_names: Mapping[str, str],
    actor: str,
    start: float,
    stop: float,
    clicked: bool,
) -> list[Cause]:
    """Retransmission stalls on the actor's link overlapping [start, stop], per direction."""
    spans = index.stalls.get(actor)
    if spans is None:
        return []
    found = spans.overlapping(start, stop)
    out = []
    # an uplink stall holds what the console sends: its accept, if it clicked; a
    # console that did not click waits only for what comes down
    directions = (("up", "delayed the accept"), ("down", "delayed the ring stop"))
    for direction, effect in directions[0 if clicked else 1 :]:
        lengths = tuple(length for _, length, (d, _) in found if d == direction)
        if lengths:
            where = link_words(index, link_names, actor)
            text = f"{stall_words(direction, lengths)} on {where} {effect}"
            out.append(Cause("stall", text, actor, direction, len(lengths), lengths))
    return out


def outages(index: Index, actor: str, start: float, stop: float) -> list[Cause]:
    """The actor's path down during [start, stop]."""
    spans = index.downs.get(actor)
    found = spans.overlapping(start, stop) if spans else []
    return [
        Cause(
            "outage",
            f"its path was down {seconds(length)} from {at(t)} "
            + ("(a fault of the scenario)" if cause == "fault" else "(the link's own outage)"),
            actor,
            count=1,
            seconds=(length,),
            at=t,
        )
        for t, length, cause in found
    ]


def faults(index: Index, actor: str, start: float, stop: float) -> list[Cause]:
    """Faults of the scenario that hit the actor (or the server) during [start, stop],
    and a degraded link still in effect."""
    info = index.who.get(actor)
    out = []
    in_effect: ev.FaultApplied | None = None
    for fault in index.faults:  # a scenario's few faults: no index needed
        if fault.t > stop:
            break
        if not hits(fault, info):
            continue
        if fault.action in ("degrade", "restore"):
            in_effect = fault if fault.action == "degrade" else None
        if fault.t >= start:
            what = f"{fault.action} {fault.target}".strip()
            text = f"the scenario's fault “{what}” was applied at {at(fault.t)}"
            out.append(Cause("fault", text, actor, at=fault.t))
    if in_effect is not None and in_effect.t < start:
        text = (
            f"its link was degraded by the scenario's fault “degrade {in_effect.target}”"
            f" at {at(in_effect.t)}"
        )
        out.append(Cause("fault", text, actor, at=in_effect.t))
    return out


def connections(index: Index, actor: str, start: float, stop: float) -> list[Cause]:
    """Connections the actor lost during [start, stop], and how each came back."""
    out = []
    events = index.connections.get(actor, [])
    how = {"resumed": "resumed its session", "snapshot": "got a new session"}
    for i, e in enumerate(events):
        if e.t > stop:
            break
        if e.state != "lost" or e.t < start:
            continue
        code = f" (close code {e.code})" if e.code else ""
        later = [b for b in events[i + 1 :] if b.state != "lost"]
        back = later[0] if later else None
        text = f"its connection dropped at {at(e.t)}{code} and "
        if back is None or back.state not in how:
            text += "did not come back"
        else:
            text += f"{how[back.state]} at {at(back.t)}"
            if len(later) > 1 and later[1].state == "resynced":
                text += " (past the replay buffer: a snapshot instead of the events)"
        out.append(Cause("connection", text, actor, at=e.t))
    return out


def nothing(index: Index, name: str, actor: str, long: bool, path: str = "both") -> Cause:
    """What to say when the window holds none of the above: for a ring that is not
    long, that its link explains it; for a long one, what the log lacks. ``path``: the
    way the stop travelled (``both`` for the acceptor, ``down`` for the others)."""
    floor = seconds(index.floor(actor, path))
    if not long:
        text = f"about what its link takes (floor {floor}); nothing else was logged during it"
        return Cause("none", text, actor)
    text = (
        f"no retransmission stall, outage, fault or reconnect of {name} was logged"
        f" during it (link floor {floor})"
    )
    if not index.stalls:
        text += "; this run's log records no link stalls at all"
    return Cause("none", text, actor)
