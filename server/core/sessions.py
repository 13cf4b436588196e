"""Sessions: ``hello`` starts or resumes one, a lost connection leaves it waiting its grace
period, and it ends (leave on purpose, log out, grace over) with its owner's presence.

A visitor's session belongs to a page instance: one browser tab of the site. The widget
keeps the page instance, session and resume token while the visitor moves between pages
of the site, so the next page resumes the session and operators see a page change.
"""

from __future__ import annotations

from .. import protocol as p
from . import calls, presence
from .effects import CloseSession, Ctx, Deliver
from .errors import AuthFailed
from .lifecycle import PageChanged, SessionResumed, VisitorIdConflict
from .model import Account, Binding, Conflict, PageInstance, Session, Visitor
from .snapshots import operator_snapshot, visitor_snapshot
from .views import operator_info


def operator_connect(
    ctx: Ctx, operator_id: str, hello: p.OperatorHello, credential: str | None
) -> Session:
    """An authenticated operator's ``hello``: resume its session or start one."""
    st = ctx.state
    op = st.operators.get(operator_id)
    if op is None:
        raise AuthFailed("unknown operator")
    old = st.sessions.get(hello.session) if hello.session else None
    if old is not None and old.role == "operator" and old.owner == operator_id:
        old.credential = credential
        presence.operator_session_started(ctx, op, old.id)  # back from a bye: rings again
        resume(ctx, old, hello.last_seq, operator=operator_info(op))
        return old
    session = _new_session(ctx, "operator", op.operator.account_id, operator_id)
    session.credential = credential
    presence.operator_session_started(ctx, op, session.id)
    _welcome(ctx, session, False, operator_info(op))
    _snapshot(ctx, session)
    return session


def _snapshot(ctx: Ctx, session: Session) -> None:
    """A console's rings follow its arrival first, and then its snapshot names them: told
    of a ring after a snapshot without it, it first took the call for ended."""
    if session.role == "operator":
        ctx.muted.add(session.id)
        calls.reconcile(ctx)
        ctx.muted.discard(session.id)
        ctx.send(session.id, operator_snapshot(ctx.state, session.owner))
    else:
        ctx.send(session.id, visitor_snapshot(ctx.state, ctx.state.visitor_of_session(session)))


def visitor_connect(ctx: Ctx, hello: p.VisitorHello) -> Session:
    """A visitor page's ``hello``: resume, or bind the page instance to a visitor."""
    st = ctx.state
    account = st.accounts.get(hello.account)
    button = st.buttons.get(hello.button)
    if account is None or button is None or button.account_id != account.id:
        raise AuthFailed("unknown account or button")
    old = st.sessions.get(hello.session) if hello.session else None
    if (
        old is not None
        and old.role == "visitor"
        and old.account_id == account.id
        and old.resume_token == hello.resume_token
        and old.owner == hello.page_instance
    ):
        _page_shown(ctx, st.visitor_of_session(old), old.owner, hello)
        resume(ctx, old, hello.last_seq)
        return old
    key = (account.id, hello.page_instance)
    session = _new_session(ctx, "visitor", account.id, hello.page_instance)
    if key in st.pages:
        # the same page instance again without its resume data: it takes over its page
        visitor = st.visitors[(account.id, st.pages[key])]
        page = visitor.pages[hello.page_instance]
        ctx.effects.append(CloseSession(page.session_id, 4001, "superseded"))
        ctx.cancel(("session", page.session_id))
        st.sessions.pop(page.session_id, None)
        page.session_id = session.id
        page.last_seen = ctx.now
        new = False
    else:
        visitor_id = _bind_visitor(ctx, account, hello)
        existing = st.visitors.get((account.id, visitor_id))
        new = existing is None
        visitor = existing or Visitor(visitor_id, account.id, ctx.now)
        st.visitors[(account.id, visitor_id)] = visitor
        visitor.pages[hello.page_instance] = PageInstance(
            hello.page_instance,
            visitor_id,
            session.id,
            button.id,
            hello.url,
            hello.title,
            hello.referrer,
            ctx.now,
            ctx.now,
        )
        st.pages[key] = visitor_id
    _welcome(ctx, session, False, visitor_id=visitor.id)
    ctx.send(session.id, visitor_snapshot(st, visitor))
    presence.visitor_seen(ctx, visitor, new=new)
    return session


