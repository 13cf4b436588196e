"""The pages people click through: a landing page, Operator Console, Control Panel, demo
website.

Plain HTML served from templates, with JavaScript modules and CSS from
``server/static``: no build step, nothing from a CDN, no inline script (so a
strict Content-Security-Policy holds).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from quart import Response, render_template, request

from .. import demo

if TYPE_CHECKING:
    from quart_trio import QuartTrio

#: The visitor id the deliberately incorrect snippet carries, as if copied from a page
#: that had rendered it for one visitor.
PINNED_VISITOR = "v_3f9c2e7a41d8b605"

#: The pages, as the landing page and ``ringlab serve`` name them: (path, name, what it is).
PAGES = [
    ("/console", "Operator Console", "answer calls and chat (log in as an operator)"),
    ("/demo", "Demo shop", "a website with the chat button: call from here"),
    ("/demo/pinned", "Pinned demo", "incorrect button code: visitors merge into one chat"),
    ("/control", "Control Panel", "operators, button codes, settings, transcripts (admin)"),
]
#: What programs use, for the landing page: (path, what it is).
API = [
    ("/ws/operator", "operator WebSocket (docs/protocol.md)"),
    ("/ws/visitor", "visitor WebSocket"),
    ("/api/login", "operator login: a token for the WebSocket and the API"),
    ("/api/logout", "revoke a token"),
    ("/api/settings", "the account's settings"),
    ("/healthz", "health, as JSON"),
    ("/metrics", "Prometheus metrics"),
]

#: Sent with every page: scripts and styles from this server only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def button_snippet(base_url: str, account: str, button: str, visitor_id: str | None = None) -> str:
    """The code to paste into a website so that it shows this chat button.

    ``visitor_id`` produces the *incorrect* code: a visitor id baked into the
    snippet, so every page that uses it presents the same visitor.
    """
    params = {"account": account, "button": button}
    if visitor_id is not None:
        params["visitor"] = visitor_id
    src = f"{base_url.rstrip('/')}/static/js/widget.js?{urlencode(params)}"
    return f'<!-- ringlab chat button -->\n<script type="module" src="{src}"></script>'


def register(app: QuartTrio) -> None:
    """Add the page routes and the security headers to ``app``."""

    def base_url() -> str:
        return request.host_url.rstrip("/")

    @app.after_request
    async def security_headers(response: Response) -> Response:
        if response.content_type.startswith("text/html"):
            response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.get("/")
    async def index() -> Response | str:
        # a landing page for people; a program that asks for JSON gets the endpoint list
        # this route served before the page existed
        accept = request.accept_mimetypes.best_match(["text/html", "application/json"])
        if accept == "application/json":
            return Response(json.dumps(_endpoints()), content_type="application/json")
        return await render_template("index.html", pages=PAGES, api=API)

    @app.get("/console")
    async def console() -> str:
        return await render_template("console.html")

    @app.get("/control")
    async def control() -> str:
        return await render_template("control.html")

    @app.get("/demo")
    async def demo_page() -> str:
        snippet = button_snippet(base_url(), demo.ACCOUNT, demo.BUTTON)
        return await render_template("demo.html", snippet=snippet, pinned=None)

    @app.get("/demo/pinned")
    async def demo_pinned() -> str:
        snippet = button_snippet(base_url(), demo.ACCOUNT, demo.BUTTON, PINNED_VISITOR)
        return await render_template("demo.html", snippet=snippet, pinned=PINNED_VISITOR)


def _endpoints() -> dict[str, object]:
    """``GET /`` for programs (``Accept: application/json``): every endpoint."""
    return {
        "service": "ringlab reference chat server",
        "endpoints": [path for path, _ in API] + [path for path, _, _ in PAGES],
        "docs": "docs/protocol.md",
    }
