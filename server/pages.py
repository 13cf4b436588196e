"""The pages people click through: Operator Console, Control Panel, demo website.

Plain HTML served from templates, with JavaScript modules and CSS from
``server/static``: no build step, nothing from a CDN, no inline script (so a
strict Content-Security-Policy holds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from quart import Response, render_template, request

from . import demo

if TYPE_CHECKING:
    from quart_trio import QuartTrio

#: The visitor id the deliberately incorrect snippet carries, as if copied from a page
#: that had rendered it for one visitor.
PINNED_VISITOR = "v_3f9c2e7a41d8b605"

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
