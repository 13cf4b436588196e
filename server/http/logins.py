"""Operators' logins over HTTP: tokens for a login and password, and the operator a token
names.

A token is what an operator's console sends, as ``Authorization: Bearer <token>``, to the
API and in its WebSocket ``hello``. Login attempts are rate-limited per address and failed
ones per login name, and an unknown login costs the same time as a wrong password.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from ..core import Operator, hash_password, verify_password
from ..limits import KeyedBuckets
from ..store import token_hash
from .replies import HttpError

if TYPE_CHECKING:
    from ..chat import ChatServer

log = logging.getLogger("ringlab.server")

#: Seconds an operator login token stays valid.
TOKEN_TTL = 12 * 3600.0


class LoginRequest(msgspec.Struct):
    """``POST /api/login``."""

    login: str
    password: str


def bearer(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ("" for any other)."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Logins:
    """Logging operators in and out, and telling who a request's token belongs to."""

    def __init__(self, chat: ChatServer) -> None:
        self.chat = chat
        limits = chat.config.limits
        self.attempts = KeyedBuckets(limits.login_rate, limits.login_burst)
        self.failures = KeyedBuckets(limits.login_failure_rate, limits.login_failure_burst)
        self.stand_in_hash = ""

    def start(self) -> None:
        """Hash the stand-in password that unknown logins are checked against, before the
        first login comes (it takes as long as any password hash)."""
        self.stand_in_hash = hash_password("", bytes(16), self.chat.config.password_cost)

    async def authorize(self, authorization: str, *, admin: bool = False) -> Operator:
        """The operator an ``Authorization: Bearer <token>`` header names; raises
        :class:`HttpError`."""
        chat = self.chat
        token = bearer(authorization)
        op_id = await chat.store.token_operator(token, chat.now()) if token else None
        if op_id is not None and chat.hub.operator(op_id) is None:
            await chat.refresh()  # added to the store since this process started
        op = chat.hub.operator(op_id) if op_id else None
        if op is None:
            raise HttpError(401, "auth_failed", "log in first (Authorization: Bearer <token>)")
        if admin and not op.is_admin:
            raise HttpError(403, "forbidden", "this needs an administrator")
        return op

    async def login(self, body: LoginRequest, address: str = "") -> dict[str, Any] | None:
        """A new token for a right login and password, None for a wrong one; raises
        :class:`HttpError` 429 when the address or the login name is over its limit."""
        chat = self.chat
        now = chat.now()
        if not self.attempts.take(address, now):
            raise self._limited(self.attempts.retry_after(address, now))
        if not self.failures.peek(body.login, now):
            raise self._limited(self.failures.retry_after(body.login, now))
        op = await chat.store.operator_by_login(body.login)
        # an unknown login is checked against a stand-in hash: the same time as a wrong
        # password, so timing does not reveal which logins exist
        stored = op.password_hash if op is not None else self.stand_in_hash
        if not await chat.blocking(lambda: verify_password(body.password, stored)) or op is None:
            self.failures.take(body.login, now)
            log.info("%s", json.dumps({"event": "login_failed", "address": address}))
            return None
        token = chat.config.ids("tok")
        await chat.store.add_token(token, op.id, chat.now(), TOKEN_TTL)
        log.info("%s", json.dumps({"event": "operator_login", "operator": op.id}))
        return {
            "token": token,
            "operator": {
                "id": op.id,
                "login": op.login,
                "name": op.name,
                "account": op.account_id,
                "is_admin": op.is_admin,
            },
        }

    async def logout(self, token: str) -> None:
        """Revoke a token and end, at once, every session opened with it: connected, or in
        its grace period after the console closed its connection first."""
        await self.chat.store.revoke_token(token)
        await self.chat.end_sessions(
            lambda: self.chat.hub.sessions_with(token_hash(token)), "logged out"
        )

    def _limited(self, wait: float) -> HttpError:
        self.chat.metrics.frame_errors.labels("rate_limited").inc()
        return HttpError(
            429, "rate_limited", f"too many login attempts; try again in {wait:.0f} s", wait
        )
