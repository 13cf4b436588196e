"""The proxy's control API: Toxiproxy's HTTP API, plus ringlab's own endpoints.

Toxiproxy's endpoints and JSON shapes (``/proxies``, ``/populate``,
``/proxies/{name}``, ``/proxies/{name}/toxics[/{toxic}]``, ``/reset``,
``/version``, ``/metrics``) so its client libraries drive it unchanged; ringlab adds
``/ringlab/connections`` (live connections with link statistics) and cuts
(``/ringlab/connections/{id}/cut``, ``/ringlab/proxies/{name}/cut``).
"""

from __future__ import annotations

import dataclasses
import json
from importlib.metadata import version
from typing import Any

import msgspec
from quart import Response, request
from quart_trio import QuartTrio

from ..link.toxiproxy import ToxicDef, describe
from .metrics import CONTENT_TYPE
from .proxies import ProxiedConnection, Proxy, ProxyError, ProxyServer, ProxySetting


class ProxyBody(msgspec.Struct):
    name: str = ""
    upstream: str = ""
    listen: str = "127.0.0.1:0"
    enabled: bool | None = None  # Toxiproxy's populate takes null as true

    def setting(self) -> ProxySetting:
        return ProxySetting(self.name, self.upstream, self.listen, self.enabled is not False)


class ProxyUpdate(msgspec.Struct):
    enabled: bool | None = None
    listen: str | None = None
    upstream: str | None = None


class CutBody(msgspec.Struct, forbid_unknown_fields=True):
    duration: float  # milliseconds
    reset_after: float | None = None  # milliseconds


def proxy_json(proxy: Proxy) -> dict[str, Any]:
    return {
        "name": proxy.name,
        "listen": proxy.listen,
        "upstream": proxy.upstream,
        "enabled": proxy.enabled,
        "toxics": [msgspec.to_builtins(t) for t in proxy.toxics.values()],
    }


def connection_json(conn: ProxiedConnection) -> dict[str, Any]:
    stats = conn.statistics()
    return {
        "id": conn.id,
        "proxy": conn.proxy,
        "client": conn.client,
        "toxics": [
            msgspec.to_builtins(describe(d, name, toxic))
            for d, pipe in conn.link.pipes.items()
            for name, toxic in pipe.toxics.items()
        ],
        "statistics": {
            "up": dataclasses.asdict(stats.up),
            "down": dataclasses.asdict(stats.down),
            "reset": stats.reset,
        },
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


async def _body(kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(await request.get_data(), type=kind)
    except msgspec.MsgspecError as exc:
        raise ProxyError(400, str(exc).replace("`$.", "`")) from None


def create_control_app(server: ProxyServer) -> QuartTrio:
    """The control API over one :class:`ProxyServer`."""
    app = QuartTrio(__name__)

    @app.errorhandler(ProxyError)
    async def proxy_error(exc: ProxyError) -> Response:
        return _json({"error": str(exc), "status": exc.status}, exc.status)

    @app.before_request
    async def stop_browsers() -> Response | None:
        # As Toxiproxy: a web page must not drive the proxy (a cross-site POST from any
        # page could otherwise point a proxy anywhere); scripts and clients are not browsers.
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            return Response("User agent not allowed\n", status=403, content_type="text/plain")
        return None

    @app.get("/version")
    async def get_version() -> Response:
        # Toxiproxy 2.6+ answers JSON; its clients return the body as it is
        body = json.dumps({"version": version("ringlab")}) + "\n"
        return Response(body, content_type="application/json;charset=utf-8")

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(server.metrics.render(server.proxies), content_type=CONTENT_TYPE)

    @app.get("/proxies")
    async def list_proxies() -> Response:
        return _json({name: proxy_json(p) for name, p in server.proxies.items()})

    @app.post("/proxies")
    async def create_proxy() -> Response:
        s = (await _body(ProxyBody)).setting()
        proxy = await server.create(s.name, s.listen, s.upstream, s.enabled)
        return _json(proxy_json(proxy), 201)

    @app.post("/populate")
    async def populate() -> Response:
        bodies = await _body(list[ProxyBody])
        done, error = await server.populate([body.setting() for body in bodies])
        proxies = [proxy_json(p) for p in done]
        if error is not None:  # Toxiproxy answers the error with the proxies done before it
            reply = {"error": str(error), "status": error.status, "proxies": proxies}
            return _json(reply, error.status)
        return _json({"proxies": proxies}, 201)

    @app.get("/proxies/<name>")
    async def get_proxy(name: str) -> Response:
        return _json(proxy_json(server.get(name)))

    @app.route("/proxies/<name>", methods=["POST", "PATCH"])
    async def update_proxy(name: str) -> Response:
        body = await _body(ProxyUpdate)
        proxy = await server.update(
            name, enabled=body.enabled, listen=body.listen, upstream=body.upstream
        )
        return _json(proxy_json(proxy))

    @app.delete("/proxies/<name>")
    async def delete_proxy(name: str) -> Response:
        server.delete(name)  # closes the listener before it returns: then the answer
        return Response("", status=204)

    @app.get("/proxies/<name>/toxics")
    async def list_toxics(name: str) -> Response:
        return _json([msgspec.to_builtins(t) for t in server.get(name).toxics.values()])

    @app.post("/proxies/<name>/toxics")
    async def add_toxic(name: str) -> Response:
        toxic = server.add_toxic(name, await _body(ToxicDef))
        return _json(msgspec.to_builtins(toxic))

    @app.get("/proxies/<name>/toxics/<toxic>")
    async def get_toxic(name: str, toxic: str) -> Response:
        return _json(msgspec.to_builtins(server.get_toxic(name, toxic)))

    @app.route("/proxies/<name>/toxics/<toxic>", methods=["POST", "PATCH"])
    async def update_toxic(name: str, toxic: str) -> Response:
        changes = await _body(dict[str, Any])
        return _json(msgspec.to_builtins(server.update_toxic(name, toxic, changes)))

    @app.delete("/proxies/<name>/toxics/<toxic>")
    async def delete_toxic(name: str, toxic: str) -> Response:
        server.remove_toxic(name, toxic)
        return Response("", status=204)

    @app.post("/reset")
    async def reset() -> Response:
        await server.reset()
        return Response("", status=204)

    # ------------------------------------------------------------ ringlab's own

    @app.get("/ringlab/connections")
    async def connections() -> Response:
        return _json([connection_json(c) for c in server.connections()])

    @app.post("/ringlab/connections/<int:conn_id>/cut")
    async def cut_connection(conn_id: int) -> Response:
        body = await _body(CutBody)
        _cut(server.connection(conn_id), body)
        return _json({"cut": 1})

    @app.post("/ringlab/proxies/<name>/cut")
    async def cut_proxy(name: str) -> Response:
        body = await _body(CutBody)
        conns = list(server.get(name).connections.values())
        for conn in conns:
            _cut(conn, body)
        return _json({"cut": len(conns)})

    return app


def _cut(conn: ProxiedConnection, body: CutBody) -> None:
    reset_after = None if body.reset_after is None else body.reset_after / 1000
    conn.link.cut(body.duration / 1000, reset_after)
