"""The links between the pages and the server that tests break on purpose: `ringlab proxy`
(a real TCP hop: cuts, outages) and Playwright's WebSocket routes (frames held per
connection)."""

import itertools
import re

import httpx
from playwright.sync_api import Page, WebSocketRoute

from simulator.network.link import parse
from simulator.network.proxy import open_proxy
from tests.browser.harness import in_trio_thread


def proxied(server, link):
    upstream = server.url.removeprefix("http://")
    return in_trio_thread(lambda: open_proxy(upstream, parse(link)))


class Via:
    """The server as seen through a proxy: pages loaded from the proxy's address."""

    def __init__(self, proxy):
        self.url = f"http://{proxy.proxy.listen}"


def cut(proxy, duration, reset_after=None):
    """Take the proxy's open connections down for `duration` ms: what is sent meanwhile
    waits in the link (and is lost if the connection resets `reset_after` ms in)."""
    body = {"duration": duration} | ({"reset_after": reset_after} if reset_after else {})
    reply = httpx.post(f"{proxy.control_url}/ringlab/proxies/ringlab/cut", json=body)
    assert reply.json()["cut"] >= 1


def unplug(proxy):
    """Drop every connection through the proxy and refuse new ones (Toxiproxy's disable)."""
    httpx.post(f"{proxy.control_url}/proxies/ringlab", json={"enabled": False}).raise_for_status()


def plug(proxy):
    httpx.post(f"{proxy.control_url}/proxies/ringlab", json={"enabled": True}).raise_for_status()


class Cable:
    """A page's WebSockets through Playwright (page.route_web_socket, set before the page
    connects). `deafen()` drops what the server sends on the connections open now: the
    server takes the page's frames, but its answers never arrive. Later connections (the
    next page, a reconnect) are not affected."""

    def __init__(self, page: Page) -> None:
        self.deaf: set[int] = set()
        self.open: dict[int, WebSocketRoute] = {}
        self.count = itertools.count()  # not id(): a closed route's id may come back
        page.route_web_socket(re.compile(r"/ws/(visitor|operator)$"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        key = next(self.count)
        self.open[key] = ws
        server = ws.connect_to_server()
        server.on_message(lambda message: None if key in self.deaf else ws.send(message))
        ws.on_close(lambda *_: self.open.pop(key, None))

    def deafen(self) -> None:
        assert self.open, "the page has no WebSocket open"
        self.deaf.update(self.open)
