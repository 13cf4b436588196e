"""The console model of a virtual operator: the same tab state machine as the real console.

A port of ``server/static/js/tabstate.js``. Both must pass the shared vectors in
``tests/vectors/console_tabs.json``, so a virtual operator rings, stops and
explains exactly as the browser console does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Policy = Literal["confirm", "optimistic"]

#: Ring stops after which the same call may ring here again (the server re-rings).
TRANSIENT_STOPS = frozenset({"away", "offline", "max_chats"})
#: Ring stops that the tab explains before it goes: reason -> notice.
NOTICES = {"accepted_elsewhere": "taken", "visitor_left": "visitor_left", "timeout": "missed"}
#: Refusals of an accept or a join that applied nothing (the frame was not taken): the
#: call or the invite still rings here, so the tab rings again.
RETRY_CODES = frozenset({"rate_limited", "server_busy"})


@dataclass(frozen=True, slots=True)
class Step:
    state: str
    effects: tuple[str, ...] = ()


def _stopped(reason: str | None, sounding: bool) -> Step:
    ring = ("stop_ring",) if sounding else ()
    if reason in TRANSIENT_STOPS:
        return Step("none", (*ring, "remove_tab"))
    if reason in NOTICES:
        return Step("dismissed", (*ring, f"notice:{NOTICES[reason]}", "remove_tab_later"))
    return Step("dismissed", (*ring, "remove_tab"))  # declined here


def step(policy: Policy, state: str, event: str, reason: str | None = None) -> Step:
    """The next state of one tab and the effects to carry out, in order."""
    same = Step(state)
    confirm = policy == "confirm"
    if event == "ring":
        return Step("ringing", ("open_tab", "start_ring")) if state == "none" else same
    if event == "room_invite":
        return Step("invited", ("open_tab", "start_ring")) if state == "none" else same
    if event == "click_accept":
        if state == "ringing":
            return Step("accepting", ("send_accept",) if confirm else ("send_accept", "stop_ring"))
        if state == "invited":
            return Step("accepting", ("send_join", "stop_ring"))
        return same
    if event == "click_x":
        return {
            "ringing": Step("dismissed", ("send_decline", "stop_ring", "remove_tab")),
            "invited": Step("dismissed", ("send_decline_join", "stop_ring", "remove_tab")),
            "active": Step("closed", ("send_close", "remove_tab")),
            "closed": Step("closed", ("remove_tab",)),
            "dismissed": Step("dismissed", ("remove_tab",)),
            "none": Step("none", ("remove_tab",)),
        }.get(state, same)
    if event == "ring_stop":
        if state == "ringing":
            return _stopped(reason, True)
        if state == "accepting":
            if reason == "accepted":
                return Step("active", ("stop_ring",) if confirm else ())
            return _stopped(reason, confirm)
        return same
    if event == "accept_failed":  # reason: the error code of the answer
        if state != "accepting":
            return same
        if reason in RETRY_CODES:
            return Step(
                "ringing", ("notice:refused",) if confirm else ("start_ring", "notice:refused")
            )
        ring = ("stop_ring",) if confirm else ()
        return Step("dismissed", (*ring, "notice:refused", "remove_tab_later"))
    if event == "join_failed":
        if state != "accepting":
            return same
        if reason in RETRY_CODES:
            return Step("invited", ("start_ring", "notice:refused"))
        return Step("dismissed", ("notice:refused", "remove_tab_later"))
    if event == "gone":  # a snapshot without this tab's call, invite or chat
        return {
            # "none": a new session gets its rings after the snapshot; they must ring
            "ringing": Step("none", ("stop_ring", "notice:call_gone", "remove_tab_later")),
            "invited": Step("none", ("stop_ring", "notice:invite_gone", "remove_tab_later")),
            "accepting": Step(
                "accepting", ("stop_ring", "notice:checking") if confirm else ("notice:checking",)
            ),
            "active": Step("closed", ("notice:chat_gone", "end_chat")),
        }.get(state, same)
    if event == "room_opened":
        if state == "none":
            return Step("active", ("open_tab", "open_chat"))
        if state in ("accepting", "active"):
            return Step("active", ("open_chat",))
        return same
    if event == "room_invite_ended":
        if state == "invited":
            return Step("dismissed", ("stop_ring", "notice:ended", "remove_tab_later"))
        return same
    if event == "room_closed":
        if state in ("active", "accepting"):
            return Step("closed", (f"notice:{reason}", "end_chat"))
        return same
    return same


@dataclass
class Tab:
    """One tab of a virtual console: its state and whether it is ringing now."""

    key: str
    state: str = "none"
    sounding: bool = False
    room: str | None = None
    call: str | None = None


@dataclass
class ConsoleModel:
    """All tabs of one virtual console; ``fire`` returns the effects to carry out."""

    policy: Policy = "confirm"
    tabs: dict[str, Tab] = field(default_factory=dict)

    def tab(self, key: str) -> Tab:
        return self.tabs.setdefault(key, Tab(key))

    def fire(self, key: str, event: str, reason: str | None = None) -> tuple[str, ...]:
        tab = self.tab(key)
        result = step(self.policy, tab.state, event, reason)
        tab.state = result.state
        for effect in result.effects:
            if effect == "start_ring":
                tab.sounding = True
            elif effect in ("stop_ring", "remove_tab"):
                tab.sounding = False
        return result.effects

    def snapshot(self, keys: set[str]) -> dict[str, tuple[str, ...]]:
        """A snapshot replaced what the console knew; ``keys`` are the tabs it names (its
        rings, rooms and invites, fired first). Every other tab gets ``gone``: a ring that
        ended while the console was away stops. Returns the effects per tab."""
        return {key: self.fire(key, "gone") for key in list(self.tabs) if key not in keys}

    def ringing(self) -> list[str]:
        """Keys of the tabs ringing now."""
        return [key for key, tab in self.tabs.items() if tab.sounding]
