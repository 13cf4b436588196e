"""The hub: the sans-I/O heart of the reference server.

Its adapter calls it with the current time and what happened (a client
connected, sent a request, went silent; a timer fired) and gets back a list
of effects (:mod:`server.core.effects`) to carry out. The hub never reads a
clock, sleeps, touches a socket or a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import protocol as p
from . import calls, invitations, presence, rooms
from .effects import CloseSession, Ctx, Deliver, Effect, StartTimer
from .errors import AuthFailed, CoreError, Forbidden, InvalidRequest
from .ids import IdSource
from .machines import CallEvent
from .model import (
    Account,
    Binding,
    Button,
    Conflict,
    Membership,
    OfflineMessage,
    Operator,
    PageInstance,
    Room,
    Session,
    Settings,
    Visitor,
)
from .state import State
from .views import (
    operator_info,
    operator_party,
    room_info,
    room_visitor_info,
    visitor_info,
    visitor_party,
)

#: Request ids remembered per session, so a request resent after a reconnect
#: is answered again instead of applied twice.
REMEMBERED_REQUESTS = 256


class Hub:
    """All live chat state of one server process, driven by events."""

    def __init__(self, ids: IdSource, grace: float = p.SESSION_GRACE) -> None:
        self.state = State(ids)
        self.grace = grace

    # ------------------------------------------------------------ loading

    def load(
        self, accounts: Iterable[Account], operators: Iterable[Operator], buttons: Iterable[Button]
    ) -> None:
        """Take the account data the store holds."""
        for account in accounts:
            self.state.add_account(account)
        for operator in operators:
            self.state.add_operator(operator)
        for button in buttons:
            self.state.add_button(button)

    def restore(
        self, now: float, open_rooms: Iterable[Room], members: Iterable[Membership]
    ) -> list[Effect]:
        """Take back the rooms a previous process left open.

        Everyone in them is treated as disconnected at ``now``: whoever does not
        come back within the grace period leaves, as after any disconnect.
        """
        st = self.state
        ctx = Ctx(st, now)
        for room in open_rooms:
            st.rooms[room.id] = room
            st.visitor_rooms.setdefault((room.account_id, room.visitor_id), set()).add(room.id)
            ctx.timer(("restored_room", room.id), now + self.grace)
        for m in members:
            if m.room_id in st.rooms and m.operator_id in st.operators:
                st.rooms[m.room_id].operators.append(m.operator_id)
                st.operators[m.operator_id].rooms.add(m.room_id)
        return ctx.effects

    def add_operator(self, operator: Operator) -> None:
        """A new operator of an account (created in the Control Panel)."""
        self.state.add_operator(operator)

    def remove_operator(self, now: float, operator_id: str) -> list[Effect]:
        """Delete an operator: its sessions end at once, its chats and rings go elsewhere."""
        ctx = Ctx(self.state, now)
        for session in [s for s in self.state.sessions.values() if s.owner == operator_id]:
            ctx.effects.append(CloseSession(session.id, 4401, "operator removed"))
            self._end_session(ctx, session)
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

    # ------------------------------------------------------------ sessions

    def operator_connect(
        self, now: float, operator_id: str, hello: p.OperatorHello
    ) -> tuple[Session, list[Effect]]:
        """An authenticated operator's ``hello``: resume its session or start one."""
        st = self.state
        op = st.operators.get(operator_id)
        if op is None:
            raise AuthFailed("unknown operator")
        ctx = Ctx(st, now)
        old = st.sessions.get(hello.session) if hello.session else None
        if old is not None and old.role == "operator" and old.owner == operator_id:
            self._resume(ctx, old, hello.last_seq, operator=operator_info(op))
            return old, ctx.effects
        session = self._new_session(ctx, "operator", op.operator.account_id, operator_id)
        presence.operator_session_started(ctx, op, session.id)
        ctx.effects.append(Deliver(session.id, self._welcome(session, False, operator_info(op))))
        ctx.send(session.id, self._operator_snapshot(op.operator.id))
        calls.reconcile(ctx)
        return session, ctx.effects

    def visitor_connect(self, now: float, hello: p.VisitorHello) -> tuple[Session, list[Effect]]:
        """A visitor page's ``hello``: resume, or bind the page instance to a visitor."""
        st = self.state
        account = st.accounts.get(hello.account)
        button = st.buttons.get(hello.button)
        if account is None or button is None or button.account_id != account.id:
            raise AuthFailed("unknown account or button")
        ctx = Ctx(st, now)
        old = st.sessions.get(hello.session) if hello.session else None
        if (
            old is not None
            and old.role == "visitor"
            and old.account_id == account.id
            and old.resume_token == hello.resume_token
            and old.owner == hello.page_instance
        ):
            self._resume(ctx, old, hello.last_seq)
            return old, ctx.effects
        key = (account.id, hello.page_instance)
        session = self._new_session(ctx, "visitor", account.id, hello.page_instance)
        if key in st.pages:
            # the same page instance again without its resume data: it takes over its page
            visitor = st.visitors[(account.id, st.pages[key])]
            page = visitor.pages[hello.page_instance]
            ctx.effects.append(CloseSession(page.session_id, 4001, "superseded"))
            ctx.cancel(("session", page.session_id))
            st.sessions.pop(page.session_id, None)
            page.session_id = session.id
            page.last_seen = now
            new = False
        else:
            visitor_id = self._bind_visitor(ctx, account, hello)
            existing = st.visitors.get((account.id, visitor_id))
            new = existing is None
            visitor = existing or Visitor(visitor_id, account.id, now)
            st.visitors[(account.id, visitor_id)] = visitor
            visitor.pages[hello.page_instance] = PageInstance(
                hello.page_instance,
                visitor_id,
                session.id,
                button.id,
                hello.url,
                hello.title,
                hello.referrer,
                now,
                now,
            )
            st.pages[key] = visitor_id
        ctx.effects.append(
            Deliver(session.id, self._welcome(session, False, visitor_id=visitor.id))
        )
        ctx.send(session.id, self._visitor_snapshot(visitor))
        presence.visitor_seen(ctx, visitor, new=new)
        return session, ctx.effects

    def _bind_visitor(self, ctx: Ctx, account: Account, hello: p.VisitorHello) -> str:
        """Which visitor this page instance is; records a conflict when one id is shared."""
        st = self.state
        claimed = hello.visitor_id
        existing = st.visitors.get((account.id, claimed)) if claimed else None
        if claimed is None:
            return st.ids("v")
        if existing is None or not existing.pages:
            return claimed
        first = min(existing.pages.values(), key=lambda pg: (pg.arrived_at, pg.id))
        binding = account.settings.binding
        assigned = claimed if binding == Binding.LEGACY else st.ids("v")
        conflict = Conflict(
            st.ids("conflict"),
            account.id,
            claimed,
            first.id,
            hello.page_instance,
            first.url,
            hello.url,
            binding,
            assigned,
            ctx.now,
        )
        ctx.persist(conflict)
        ctx.log(
            "visitor_id_conflict",
            account=account.id,
            visitor=claimed,
            first_page=first.url,
            second_page=hello.url,
            first_page_instance=first.id,
            page_instance=hello.page_instance,
            binding=binding.value,
            assigned=assigned,
        )
        return assigned

    def _new_session(self, ctx: Ctx, role: str, account_id: str, owner: str) -> Session:
        st = self.state
        session = Session(st.ids("s"), role, account_id, owner, st.ids("rt"))
        st.sessions[session.id] = session
        return session

    def _welcome(
        self,
        session: Session,
        resumed: bool,
        operator: p.OperatorInfo | None = None,
        visitor_id: str | None = None,
    ) -> p.Welcome:
        return p.Welcome(
            role=session.role,  # type: ignore[arg-type]
            session=session.id,
            resumed=resumed,
            last_seq=session.outbox.last_seq,
            heartbeat_interval=p.HEARTBEAT_INTERVAL,
            dead_peer_timeout=p.DEAD_PEER_TIMEOUT,
            resume_token=session.resume_token if session.role == "visitor" else None,
            operator=operator,
            visitor_id=visitor_id,
        )

    def _resume(
        self,
        ctx: Ctx,
        session: Session,
        last_seq: int | None,
        operator: p.OperatorInfo | None = None,
    ) -> None:
        """Reattach a session: replay what the client missed, or send a fresh snapshot."""
        session.connected = True
        ctx.cancel(("session", session.id))
        visitor_id = None
        if session.role == "visitor":
            visitor = self.state.visitor_of_session(session)
            visitor_id = visitor.id
            visitor.pages[session.owner].last_seen = ctx.now
        ctx.effects.append(Deliver(session.id, self._welcome(session, True, operator, visitor_id)))
        missed = session.outbox.since(last_seq if last_seq is not None else 0)
        if missed is None:
            snapshot = (
                self._operator_snapshot(session.owner)
                if session.role == "operator"
                else self._visitor_snapshot(self.state.visitor_of_session(session))
            )
            ctx.send(session.id, snapshot)
        else:
            ctx.effects.extend(Deliver(session.id, m) for m in missed)
        ctx.log(
            "session_resumed",
            session=session.id,
            role=session.role,
            replayed=-1 if missed is None else len(missed),
        )

    def disconnect(self, now: float, session_id: str) -> list[Effect]:
        """The session's connection is gone; the session waits the grace period."""
        session = self.state.sessions.get(session_id)
        if session is None:
            return []
        session.connected = False
        return [StartTimer(("session", session_id), now + self.grace)]

    def end_session(self, now: float, session_id: str) -> list[Effect]:
        """End a session at once, without the grace period (the operator logged out)."""
        ctx = Ctx(self.state, now)
        session = self.state.sessions.get(session_id)
        if session is not None:
            self._end_session(ctx, session)
            calls.reconcile(ctx)
        return ctx.effects

    def sessions_of(self, owner: str) -> list[str]:
        """Ids of the live sessions of an operator (or of a page instance)."""
        return [s.id for s in self.state.sessions.values() if s.owner == owner]

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
                self._end_session(ctx, session)
        elif kind == "restored_room":
            self._settle_restored_room(ctx, ident)
        calls.reconcile(ctx)
        return ctx.effects

    def _end_session(self, ctx: Ctx, session: Session) -> None:
        st = self.state
        st.sessions.pop(session.id, None)
        ctx.cancel(("session", session.id))
        if session.role == "operator":
            presence.operator_session_ended(ctx, st.operators[session.owner], session.id)
        else:
            presence.page_left(ctx, session.account_id, session.owner)

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

    # ------------------------------------------------------------ requests

    def handle(self, now: float, session_id: str, request: Any) -> list[Effect]:
        """Apply one client request; its ``ok``/``error`` follows every event it caused."""
        st = self.state
        session = st.sessions[session_id]
        ctx = Ctx(st, now)
        ref = getattr(request, "id", None)
        if ref is not None and ref in session.replies:
            ctx.send(session_id, session.replies[ref])
            return ctx.effects
        handlers = _OPERATOR if session.role == "operator" else _VISITOR
        try:
            if session.role == "visitor":
                st.visitor_of_session(session).pages[session.owner].last_seen = now
            result = handlers[type(request)](self, ctx, session, request)
            reply: Any = p.Ok(ref=ref, **result) if ref is not None else None
        except CoreError as exc:
            reply = p.Error(code=exc.code, message=exc.message, ref=ref)
        if reply is not None and ref is not None:
            ctx.send(session_id, reply)
            session.replies[ref] = reply
            if len(session.replies) > REMEMBERED_REQUESTS:
                del session.replies[next(iter(session.replies))]
        calls.reconcile(ctx)
        return ctx.effects

    # operator requests ---------------------------------------------------

    def _op(self, session: Session) -> Any:
        return self.state.operators[session.owner]

    def _set_status(self, ctx: Ctx, s: Session, r: p.SetStatus) -> dict[str, Any]:
        presence.set_status(ctx, self._op(s), r.status)
        return {"status": r.status}

    def _accept(self, ctx: Ctx, s: Session, r: p.Accept) -> dict[str, Any]:
        room = calls.accept(ctx, self._op(s), self.state.call(s.account_id, r.call))
        return {"call": r.call, "room": room}

    def _decline(self, ctx: Ctx, s: Session, r: p.Decline) -> dict[str, Any]:
        calls.decline(ctx, self._op(s), self.state.call(s.account_id, r.call))
        return {"call": r.call}

    def _op_send(self, ctx: Ctx, s: Session, r: p.Send) -> dict[str, Any]:
        room = self.state.room(s.account_id, r.room)
        rooms.require_operator(room, s.owner)
        n = rooms.post_message(ctx, room, operator_party(self._op(s)), r.text)
        return {"room": room.id, "n": n}

    def _op_typing(self, ctx: Ctx, s: Session, r: p.Typing) -> dict[str, Any]:
        room = self.state.room(s.account_id, r.room)
        rooms.require_operator(room, s.owner)
        rooms.typing(ctx, room, operator_party(self._op(s)), r.on, self._op(s).sessions)
        return {}

    def _op_close(self, ctx: Ctx, s: Session, r: p.Close) -> dict[str, Any]:
        room = self.state.room(s.account_id, r.room)
        rooms.require_operator(room, s.owner)
        rooms.operator_leave(ctx, room, s.owner, "closed")
        return {"room": room.id}

    def _invite_visitor(self, ctx: Ctx, s: Session, r: p.InviteVisitor) -> dict[str, Any]:
        inv = invitations.invite(ctx, self._op(s), r.visitor, r.text)
        return {"invitation": inv.id}

    def _cancel_invitation(self, ctx: Ctx, s: Session, r: p.CancelInvitation) -> dict[str, Any]:
        inv = self.state.invitation(s.account_id, r.invitation)
        if inv.operator_id != s.owner:
            raise Forbidden(f"invitation {inv.id!r} is not yours")
        invitations.cancel(ctx, inv, "cancelled")
        return {"invitation": inv.id}

    def _invite_operator(self, ctx: Ctx, s: Session, r: p.InviteOperator) -> dict[str, Any]:
        room = self.state.room(s.account_id, r.room)
        rooms.invite_operator(ctx, room, s.owner, r.operator)
        return {"room": room.id}

    def _join(self, ctx: Ctx, s: Session, r: p.Join) -> dict[str, Any]:
        room = self.state.room(s.account_id, r.room)
        rooms.join(ctx, room, s.owner, self.state.accounts[s.account_id].settings.max_chats)
        return {"room": room.id}

    def _decline_join(self, ctx: Ctx, s: Session, r: p.DeclineJoin) -> dict[str, Any]:
        rooms.decline_join(ctx, self.state.room(s.account_id, r.room), s.owner)
        return {"room": r.room}

    # visitor requests ----------------------------------------------------

    def _call(self, ctx: Ctx, s: Session, r: p.PlaceCall) -> dict[str, Any]:
        visitor = self.state.visitor_of_session(s)
        open_rooms = self.state.open_rooms_of(s.account_id, visitor.id)
        if open_rooms:  # already chatting: the button opens that chat
            return {"room": open_rooms[0].id}
        page = visitor.pages[s.owner]
        call = calls.place_call(ctx, visitor, page.id, page.button_id)
        return {"call": call.id}

    def _hangup(self, ctx: Ctx, s: Session, r: p.Hangup) -> dict[str, Any]:
        visitor = self.state.visitor_of_session(s)
        call = self.state.call(s.account_id, r.call)
        if call.visitor_id != visitor.id:
            raise Forbidden(f"call {call.id!r} is not yours")
        calls.end_unanswered(ctx, call, CallEvent.VISITOR_LEFT, "visitor_left")
        return {"call": call.id}

    def _v_send(self, ctx: Ctx, s: Session, r: p.Send) -> dict[str, Any]:
        visitor = self.state.visitor_of_session(s)
        room = self.state.room(s.account_id, r.room)
        rooms.require_visitor(room, visitor.id)
        n = rooms.post_message(ctx, room, visitor_party(visitor.id), r.text)
        return {"room": room.id, "n": n}

    def _v_typing(self, ctx: Ctx, s: Session, r: p.Typing) -> dict[str, Any]:
        visitor = self.state.visitor_of_session(s)
        room = self.state.room(s.account_id, r.room)
        rooms.require_visitor(room, visitor.id)
        rooms.typing(ctx, room, visitor_party(visitor.id), r.on, {s.id})
        return {}

    def _v_close(self, ctx: Ctx, s: Session, r: p.Close) -> dict[str, Any]:
        visitor = self.state.visitor_of_session(s)
        room = self.state.room(s.account_id, r.room)
        rooms.require_visitor(room, visitor.id)
        rooms.end_room(ctx, room, "visitor_closed")
        return {"room": room.id}

    def _invitation_reply(self, ctx: Ctx, s: Session, r: p.InvitationReply) -> dict[str, Any]:
        visitor = self.state.visitor_of_session(s)
        room = invitations.reply(
            ctx, visitor, self.state.invitation(s.account_id, r.invitation), r.accept
        )
        return {"invitation": r.invitation, "room": room}

    def _leave_message(self, ctx: Ctx, s: Session, r: p.LeaveMessage) -> dict[str, Any]:
        if not r.text.strip():
            raise InvalidRequest("leave_message: `text` is blank")
        visitor = self.state.visitor_of_session(s)
        ended = self.state.ended_calls
        last_call = next(
            (
                c.id
                for c in reversed(ended.values())
                if c.visitor_id == visitor.id and c.account_id == s.account_id
            ),
            None,
        )
        msg = OfflineMessage(
            self.state.ids("msg"),
            s.account_id,
            visitor.id,
            r.name,
            r.email,
            r.text,
            ctx.now,
            last_call,
        )
        ctx.persist(msg)
        ctx.log("offline_message", account=s.account_id, visitor=visitor.id)
        return {}

    def _bye(self, ctx: Ctx, s: Session, r: p.Bye) -> dict[str, Any]:
        ctx.effects.append(CloseSession(s.id, 1000, "bye"))
        self._end_session(ctx, s)
        return {}

    # ------------------------------------------------------------ snapshots

    def _operator_snapshot(self, operator_id: str) -> p.OperatorSnapshot:
        st = self.state
        op = st.operators[operator_id]
        account_id = op.operator.account_id
        return p.OperatorSnapshot(
            me=operator_info(op),
            operators=[operator_info(o) for o in st.account_operators(account_id)],
            visitors=[visitor_info(v) for v in st.account_visitors(account_id)],
            rings=[
                calls.ring_info(st, c)
                for c in st.ringing_calls(account_id)
                if operator_id in c.ringing
            ],
            rooms=[room_info(st, st.rooms[r]) for r in sorted(op.rooms)],
            room_invites=[
                p.RoomInviteInfo(
                    room.id, operator_party(st.operators[inviter]), room_visitor_info(st, room)
                )
                for room in st.rooms.values()
                for invitee, inviter in room.invited.items()
                if invitee == operator_id
            ],
            invitations=sorted(
                i.id for i in st.invitations.values() if i.operator_id == operator_id
            ),
        )

    def _visitor_snapshot(self, visitor: Visitor) -> p.VisitorSnapshot:
        st = self.state
        call = st.calls.get(visitor.call_id) if visitor.call_id else None
        inv = st.invitations.get(visitor.invitation_id) if visitor.invitation_id else None
        return p.VisitorSnapshot(
            visitor_id=visitor.id,
            available=st.available.get(visitor.account_id, False),
            rooms=[room_info(st, r) for r in st.open_rooms_of(visitor.account_id, visitor.id)],
            call=call.id if call else None,
            call_state=call.state.value if call else None,
            invitation=p.InvitationInfo(
                inv.id, operator_party(st.operators[inv.operator_id]), inv.text
            )
            if inv
            else None,
        )


Handler = Callable[[Hub, Ctx, Session, Any], dict[str, Any]]

_OPERATOR: dict[type, Handler] = {
    p.SetStatus: Hub._set_status,
    p.Accept: Hub._accept,
    p.Decline: Hub._decline,
    p.Send: Hub._op_send,
    p.Typing: Hub._op_typing,
    p.Close: Hub._op_close,
    p.InviteVisitor: Hub._invite_visitor,
    p.CancelInvitation: Hub._cancel_invitation,
    p.InviteOperator: Hub._invite_operator,
    p.Join: Hub._join,
    p.DeclineJoin: Hub._decline_join,
}
_VISITOR: dict[type, Handler] = {
    p.PlaceCall: Hub._call,
    p.Hangup: Hub._hangup,
    p.Send: Hub._v_send,
    p.Typing: Hub._v_typing,
    p.Close: Hub._v_close,
    p.InvitationReply: Hub._invitation_reply,
    p.LeaveMessage: Hub._leave_message,
    p.Bye: Hub._bye,
}
