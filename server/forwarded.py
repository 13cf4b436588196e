"""Behind a reverse proxy: the client's address, scheme and host from its headers.

A TLS-terminating proxy connects to the server itself, so without this every client
would share the proxy's address (and its per-address limits), and the page's scheme
would look like ``http``. Hypercorn's ``ProxyFixMiddleware`` reads ``Forwarded`` (or
``X-Forwarded-For/-Proto/-Host``); it is applied only to connections that come from a
trusted proxy, since anybody else could send those headers too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from hypercorn.middleware import ProxyFixMiddleware

from .config import networks


class TrustedProxies:
    """ASGI middleware: believe forwarding headers (one hop) from these peers only."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = networks(trusted)
        inner: Any = _WebSocketScheme(app)
        self.fixed = ProxyFixMiddleware(inner, mode="modern", trusted_hops=1)

    def _trusted(self, scope: dict[str, Any]) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self._trusted(scope):
            await self.fixed(scope, receive, send)  # type: ignore[arg-type]
        else:
            await self.app(scope, receive, send)


def behind_proxies(app: Any, trusted: Iterable[str]) -> Any:
    """``app`` as ``ringlab serve`` serves it: behind :class:`TrustedProxies` when any
    proxy is trusted, else as it is."""
    trusted = tuple(trusted)
    return TrustedProxies(app, trusted) if trusted else app


class _WebSocketScheme:
    """``X-Forwarded-Proto: https`` names the page's scheme; a WebSocket scope's must be
    ``wss`` (Hypercorn's middleware copies ``https``, and Quart refuses that with 400)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope["scheme"] = {"https": "wss", "http": "ws"}.get(scope["scheme"], scope["scheme"])
        await self.app(scope, receive, send)
