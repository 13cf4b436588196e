"""Every metric a run measures, by the dotted name scenario files expect it by, with its unit.

``docs/metrics.md`` defines each one; :func:`simulator.report.metrics.metrics` computes them.
Scenario validation refuses a name that is not here, and reports show each value in
its unit. A test holds this list and ``metrics()`` to each other.
"""

from __future__ import annotations

#: Distributions (seconds): each comes as NAME.count, .p50, .p95, .p99, .max, .mean.
DISTRIBUTIONS: dict[str, str] = {
    "ring_stop.acceptor": "Accept click -> the acceptor's console stops ringing",
    "ring_stop.others": "the server's decision -> another console stops ringing",
    "ring_overrun": "per accepted call: how long any console actually rang after the winning click",
    "time_to_answer": "the visitor's call -> the winning accept",
}
STATISTICS = ("count", "p50", "p95", "p99", "max", "mean")

#: Counts.
COUNTS: dict[str, str] = {
    "rings_never_stopped": "rings still ringing when the run ended",
    "late_offers": "rings that reached a console only after the call was taken",
    "double_accepts": "calls more than one operator won",
    "calls.placed": "calls visitors placed",
    "calls.accepted": "calls an operator accepted",
    "calls.missed": "calls nobody accepted in time",
    "calls.abandoned": "calls the visitor hung up on",
    "merged_rooms": "rooms that held more than one real visitor",
    "merged_visitors": "real visitors in merged rooms",
    "merged_visitors.unreported": "merged visitors no reported conflict names",
    "conflicts.reported": "visitor-id conflicts the server reported",
    "messages.expected": "deliveries owed",
    "lost_messages": "owed deliveries that never arrived",
    "duplicated_messages": "deliveries beyond the first",
    "reordered_messages": "messages that arrived after a later one",
    "messages.gone_with_session": "owed deliveries to a session that expired first",
    "messages.unreachable": "owed deliveries to someone out of reach from the send on, for good",
    "messages.past_replay": "owed deliveries to a room closed before a resume past the replay",
    "reconnects": "connections lost and retried",
    "resumes": "reconnects that resumed their session",
    "snapshots": "reconnects that got a new session",
    "resyncs": "resumes past the replay buffer, answered with a snapshot",
    "invitations.sent": "chat invitations sent to visitors",
    "invitations.accepted": "invitations visitors accepted",
    "invitations.declined": "invitations visitors declined",
    "colleague_invites.sent": "operators invited into a room",
    "colleague_invites.joined": "invited operators who joined",
}


def names() -> list[str]:
    """Every valid metric name, sorted."""
    out = list(COUNTS)
    for family in DISTRIBUTIONS:
        out += [f"{family}.{stat}" for stat in STATISTICS]
    return sorted(out)


def known(name: str) -> bool:
    """Whether ``name`` is a metric a run measures."""
    family, _, stat = name.rpartition(".")
    return name in COUNTS or (family in DISTRIBUTIONS and stat in STATISTICS)


def unit(name: str) -> str:
    """``s`` for a time, ``""`` for a count (a distribution's ``.count`` is a count)."""
    family, _, stat = name.rpartition(".")
    return "s" if family in DISTRIBUTIONS and stat != "count" else ""


def show(name: str, value: float | None) -> str:
    """A value in its unit: ``282 µs``, ``35 ms``, ``2.01 s``, ``3``; ``no data`` for None."""
    if value is None:
        return "no data"
    if unit(name) != "s":
        return f"{value:g}"
    return seconds(value)


def seconds(value: float) -> str:
    """A time in the unit that reads best: µs below 1 ms, ms below 1 s, else s."""
    magnitude = abs(value)
    if magnitude == 0:
        return "0 ms"
    if magnitude < 0.001:
        return f"{value * 1e6:.0f} µs"
    if magnitude < 0.01:
        return f"{value * 1000:.2g} ms"
    if magnitude < 1:
        return f"{value * 1000:.0f} ms"
    if magnitude < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s"
