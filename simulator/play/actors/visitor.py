"""A virtual visitor: arrives through a button code, calls, chats, leaves.

The simulator knows who each visitor really is (its ``name``); the server only
sees the visitor id the button code gives it. A pinned or cached code gives
many real visitors one id, and the checks count exactly who got merged.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import trio

from server import protocol as p

from ...record import events as ev
from ...scenario import VisitorGroup
from .session import RequestFailed
from .stage import Stage
from .wire import Wire


class VirtualVisitor:
    """One visitor of a group, arriving at ``intended`` seconds into the run."""

    def __init__(self, stage: Stage, group: VisitorGroup, index: int, intended: float) -> None:
        self.stage = stage
        self.group = group
        self.name = f"{group.name}[{index}]"
        self.intended = intended
        self.rng = random.Random(stage.seed_for(self.name))
        self.page = ""
        self.pages_seen = 0
        self._unloaded = True  # no page open
        self.visitor_id: str | None = None  # what the server calls it (kept across pages)
        self.events: trio.MemorySendChannel[Any]
        self._inbox: trio.MemoryReceiveChannel[Any]
        self.wire: Wire
        self.path = stage.path(self.name, group.link)  # one network under every page
        self.room: str | None = None
        self.seen: set[tuple[str, int]] = set()  # (room, n) of the messages shown
        self._arrived = False  # the page's first snapshot was taken

    def _code_visitor_id(self) -> str | None:
        """What the button code on the visitor's page presents as its visitor id."""
        if self.group.code == "pinned":
            return "v_pinned_into_the_snippet"  # copied from one rendered page
        if self.group.code == "cached":
            return f"v_cached_{self.group.name}"  # the cache served everyone one page
        return None  # correct: a first visit; the server assigns an id

    def _hello(self) -> p.VisitorHello:
        server = self.stage.server
        account = "no-such-account" if self.group.code == "wrong_account" else server.account
        return p.VisitorHello(
            account=account,
            button=server.button,
            page_instance=self.page,
            url=f"https://shop.example/{self.group.name}/{self.pages_seen}",
            title="Demo Shop",
            visitor_id=self._code_visitor_id() or self.visitor_id,
        )

    async def run(self) -> None:
        await self.stage.sleep_until(self.intended)
        self.stage.introduce(self.name, self.name, "visitor", self.group)
        last = self.group.pages - 1
        for index in range(self.group.pages):
            async with self._on_page():
                if not await self._arrive():
                    return  # never got in (a wrong account is refused)
                if index == last:
                    if self.rng.random() < self.group.call and not self.stage.closing:
                        await self._call()
                    await self._linger(self.group.stay.sample(self.rng))
                else:
                    await self._linger(self.group.browse.sample(self.rng))
            if self.stage.closing:
                return

    @contextlib.asynccontextmanager
    async def _on_page(self) -> AsyncIterator[None]:
        """One page load: a fresh page instance and connection; ``bye`` when it unloads."""
        self.pages_seen += 1
        self._unloaded = False
        self.page = f"pg-{self.name}-{self.pages_seen}-{self.rng.getrandbits(32):08x}"
        self._arrived = False
        self.events, self._inbox = trio.open_memory_channel[Any](1000)
        self.wire = self.stage.wire(
            "visitor",
            lambda: self.name,
            self._hello,
            self.path,
            self.rng,
            self.events.send_nowait,
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.wire.run)
            try:
                yield
            finally:
                with trio.CancelScope(shield=True):
                    await self._unload()
                nursery.cancel_scope.cancel()

    async def _unload(self) -> None:
        """The page goes: ``bye`` (as pagehide sends it), and the connection ends."""
        if self._unloaded:
            return
        self._unloaded = True
        with trio.move_on_after(1.0):
            await self.wire.send(p.Bye())
            await self.wire.flushed()  # as TCP would deliver it after the page is gone
        self.wire.close()
        self.stage.log(ev.ConnectionLogged(t=self.stage.now(), actor=self.name, state="left"))

    async def leave(self) -> None:
        """The run is over: leave the page now (the runner calls this, in virtual time one
        actor at a time, so that every run of a seed ends the same way)."""
        if self.pages_seen:
            await self._unload()

    async def _next(self, *kinds: type, timeout: float = float("inf")) -> Any:
        with trio.move_on_after(max(0.0, timeout)):
            async for received in self._inbox:
                for event in self._expand(received):
                    if (found := self._take(event, kinds)) is not None:
                        return found
        return None

    def _expand(self, event: Any) -> list[Any]:
        """A later snapshot (a reconnect that could not resume: a server restart) replaces
        what the page knew: it stands for the events the page missed."""
        if not isinstance(event, p.VisitorSnapshot) or not self._arrived:
            return [event]
        missed: list[Any] = [event]
        rooms = {r.room: r for r in event.rooms}
        if self.room is not None and self.room not in rooms:
            missed.append(p.RoomClosed(room=self.room, reason="gone"))
        elif self.room is not None:  # its room's history carries the messages it missed
            for message in rooms[self.room].messages:
                self._received(message)
        elif self.room is None and event.rooms:
            missed.append(p.RoomOpened(room=event.rooms[-1]))
        if event.call and event.call_state and event.call_state != "ringing":
            missed.append(p.CallStateEvent(event.call, event.call_state, event.leave_message))
        return missed

    def _take(self, event: Any, kinds: tuple[type, ...]) -> Any:
        """Follow one event; return it if it is of ``kinds``."""
        if isinstance(event, p.Welcome) and event.visitor_id:
            self.visitor_id = event.visitor_id
        if isinstance(event, p.RoomOpened):
            self._joined(event.room)
        elif isinstance(event, p.RoomClosed) and event.room == self.room:
            self.room = None
            self.stage.log(
                ev.RoomLeft(
                    t=self.stage.now(),
                    actor=self.name,
                    room=event.room,
                    reason=event.reason,
                )
            )
        elif isinstance(event, p.ChatMessage):
            self._received(event)
        if isinstance(event, kinds):
            return event
        return None

    def _joined(self, room: p.RoomInfo) -> None:
        self.room = room.room
        self.stage.log(
            ev.RoomJoined(t=self.stage.now(), actor=self.name, room=room.room, role="visitor")
        )
        for message in room.messages:
            self._received(message)

    def _received(self, message: p.ChatMessage | p.MessageItem) -> None:
        mid = self.stage.mid_of(message.text)
        if mid is not None and self.stage.first_sight(self.seen, message):
            self.stage.log(
                ev.MessageReceived(
                    t=self.stage.now(), actor=self.name, room=message.room, mid=mid, n=message.n
                )
            )

    async def _arrive(self) -> bool:
        """Wait for the page's snapshot; join the room a shared visitor id already has."""
        snapshot = await self._next(p.VisitorSnapshot, timeout=60)
        if snapshot is None:
            return False
        self.stage.log(
            ev.VisitorArrivedLogged(
                t=self.stage.now(),
                actor=self.name,
                page=self.page,
                visitor_id=snapshot.visitor_id,
                intended=self.intended,
            )
        )
        if snapshot.rooms:  # a shared visitor id: this page joins that visitor's room
            self._joined(snapshot.rooms[-1])
        self._arrived = True
        if snapshot.invitation is not None and self.room is None:
            await self._answer(snapshot.invitation)
        return True

    async def _linger(self, seconds: float) -> None:
        """Stay on the page, answering any invitation an operator sends meanwhile."""
        deadline = trio.current_time() + seconds
        while not self.stage.closing:
            shown = await self._next(p.Invitation, timeout=deadline - trio.current_time())
            if shown is None:
                return
            if self.room is None:
                await self._answer(shown.invitation)

    async def _answer(self, invitation: p.InvitationInfo) -> None:
        """Read the invitation, then accept (and chat) or decline it."""
        await trio.sleep(self.group.think.sample(self.rng))
        accept = self.rng.random() < self.group.accept_invitation and not self.stage.closing
        try:
            await self.wire.request(
                p.InvitationReply(id="", invitation=invitation.invitation, accept=accept)
            )
        except RequestFailed:
            return  # withdrawn or expired meanwhile
        self.stage.log(
            ev.InvitationAnswered(
                t=self.stage.now(),
                actor=self.name,
                invitation=invitation.invitation,
                accepted=accept,
            )
        )
        if accept:
            with trio.move_on_after(60):
                while self.room is None:
                    await self._next(p.RoomOpened)
            if self.room is not None:
                await self._chat(self.room)

    async def _call(self) -> None:
        try:
            ok = await self.wire.request(p.PlaceCall(id=""))
        except RequestFailed:
            return
        if ok.room is not None:  # this visitor id already has a room: the merge
            await self._chat(ok.room)
            return
        call = ok.call or ""
        self.stage.log(ev.CallPlaced(t=self.stage.now(), actor=self.name, call=call))
        patience = self.group.patience.sample(self.rng)
        deadline = trio.current_time() + patience
        while True:
            state = await self._next(p.CallStateEvent, timeout=deadline - trio.current_time())
            if state is None:
                self.stage.log(
                    ev.CallEnded(
                        t=self.stage.now(), actor=self.name, call=call, outcome="abandoned"
                    )
                )
                with contextlib.suppress(RequestFailed):
                    await self.wire.request(p.Hangup(id="", call=call))
                return
            if state.call != call or state.state == "ringing":
                continue
            self.stage.log(
                ev.CallEnded(t=self.stage.now(), actor=self.name, call=call, outcome=state.state)
            )
            if state.state == "missed" and self.rng.random() < self.group.leave_message:
                with contextlib.suppress(RequestFailed):
                    await self.wire.request(
                        p.LeaveMessage(
                            id="", name=self.name, email="visitor@example.com", text="Call me back."
                        )
                    )
            if state.state == "accepted":
                while self.room is None:
                    await self._next(p.RoomOpened)
                await self._chat(self.room)
            return

    async def _chat(self, room: str) -> None:
        for _ in range(self.group.messages):
            closed = await self._next(p.RoomClosed, timeout=self.group.think.sample(self.rng))
            if closed is not None and closed.room == room:
                return
            with contextlib.suppress(RequestFailed):
                await self.stage.say(self.wire, self.name, room)
        while True:  # stay until the operator closes the chat
            closed = await self._next(p.RoomClosed)
            if closed is None or closed.room == room:
                return
