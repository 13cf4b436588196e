"""The Control Panel's HTTP API: operators, button codes, transcripts, conflicts.

Every endpoint needs an administrator's ``Authorization: Bearer`` token. A
token in a header (never a cookie) is what makes these endpoints safe from
cross-site request forgery: another site's page cannot make the browser send it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import msgspec
from quart import Response, request

from ..core import Operator, hash_password
from ..store import LoginTaken
from .logins import Logins
from .pages import button_snippet
from .replies import HttpError, invalid_field, json_response, read_json

if TYPE_CHECKING:
    from quart_trio import QuartTrio

    from ..chat import ChatServer

Login = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]


class NewOperator(msgspec.Struct, forbid_unknown_fields=True):
    login: Login
    name: Name
    password: Password
    is_admin: bool = False


class NewPassword(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


class TranscriptPage(msgspec.Struct, forbid_unknown_fields=True):
    """``GET /api/transcripts?limit=N&before=ROOM``: a page of the chats, newest first."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100
    before: str | None = None


def register(app: QuartTrio, chat: ChatServer, logins: Logins) -> None:
    """Add the Control Panel API to ``app``."""

    async def admin() -> Operator:
        return await logins.authorize(request.headers.get("Authorization", ""), admin=True)

    def colleague(me: Operator, operator_id: str) -> Operator:
        op = chat.hub.operator(operator_id)
        if op is None or op.account_id != me.account_id:
            raise HttpError(404, "not_found", f"no operator {operator_id}")
        return op

    @app.get("/api/operators")
    async def list_operators() -> Response:
        me = await admin()
        return json_response(
            [
                {
                    "id": o.operator.id,
                    "login": o.operator.login,
                    "name": o.operator.name,
                    "is_admin": o.operator.is_admin,
                    "status": o.shown_status,
                }
                for o in chat.hub.state.account_operators(me.account_id)
            ]
        )

    @app.post("/api/operators")
    async def add_operator() -> Response:
        me = await admin()
        new = await read_json(NewOperator)
        cost = chat.config.password_cost
        hashed = await chat.blocking(lambda: hash_password(new.password, chat.config.salt(), cost))
        op = Operator(
            chat.config.ids("op"), me.account_id, new.login, new.name, hashed, new.is_admin
        )
        try:
            await chat.store.add_operator(op)
        except LoginTaken:
            raise HttpError(409, "login_taken", f"the login {new.login!r} is taken") from None
        await chat.runtime.do(lambda now: chat.hub.add_operator(op))
        return json_response({"id": op.id, "login": op.login, "name": op.name}, 201)

    @app.delete("/api/operators/<operator_id>")
    async def remove_operator(operator_id: str) -> Response:
        me = await admin()
        op = colleague(me, operator_id)
        if op.id == me.id:
            raise HttpError(409, "forbidden", "you cannot remove yourself")
        await chat.store.remove_operator(op.id)
        await chat.runtime.do(lambda now: chat.hub.remove_operator(now, op.id))
        return Response("", status=204)

    @app.post("/api/operators/<operator_id>/password")
    async def reset_password(operator_id: str) -> Response:
        me = await admin()
        op = colleague(me, operator_id)
        new = await read_json(NewPassword)
        cost = chat.config.password_cost
        hashed = await chat.blocking(lambda: hash_password(new.password, chat.config.salt(), cost))
        await chat.store.set_password(op.id, hashed)  # and its tokens stop working
        op.password_hash = hashed
        await chat.end_sessions(lambda: chat.hub.sessions_of(op.id), "password reset")
        return Response("", status=204)

    @app.get("/api/buttons")
    async def buttons() -> Response:
        me = await admin()
        base = request.host_url.rstrip("/")
        return json_response(
            [
                {"id": b.id, "name": b.name, "snippet": button_snippet(base, me.account_id, b.id)}
                for b in chat.hub.state.buttons.values()
                if b.account_id == me.account_id
            ]
        )

    @app.get("/api/transcripts")
    async def transcripts() -> Response:
        me = await admin()
        try:
            page = msgspec.convert(dict(request.args), TranscriptPage, strict=False)
        except msgspec.ValidationError as exc:
            raise invalid_field(exc) from None
        rooms = await chat.store.rooms(me.account_id, page.limit, page.before)
        more = len(rooms) == page.limit
        return json_response(
            {
                "transcripts": [dataclasses.asdict(r) for r in rooms],
                "next": rooms[-1].id if rooms and more else None,
            }
        )

    @app.get("/api/transcripts/<room_id>")
    async def transcript(room_id: str) -> Response:
        me = await admin()
        if await chat.store.room_account(room_id) != me.account_id:
            raise HttpError(404, "not_found", f"no chat {room_id}")
        messages = await chat.store.transcript(room_id)
        return json_response(
            [
                {"n": m.n, "role": m.role, "name": m.sender_name, "text": m.text, "at": m.at}
                for m in messages
            ]
        )

    @app.get("/api/offline-messages")
    async def offline_messages() -> Response:
        me = await admin()
        rows = await chat.store.offline_messages(me.account_id)
        return json_response([dataclasses.asdict(m) for m in rows])

    @app.get("/api/conflicts")
    async def conflicts() -> Response:
        me = await admin()
        rows = await chat.store.conflicts(me.account_id)
        return json_response(
            [{**dataclasses.asdict(c), "binding": str(c.binding)} for c in reversed(rows)]
        )