def _page_shown(ctx: Ctx, visitor: Visitor, page_id: str, hello: p.VisitorHello) -> None:
    """A resumed page instance shows another page of the site now: operators see the move
    (``visitor_arrived``, an upsert), never a departure."""
    page = visitor.pages[page_id]
    page.last_seen = ctx.now
    if (page.url, page.title) == (hello.url, hello.title):
        return  # the same page, reconnected
    page.url, page.title, page.referrer = hello.url, hello.title, hello.referrer
    presence.visitor_seen(ctx, visitor, new=False)
    ctx.log(PageChanged(visitor.account_id, visitor.id, hello.url))


def _bind_visitor(ctx: Ctx, account: Account, hello: p.VisitorHello) -> str:
    """Which visitor this page instance is; records a conflict when one id is shared."""
    st = ctx.state
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
        VisitorIdConflict(
            account.id,
            claimed,
            first_page=first.url,
            second_page=hello.url,
            first_page_instance=first.id,
            page_instance=hello.page_instance,
            binding=binding.value,
            assigned=assigned,
        )
    )
    return assigned


def _new_session(ctx: Ctx, role: str, account_id: str, owner: str) -> Session:
    st = ctx.state
    session = Session(st.ids("s"), role, account_id, owner, st.ids("rt"))
    st.sessions[session.id] = session
    return session


def _welcome(
    ctx: Ctx,
    session: Session,
    resumed: bool,
    operator: p.OperatorInfo | None = None,
    visitor_id: str | None = None,
) -> None:
    """The first frame of a connection (unsequenced): the session, and the timings the
    server keeps."""
    timings = ctx.state.timings
    welcome = p.Welcome(
        role=session.role,  # type: ignore[arg-type]
        session=session.id,
        resumed=resumed,
        last_seq=session.outbox.last_seq,
        heartbeat_interval=timings.heartbeat_interval,
        dead_peer_timeout=timings.dead_peer_timeout,
        session_grace=timings.session_grace,
        resume_token=session.resume_token if session.role == "visitor" else None,
        operator=operator,
        visitor_id=visitor_id,
    )
    ctx.effects.append(Deliver(session.id, welcome))


def resume(
    ctx: Ctx,
    session: Session,
    last_seq: int | None,
    operator: p.OperatorInfo | None = None,
) -> None:
    """Reattach a session: replay what the client missed, or send a fresh snapshot."""
    st = ctx.state
    session.connected = True
    ctx.cancel(("session", session.id))
    visitor_id = st.visitor_of_session(session).id if session.role == "visitor" else None
    _welcome(ctx, session, True, operator, visitor_id)
    if last_seq:
        session.outbox.ack(last_seq)  # the client has processed those: a resume acks them
    missed = session.outbox.since(last_seq if last_seq is not None else 0)
    if missed is None:
        _snapshot(ctx, session)
    else:
        ctx.effects.extend(Deliver(session.id, m) for m in missed)
    replayed = -1 if missed is None else len(missed)
    ctx.log(SessionResumed(session.id, session.role, replayed))


def wait_grace(ctx: Ctx, session: Session) -> None:
    """The session's connection is gone: the session waits its grace period for a resume."""
    session.connected = False
    ctx.timer(("session", session.id), ctx.now + ctx.state.timings.session_grace)


def end_session(ctx: Ctx, session: Session) -> None:
    """The session is over for good: its owner's presence follows."""
    st = ctx.state
    st.sessions.pop(session.id, None)
    ctx.cancel(("session", session.id))
    if session.role == "operator":
        presence.operator_session_ended(ctx, st.operators[session.owner], session.id)
    else:
        presence.page_left(ctx, session.account_id, session.owner)
