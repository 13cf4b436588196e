"""The Quart-trio app: the reference server's parts wired together.

:class:`ChatServer` (:mod:`server.chat`) is the running chat; its WebSocket endpoints are
ASGI middleware in front of the app (:mod:`server.websocket`), and its HTTP routes come
from :mod:`server.http`: the API, the Control Panel's API and the pages.
"""

from __future__ import annotations

from quart_trio import QuartTrio

from . import hypercorn_patch
from .chat import ChatServer
from .config import ServerConfig
from .http import admin, api, pages, replies
from .http.logins import Logins
from .websocket import websocket_endpoints

__all__ = ["ChatServer", "ServerConfig", "create_app"]


def create_app(config: ServerConfig | None = None) -> QuartTrio:
    """Build the reference server's app; ``app.chat`` is its :class:`ChatServer`."""
    hypercorn_patch.apply()  # whoever serves the app: ringlab serve, the simulator, tests
    chat = ChatServer(config or ServerConfig())
    logins = Logins(chat)
    # named after this module: Quart finds server/templates and server/static beside it
    app = QuartTrio(__name__)
    app.chat = chat  # type: ignore[attr-defined]

    @app.before_serving
    async def startup() -> None:
        await chat.start(app.nursery)
        logins.start()

    @app.after_serving
    async def shutdown() -> None:
        await chat.stop()

    # the WebSocket endpoints are ASGI middleware in front of the routes: see websocket.py
    app.asgi_app = websocket_endpoints(app.asgi_app, chat)  # type: ignore[method-assign,assignment]

    replies.register(app)
    api.register(app, chat, logins)
    pages.register(app)
    admin.register(app, chat, logins)
    return app
