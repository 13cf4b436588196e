"""The server's HTTP API for programs and consoles: login and logout, the account's
settings, health and metrics."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from quart import Response, request

from ..core import Settings
from .logins import LoginRequest, Logins, bearer
from .replies import json_response, read_json

if TYPE_CHECKING:
    from quart_trio import QuartTrio

    from ..chat import ChatServer


class SettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/settings``: the settings to change; the others stay."""

    ring_timeout: Annotated[float, msgspec.Meta(gt=0, le=86400)] | None = None
    max_chats: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    binding: Literal["legacy", "strict"] | None = None


async def update_settings(chat: ChatServer, account_id: str, patch: SettingsPatch) -> Settings:
    """Apply ``patch`` to the account's settings, through the runtime; the new settings."""
    current = chat.hub.settings(account_id)
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not None}
    settings = Settings(**{**dataclasses.asdict(current), **changes})
    await chat.runtime.do(lambda now: chat.hub.update_settings(now, account_id, settings))
    return settings


def _settings_json(settings: Settings) -> dict[str, Any]:
    return {
        "ring_timeout": settings.ring_timeout,
        "max_chats": settings.max_chats,
        "binding": str(settings.binding),
    }


def register(app: QuartTrio, chat: ChatServer, logins: Logins) -> None:
    """Add the API's routes to ``app``."""

    @app.post("/api/login")
    async def login() -> Response:
        try:
            body = msgspec.json.decode(await request.get_data(), type=LoginRequest)
        except msgspec.MsgspecError as exc:
            return json_response({"error": "invalid_field", "message": str(exc)}, 400)
        result = await logins.login(body, request.remote_addr or "")
        if result is None:
            return json_response(
                {"error": "auth_failed", "message": "wrong login or password"}, 401
            )
        return json_response(result)

    @app.post("/api/logout")
    async def logout() -> Response:
        token = bearer(request.headers.get("Authorization", ""))
        if token:
            await logins.logout(token)
        return Response("", status=204)

    @app.get("/api/settings")
    async def get_settings() -> Response:
        op = await logins.authorize(request.headers.get("Authorization", ""))
        return json_response(_settings_json(chat.hub.settings(op.account_id)))

    @app.put("/api/settings")
    async def put_settings() -> Response:
        op = await logins.authorize(request.headers.get("Authorization", ""), admin=True)
        patch = await read_json(SettingsPatch)
        return json_response(_settings_json(await update_settings(chat, op.account_id, patch)))

    @app.get("/healthz")
    async def healthz() -> Response:
        failure = chat.runtime.failure
        return json_response(
            {"status": "failed" if failure else "ok", "connections": len(chat.conns)}
            | ({"failure": failure} if failure else {}),
            503 if failure else 200,
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(chat.metrics.render(), content_type="text/plain; version=0.0.4")
