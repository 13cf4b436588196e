"""The button-code section: visitors who shared a visitor id, where they met, what the
server noticed.

An incorrect button code (a visitor id pinned into the snippet, a cached page)
hands several real visitors one visitor id; the server then puts them in one
room unless its ``strict`` binding refuses. The log knows who each visitor really
is (``visitor_arrived``), which rooms they joined (``room_joined``) and which
conflicts the server reported (``server_conflict``); this puts the three together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .index import Index
from .labels import Labels, at, plural


@dataclass(frozen=True, slots=True)
class SharedId:
    """One visitor id that more than one real visitor presented."""

    visitor_id: str
    visitors: tuple[str, ...]  # their names, in the order they arrived
    pages: int  # page instances that presented it
    rooms: tuple[tuple[str, tuple[str, ...]], ...]  # (room label, the visitors in it)
    conflicts: tuple[str, ...]  # the conflicts the server recorded for it, in words


@dataclass(frozen=True, slots=True)
class ButtonCodes:
    """The whole section: the shared ids, every conflict, and a sentence to open with."""

    shared: tuple[SharedId, ...]
    conflicts: tuple[str, ...]  # every conflict, in words
    others: tuple[str, ...]  # the conflicts on ids no two real visitors shared
    merged_rooms: int
    summary: str


def button_codes(index: Index, labels: Labels) -> ButtonCodes:
    """Which visitors shared which visitor id, in which rooms, with which conflicts."""
    holders: dict[str, dict[str, None]] = defaultdict(dict)  # id -> actors, ordered
    pages: dict[str, set[str]] = defaultdict(set)
    page_actor: dict[str, str] = {}
    for arrival in index.arrivals:
        holders[arrival.visitor_id].setdefault(arrival.actor)
        pages[arrival.visitor_id].add(arrival.page)
        page_actor[arrival.page] = arrival.actor
    # a room is named by the call it was opened for, when the log says which
    room_call = {room: call for call, room in index.call_room.items()}
    rooms_of: dict[str, list[str]] = defaultdict(list)
    for room, visitors in index.visitor_rooms.items():
        for actor in visitors:
            rooms_of[actor].append(room)

    def room_label(room: str) -> str:
        call = room_call.get(room)
        return f"the room of {labels.call(call)}" if call else f"room {room}"

    def conflict_text(c_t: float, vid: str, first: str, page: str, binding: str) -> str:
        a, b = (labels.name(page_actor.get(p, p)) for p in (first, page))
        return f"at {at(c_t)}: {a}'s page and {b}'s page presented {vid} ({binding} binding)"

    conflicts = [
        (c.visitor_id, conflict_text(c.t, c.visitor_id, c.first_page, c.page, c.binding))
        for c in index.conflicts
    ]
    shared = []
    for vid, actors in holders.items():
        if len(actors) < 2:
            continue
        rooms: dict[str, None] = {}
        for actor in actors:
            for room in rooms_of.get(actor, []):
                rooms.setdefault(room)
        shared.append(
            SharedId(
                vid,
                tuple(labels.name(a) for a in actors),
                len(pages[vid]),
                tuple(
                    (room_label(r), tuple(labels.name(a) for a in index.visitor_rooms[r]))
                    for r in rooms
                ),
                tuple(text for v, text in conflicts if v == vid),
            )
        )
    merged = sum(1 for who in index.visitor_rooms.values() if len(who) > 1)
    if shared:
        summary = (
            f"{plural(len(shared), 'visitor id')} {'was' if len(shared) == 1 else 'were'} "
            f"shared by more than one real visitor; {plural(merged, 'room')} held more than "
            f"one of them; the server recorded {plural(len(conflicts), 'conflict')}."
        )
    else:
        summary = "Every real visitor had a visitor id of its own"
        summary += f"; the server recorded {plural(len(conflicts), 'conflict')}."
    ids = {s.visitor_id for s in shared}
    return ButtonCodes(
        tuple(shared),
        tuple(text for _, text in conflicts),
        tuple(text for vid, text in conflicts if vid not in ids),
        merged,
        summary,
    )
