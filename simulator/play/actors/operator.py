"""A virtual operator: logs in, rings, clicks Accept Call after a reaction time, chats.

Its console is :class:`~simulator.play.actors.console.ConsoleModel`, the same tab
machine the browser console runs. Every ring start and stop on it is logged
with the run's clock: that is the ground truth ring-stop latency comes from.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

import trio

from server import protocol as p

from ...record import events as ev
from ...scenario import OperatorGroup
from .console import ConsoleModel
from .session import RequestFailed
from .stage import Stage
from .wire import Wire


@dataclass
class OperatorLogin:
    login: str
    password: str


class VirtualOperator:
    """One operator of a group; ``run`` lasts until cancelled."""

    def __init__(
        self, stage: Stage, group: OperatorGroup, index: int, login: OperatorLogin
    ) -> None:
        self.stage = stage
        self.group = group
        self.name = f"{group.name}[{index}]"
        self.login = login
        self.rng = random.Random(stage.seed_for(self.name))
        self.console = ConsoleModel(group.policy)
        self.id = self.name  # replaced by the server's operator id at welcome
        self.colleagues: dict[str, str] = {}  # other operators' ids -> status
        self._rooms: set[str] = set()  # rooms this console has opened a tab for
        self.seen: set[tuple[str, int]] = set()  # (room, n) of the messages shown
        self.wire: Wire
        self.path = stage.path(self.name, group.link)
        self.path.unknown()  # until the server names it
        self._nursery: trio.Nursery

    async def run(self) -> None:
        token = await self.stage.login(self.login.login, self.login.password)
        self.wire = self.stage.wire(
            "operator",
            lambda: self.id,
            lambda: p.OperatorHello(token=token),
            self.path,
            self.rng,
            self._on_event,
        )
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self.wire.run)
            for at, status in self.group.status:
                nursery.start_soon(self._set_status_at, at.seconds, status)

    async def _set_status_at(self, at: float, status: str) -> None:
        await self.stage.sleep_until(at)
        await self.wire.request(p.SetStatus(id="", status=status))  # type: ignore[arg-type]

    # ------------------------------------------------------------ console

    def _stop_logged(self, call: str, effects: tuple[str, ...], reason: str) -> None:
        if "stop_ring" in effects:
            self.stage.log(
                ev.RingStopLogged(t=self.stage.now(), operator=self.id, call=call, reason=reason)
            )

    def _on_event(self, event: object) -> None:
        if isinstance(event, p.Welcome) and event.operator is not None:
            self._welcomed(event.operator.id)
        elif isinstance(event, p.OperatorSnapshot):
            self.colleagues = {o.id: o.status for o in event.operators if o.id != self.id}
            for ring in event.rings:
                self._ring(ring.call)
            for room in event.rooms:
                self._room_opened(room)
            for invite in event.room_invites:
                self._room_invite(invite.room)
            # a snapshot replaces what the console knew: the tabs it does not name stop
            named = {f"call:{r.call}" for r in event.rings} | {
                f"room:{i.room}" for i in event.room_invites
            }
            named |= {
                key
                for key, tab in self.console.tabs.items()
                if tab.room in {r.room for r in event.rooms}
            }
            for tab_key, effects in self.console.snapshot(named).items():
                self._stop_logged(tab_key.removeprefix("call:"), effects, "gone")
        elif isinstance(event, p.Ring):
            self._ring(event.call)
        elif isinstance(event, p.RingStop):
            effects = self.console.fire(f"call:{event.call}", "ring_stop", event.reason)
            self._stop_logged(event.call, effects, event.reason)
        elif isinstance(event, p.RoomOpened):
            self._room_opened(event.room)
        elif isinstance(event, p.ChatMessage):
            self._message(event)
        elif isinstance(event, p.RoomClosed):
            key = self._room_key(event.room)
            if key and self.console.tab(key).state in ("active", "accepting"):
                self.console.fire(key, "room_closed", event.reason)
                self._left(event.room, event.reason)
        elif isinstance(event, p.RoomInvite):
            self._room_invite(event.invite.room)
        elif isinstance(event, p.RoomInviteEnded):
            key = f"room:{event.room}"
            self._stop_logged(key, self.console.fire(key, "room_invite_ended"), event.reason)
        elif isinstance(event, p.OperatorStatusEvent) and event.operator.id != self.id:
            self.colleagues[event.operator.id] = event.operator.status
        elif isinstance(event, p.VisitorArrived):
            self._maybe_invite(event.visitor.id)

    def _welcomed(self, operator_id: str) -> None:
        if self.id == operator_id:
            return  # a reconnect: already introduced
        self.id = operator_id
        self.stage.introduce(self.id, self.name, "operator", self.group)
        self.path.identify(self.id)

    def _left(self, room: str, reason: str) -> None:
        self.stage.log(ev.RoomLeft(t=self.stage.now(), actor=self.id, room=room, reason=reason))

    def _ring(self, call: str) -> None:
        effects = self.console.fire(f"call:{call}", "ring")
        if "start_ring" in effects:
            self.stage.log(ev.RingStart(t=self.stage.now(), operator=self.id, call=call))
            self._nursery.start_soon(self._react, call)

    def _busy(self) -> bool:
        """At the group's own limit of chats: rings are left to colleagues."""
        limit = self.group.max_chats
        active = sum(tab.state == "active" for tab in self.console.tabs.values())
        return limit is not None and active >= limit

    async def _react(self, call: str) -> None:
        await trio.sleep(self.group.reaction.sample(self.rng))
        key = f"call:{call}"
        if self.console.tab(key).state != "ringing" or self.stage.closing or self._busy():
            return  # taken elsewhere, the visitor gave up, the run is over, or too busy
        if self.rng.random() < self.group.decline:
            self.stage.log(ev.ClickDecline(t=self.stage.now(), operator=self.id, call=call))
            self._stop_logged(call, self.console.fire(key, "click_x"), "declined")
            await self._quietly(p.Decline(id="", call=call))
            return
        self.stage.log(ev.ClickAccept(t=self.stage.now(), operator=self.id, call=call))
        self._stop_logged(call, self.console.fire(key, "click_accept"), "click")
        try:
            ok = await self.wire.request(p.Accept(id="", call=call))
        except RequestFailed as refused:
            self.stage.log(
                ev.AcceptResult(t=self.stage.now(), operator=self.id, call=call, won=False)
            )
            effects = self.console.fire(key, "accept_failed", refused.code)
            self._stop_logged(call, effects, "accept_failed")
            if self.console.tab(key).state == "ringing":  # refused unapplied: click again
                self._nursery.start_soon(self._react, call)
            return
        self.stage.log(
            ev.AcceptResult(t=self.stage.now(), operator=self.id, call=call, won=True, room=ok.room)
        )

    def _room_key(self, room: str) -> str | None:
        for key, tab in self.console.tabs.items():
            if tab.room == room:
                return key
        return None

    def _room_opened(self, room: p.RoomInfo) -> None:
        key = f"room:{room.room}"
        if key not in self.console.tabs:  # not joined on an invitation: a call's tab
            key = f"call:{room.call}" if room.call else key
        fresh = room.room not in self._rooms  # not a snapshot's copy of an open chat
        self._rooms.add(room.room)
        self.console.tab(key).room = room.room
        self.console.fire(key, "room_opened")
        if fresh:
            self.stage.log(
                ev.RoomJoined(t=self.stage.now(), actor=self.id, room=room.room, role="operator")
            )
        for message in room.messages:
            self._message(message)
        if fresh:
            self._nursery.start_soon(self._close_later, key, room.room)
            chance = self.group.invite_operator
            if room.call and chance and self.rng.random() < chance:
                self._nursery.start_soon(self._invite_colleague, room.room)

    def _room_invite(self, room: str) -> None:
        """A colleague asks this operator into a chat: the tab rings until Join or X."""
        key = f"room:{room}"
        effects = self.console.fire(key, "room_invite")
        self.console.tab(key).room = room
        if "start_ring" in effects:
            self.stage.log(ev.RingStart(t=self.stage.now(), operator=self.id, call=key))
            self._nursery.start_soon(self._join_later, key, room)

    async def _join_later(self, key: str, room: str) -> None:
        await trio.sleep(self.group.reaction.sample(self.rng))
        if self.console.tab(key).state != "invited" or self.stage.closing:
            return
        self._stop_logged(key, self.console.fire(key, "click_accept"), "click")
        try:
            await self.wire.request(p.Join(id="", room=room))
        except RequestFailed:
            self.console.tabs.pop(key, None)  # the chat ended meanwhile

    async def _invite_colleague(self, room: str) -> None:
        await trio.sleep(self.group.reply.sample(self.rng))
        online = sorted(o for o, status in self.colleagues.items() if status == "online")
        if not online or self.stage.closing:
            return
        colleague = self.rng.choice(online)
        with contextlib.suppress(RequestFailed):  # the chat ended, or they went away
            await self.wire.request(p.InviteOperator(id="", room=room, operator=colleague))
            self.stage.log(
                ev.ColleagueInvited(
                    t=self.stage.now(), operator=self.id, room=room, invited=colleague
                )
            )

    def _maybe_invite(self, visitor: str) -> None:
        chance = self.group.invite_visitors
        if chance and self.rng.random() < chance:  # no draw when off: seeds keep their runs
            self._nursery.start_soon(self._invite_visitor, visitor)

    async def _invite_visitor(self, visitor: str) -> None:
        """A proactive invitation, after looking at the visitor for a moment."""
        await trio.sleep(self.group.reaction.sample(self.rng))
        if self.stage.closing:
            return
        with contextlib.suppress(RequestFailed):  # left the site, or already in a chat
            ok = await self.wire.request(p.InviteVisitor(id="", visitor=visitor))
            self.stage.log(
                ev.InvitationSentLogged(
                    t=self.stage.now(),
                    operator=self.id,
                    invitation=ok.invitation or "",
                    visitor_id=visitor,
                )
            )

    def _message(self, message: p.ChatMessage | p.MessageItem) -> None:
        mid = self.stage.mid_of(message.text)
        if mid is None or not self.stage.first_sight(self.seen, message):
            return
        self.stage.log(
            ev.MessageReceived(
                t=self.stage.now(), actor=self.id, room=message.room, mid=mid, n=message.n
            )
        )
        if message.sender.role == "visitor" and isinstance(message, p.ChatMessage):
            self._nursery.start_soon(self._reply, message.room)

    async def _reply(self, room: str) -> None:
        for _ in range(self.group.replies):
            await trio.sleep(self.group.reply.sample(self.rng))
            key = self._room_key(room)
            if key is None or self.console.tab(key).state != "active":
                return
            with contextlib.suppress(RequestFailed):  # the chat ended meanwhile
                await self.stage.say(self.wire, self.id, room)

    async def _close_later(self, key: str, room: str) -> None:
        await trio.sleep(self.group.close_after.sample(self.rng))
        if self.console.tab(key).state == "active":
            self.console.fire(key, "click_x")
            self._left(room, "closed")
            await self._quietly(p.Close(id="", room=room))

    async def _quietly(self, message: object) -> None:
        with contextlib.suppress(RequestFailed):  # the room closed, the call ended meanwhile
            await self.wire.request(message)
