"""The hub: the sans-I/O heart of the reference server.

Its adapter calls it with the current time and what happened (a client
connected, sent a request, went silent; a timer fired) and gets back a list
of effects (:mod:`server.core.effects`) to carry out. The hub never reads a
clock, sleeps, touches a socket or a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import protocol as p
from . import calls, requests, rooms, sessions
from .effects import CloseSession, Ctx, Effect
from .errors import CoreError
from .ids import IdSource
from .model import (
    Account,
    Button,
    Call,
    Membership,
    Operator,
    Room,
    Session,
    Settings,
    Timings,
)
from .state import State

#: Request ids remembered per session, so a request resent after a reconnect
#: is answered again instead of applied twice.
REMEMBERED_REQUESTS = 256


class Hub:
    """All live chat state of one server process, driven by events."""

    def __init__(self, ids: IdSource, timings: Timings | None = None) -> None:
        self.state = State(ids, timings or Timings())

    @property
    def timings(self) -> Timings:
        """The protocol's timings the server keeps and ``welcome`` tells."""
        return self.state.timings

    def load(
        self, accounts: Iterable[Account], operators: Iterable[Operator], buttons: Iterable[Button]
    ) -> None:
        """Take the account data the store holds. Called again with a fresh read, it takes
        what was added to the store since (an account, an operator, a button) and keeps
        what it had: live settings, presence and sessions."""
        st = self.state
        for account in accounts:
            if account.id not in st.accounts:
                st.add_account(account)
        for operator in operators:
            if operator.id not in st.operators:
                st.add_operator(operator)
        for button in buttons:
            st.add_button(button)

    def restore(
        self,
        now: float,
        open_rooms: Iterable[Room],
        members: Iterable[Membership],
        missed: Iterable[Call] = (),
    ) -> list[Effect]:
        """Take back the rooms a previous process left open, and the calls it left
        ringing (``missed`` now, reason ``server_restart``).

        Everyone in the rooms is treated as disconnected at ``now``: whoever does not
        come back within the grace period leaves, as after any disconnect. A visitor whose
        call was missed is told so by its next snapshot.
        """
        st = self.state
        ctx = Ctx(st, now)
        for call in missed:
            st.call_missed(call)
        for room in open_rooms:
            st.rooms[room.id] = room
            st.visitor_rooms.setdefault((room.account_id, room.visitor_id), set()).add(room.id)
            ctx.timer(("restored_room", room.id), now + self.timings.session_grace)
        for m in members:
            if m.room_id in st.rooms and m.operator_id in st.operators:
                st.rooms[m.room_id].operators.append(m.operator_id)
                st.operators[m.operator_id].rooms.add(m.room_id)
        return ctx.effects

    def add_operator(self, operator: Operator) -> list[Effect]:
        """A new operator of an account (created in the Control Panel)."""
        self.state.add_operator(operator)
        return []

    def remove_operator(self, now: float, operator_id: str) -> list[Effect]:
        """Delete an operator: its sessions end at once, its chats and rings go elsewhere."""
        ctx = Ctx(self.state, now)
        for session in [s for s in self.state.sessions.values() if s.owner == operator_id]:
            ctx.effects.append(CloseSession(session.id, 4401, "operator removed"))
            sessions.end_session(ctx, session)
        calls.reconcile(ctx)
        self.state.operators.pop(operator_id, None)
        return ctx.effects

    def operator(self, operator_id: str) -> Operator | None:
        """An operator's account data, if it exists."""
        presence = self.state.operators.get(operator_id)
        return presence.operator if presence else None

    def settings(self, account_id: str) -> Settings:
        return self.state.accounts[account_id].settings

    def update_settings(self, now: float, account_id: str, settings: Settings) -> list[Effect]:
        """Change an account's settings; rings follow the new max chats at once."""
        ctx = Ctx(self.state, now)
        self.state.accounts[account_id].settings = settings
        ctx.persist(self.state.accounts[account_id])
        ctx.dirty_operators.update(o.operator.id for o in self.state.account_operators(account_id))
        calls.reconcile(ctx)
        return ctx.effects

    def operator_connect(
        self, now: float, operator_id: str, hello: p.OperatorHello, credential: str | None = None
    ) -> tuple[Session, list[Effect]]:
        """An authenticated operator's ``hello``: resume its session or start one.
        ``credential`` (its login token, hashed) lets a logout end the session."""
        ctx = Ctx(self.state, now)
        session = sessions.operator_connect(ctx, operator_id, hello, credential)
        calls.reconcile(ctx)
        return session, ctx.effects

    def visitor_connect(self, now: float, hello: p.VisitorHello) -> tuple[Session, list[Effect]]:
        """A visitor page's ``hello``: resume (on the same page or the next one of the site),
        or bind the page instance to a visitor."""
        ctx = Ctx(self.state, now)
        session = sessions.visitor_connect(ctx, hello)
        return session, ctx.effects

    def disconnect(self, now: float, session_id: str) -> list[Effect]:
        """The session's connection is gone; the session waits the grace period."""
        ctx = Ctx(self.state, now)
        session = self.state.sessions.get(session_id)
        if session is not None:
            sessions.wait_grace(ctx, session)
        return ctx.effects

    def end_session(self, now: float, session_id: str, reason: str = "") -> list[Effect]:
        """End a session at once, without the grace period (the operator logged out); with
        a ``reason``, its connection (if any) is closed with 4401 and that reason."""
        ctx = Ctx(self.state, now)
        session = self.state.sessions.get(session_id)
        if session is not None:
            if reason:
                ctx.effects.append(CloseSession(session_id, 4401, reason))
            sessions.end_session(ctx, session)
            calls.reconcile(ctx)
        return ctx.effects

    def sessions_of(self, owner: str) -> list[str]:
        """Ids of the live sessions of an operator (or of a page instance)."""
        return [s.id for s in self.state.sessions.values() if s.owner == owner]

    def sessions_with(self, credential: str) -> list[str]:
        """Ids of the sessions opened with ``credential``, connected or in their grace."""
        return [s.id for s in self.state.sessions.values() if s.credential == credential]

    def ack(self, session_id: str, seq: int) -> None:
        session = self.state.sessions.get(session_id)
        if session is not None:
            session.outbox.ack(seq)

    def timer(self, now: float, key: tuple[str, str]) -> list[Effect]:
        """A timer the hub asked for has fired."""
        ctx = Ctx(self.state, now)
        kind, ident = key
        if kind == "ring_timeout":
            calls.ring_timeout(ctx, ident)
        elif kind == "session":
            session = self.state.sessions.get(ident)
            if session is not None and not session.connected:
                sessions.end_session(ctx, session)
        elif kind == "restored_room":
            self._settle_restored_room(ctx, ident)
        calls.reconcile(ctx)
        return ctx.effects

    def _settle_restored_room(self, ctx: Ctx, room_id: str) -> None:
        st = self.state
        room = st.rooms.get(room_id)
        if room is None:
            return
        for op_id in list(room.operators):
            if not st.operators[op_id].sessions and room.id in st.rooms:
                rooms.operator_leave(ctx, room, op_id, "offline")
        if room.id in st.rooms and (room.account_id, room.visitor_id) not in st.visitors:
            rooms.end_room(ctx, room, "visitor_left")

    def handle(self, now: float, session_id: str, request: Any) -> list[Effect]:
        """Apply one client request; its ``ok``/``error`` follows every event it caused,
        the rings that follow a change of eligibility included (rule 5). A request whose
        session ended before it came up (a logout, a ``bye``) is not applied."""
        st = self.state
        session = st.sessions.get(session_id)
        if session is None:
            return []
        ctx = Ctx(st, now)
        ref = getattr(request, "id", None)
        if ref is not None and ref in session.replies:
            ctx.send(session_id, session.replies[ref])
            return ctx.effects
        handlers = requests.OPERATOR if session.role == "operator" else requests.VISITOR
        reply: Any
        try:
            if session.role == "visitor":
                st.visitor_of_session(session).pages[session.owner].last_seen = now
            result = handlers[type(request)](ctx, session, request)
        except CoreError as exc:
            reply = p.Error(code=exc.code, message=exc.message, ref=ref)
        else:
            reply = p.Ok(ref=ref, **result) if ref is not None else None
        calls.reconcile(ctx)
        if reply is not None and ref is not None and session.id in st.sessions:
            ctx.send(session_id, reply)
            session.replies[ref] = reply
            if len(session.replies) > REMEMBERED_REQUESTS:
                del session.replies[next(iter(session.replies))]
        return ctx.effects
