"""TCP proxies that put an emulated link on every connection they carry.

Each accepted connection gets a fresh :class:`~simulator.network.link.Link` around
its upstream socket, built from the proxy's toxics with its own seeded
generator. Toxics added, changed or removed later reach live connections too,
as in Toxiproxy. Creating, replacing, disabling and deleting proxies follow
Toxiproxy's ``proxy.go`` and ``proxy_collection.go``; carrying a connection is in
:mod:`.carry`.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from dataclasses import dataclass

import trio

from ..link.toxiproxy import ToxicDef, build
from .carry import Carrier, describe_error, serve_connections
from .metrics import ProxyMetrics
from .model import ProxiedConnection, Proxy, ProxyError, format_address, resolve, split_address

__all__ = [
    "ProxiedConnection",
    "Proxy",
    "ProxyError",
    "ProxyServer",
    "ProxySetting",
    "format_address",
    "split_address",
]


@dataclass(frozen=True)
class ProxySetting:
    """A proxy as ``POST /populate`` lists it."""

    name: str
    upstream: str
    listen: str = "127.0.0.1:0"
    enabled: bool = True


class ProxyServer:
    """Every proxy of one ``ringlab proxy`` process."""

    def __init__(
        self,
        nursery: trio.Nursery,
        rng: random.Random,
        log: Callable[[str], None] = print,
    ) -> None:
        self.nursery = nursery
        self.metrics = ProxyMetrics()
        self.carrier = Carrier(rng, self.metrics, log)
        self.proxies: dict[str, Proxy] = {}

    # ------------------------------------------------------------ proxies

    async def create(
        self,
        name: str,
        listen: str,
        upstream: str,
        enabled: bool = True,
        toxics: list[ToxicDef] | None = None,
    ) -> Proxy:
        """A new proxy (409 if the name is taken), listening if ``enabled``."""
        if not name:
            raise ProxyError(400, "missing required field: name")
        if not upstream:
            raise ProxyError(400, "missing required field: upstream")
        if name in self.proxies:
            raise ProxyError(409, f"proxy {name} already exists")
        proxy = await self._new(name, listen, upstream, enabled, toxics or [])
        self.proxies[name] = proxy
        return proxy

    async def _new(
        self, name: str, listen: str, upstream: str, enabled: bool, toxics: list[ToxicDef]
    ) -> Proxy:
        proxy = Proxy(name, _checked(listen, "listen"), _checked(upstream, "upstream"))
        for toxic in toxics:
            _validate(toxic)
            proxy.toxics[toxic.name] = toxic
        if enabled:
            await self._start(proxy)
        return proxy

    async def populate(self, settings: list[ProxySetting]) -> tuple[list[Proxy], ProxyError | None]:
        """Toxiproxy's ``/populate``: create each proxy, or replace the one of that name
        if its listen address or upstream differ; an identical one is left alone, with
        its toxics, connections and enabled state. Stops at the first error and returns
        it with the proxies done so far, as Toxiproxy does."""
        for i, s in enumerate(settings, 1):  # all checked before any is created
            for value, what in ((s.name, "name"), (s.upstream, "upstream")):
                if not value:
                    raise ProxyError(400, f"missing required field: {what} at proxy {i}")
            _checked(s.listen, f"proxy {i}: listen")
            _checked(s.upstream, f"proxy {i}: upstream")
        done: list[Proxy] = []
        for s in settings:
            try:
                done.append(await self._add_or_replace(s))
            except ProxyError as exc:
                return done, exc
        return done, None

    async def _add_or_replace(self, s: ProxySetting) -> Proxy:
        existing = self.proxies.get(s.name)
        if existing is not None:
            if not await self._differs(existing, s.listen, s.upstream):
                return existing
            self._stop(existing)  # its listen address may be the new one's
        proxy = await self._new(s.name, s.listen, s.upstream, s.enabled, [])
        self.proxies[s.name] = proxy  # only once it listens: a failure leaves the old one
        return proxy

    async def _differs(self, proxy: Proxy, listen: str, upstream: str) -> bool:
        """Toxiproxy's ``Differs``: the listen address once resolved, or the upstream."""
        try:
            ip, port = await resolve(listen)
        except OSError as exc:
            message = f"listen: cannot resolve {listen}: {describe_error(exc)}"
            raise ProxyError(400, message) from None
        return proxy.listen != format_address((ip, port)) or proxy.upstream != upstream

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise ProxyError(404, f"proxy {name} not found") from None

    async def update(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        listen: str | None = None,
        upstream: str | None = None,
    ) -> Proxy:
        """Toxiproxy's ``Update``: a new listen address or upstream restarts the proxy
        (its connections are closed); ``enabled`` starts or stops it."""
        proxy = self.get(name)
        listen = proxy.listen if listen is None else _checked(listen, "listen")
        upstream = proxy.upstream if upstream is None else _checked(upstream, "upstream")
        enabled = proxy.enabled if enabled is None else enabled
        if await self._differs(proxy, listen, upstream):
            self._stop(proxy)
            proxy.listen, proxy.upstream = listen, upstream
        if enabled and not proxy.enabled:
            await self._start(proxy)
        elif not enabled:
            self._stop(proxy)
        return proxy

    def delete(self, name: str) -> None:
        """Stop the proxy (its listener is closed on return) and forget it."""
        self._stop(self.get(name))
        del self.proxies[name]

    async def reset(self) -> None:
        """Toxiproxy's ``/reset``: every proxy enabled, every toxic removed."""
        for proxy in list(self.proxies.values()):
            if not proxy.enabled:
                await self._start(proxy)
            for toxic_name in list(proxy.toxics):
                self.remove_toxic(proxy.name, toxic_name)

    async def _start(self, proxy: Proxy) -> None:
        try:
            ip, port = await resolve(proxy.listen)
            # one socket on one address, as Go's net.Listen: "localhost:0" bound on both
            # ::1 and 127.0.0.1 would get two ports, and the API can show only one
            (listener,) = await trio.open_tcp_listeners(port, host=ip)
        except OSError as exc:
            status = 400 if isinstance(exc, socket.gaierror) else 409
            message = f"cannot listen on {proxy.listen}: {describe_error(exc)}"
            raise ProxyError(status, message) from None
        proxy.listener = listener.socket
        proxy.listen = format_address(listener.socket.getsockname())
        proxy.scope = trio.CancelScope()
        proxy.enabled = True
        self.nursery.start_soon(
            serve_connections, self.carrier, proxy, listener.socket, proxy.scope
        )

    def _stop(self, proxy: Proxy) -> None:
        """Stop listening and close every connection, before returning (Toxiproxy's
        ``stop``): a connect after it is refused, not accepted and then reset."""
        if proxy.listener is not None:
            proxy.listener.close()
            proxy.listener = None
        if proxy.scope is not None:
            proxy.scope.cancel()
            proxy.scope = None
        for conn in proxy.connections.values():
            conn.close_now()
        proxy.connections.clear()
        proxy.enabled = False

    # ------------------------------------------------------------ toxics

    def add_toxic(self, name: str, toxic: ToxicDef) -> ToxicDef:
        proxy = self.get(name)
        if toxic.name in proxy.toxics:
            raise ProxyError(409, f"toxic {toxic.name} already exists")
        _validate(toxic)
        proxy.toxics[toxic.name] = toxic
        for conn in proxy.connections.values():
            conn.apply(toxic)
        return toxic

    def get_toxic(self, name: str, toxic_name: str) -> ToxicDef:
        try:
            return self.get(name).toxics[toxic_name]
        except KeyError:
            raise ProxyError(404, f"toxic {toxic_name} not found") from None

    def update_toxic(self, name: str, toxic_name: str, changes: dict[str, object]) -> ToxicDef:
        old = self.get_toxic(name, toxic_name)
        attributes = dict(old.attributes)
        new_attrs = changes.get("attributes", {})
        if not isinstance(new_attrs, dict):
            raise ProxyError(400, "attributes: expected an object")
        attributes.update(new_attrs)
        toxicity = changes.get("toxicity", old.toxicity)
        if (
            isinstance(toxicity, bool)
            or not isinstance(toxicity, int | float)
            or not 0 <= toxicity <= 1
        ):
            raise ProxyError(400, "toxicity: expected a number from 0 to 1")
        toxic = ToxicDef(old.type, old.name, old.stream, float(toxicity), attributes)
        _validate(toxic)
        proxy = self.get(name)
        proxy.toxics[toxic_name] = toxic
        for conn in proxy.connections.values():
            conn.link.remove(toxic.direction, toxic_name)
            conn.applied.discard(toxic_name)
            conn.apply(toxic)
        return toxic

    def remove_toxic(self, name: str, toxic_name: str) -> None:
        """Remove a toxic from the proxy and its connections. A connection that had a
        ``timeout`` toxic is closed, as Toxiproxy's cleanup of that toxic does: the data
        it dropped is gone, so the stream could not go on."""
        toxic = self.get_toxic(name, toxic_name)
        proxy = self.get(name)
        del proxy.toxics[toxic_name]
        for conn_id, conn in list(proxy.connections.items()):
            if toxic.type == "timeout" and toxic_name in conn.applied:
                conn.close_now()
                del proxy.connections[conn_id]
                continue
            conn.link.remove(toxic.direction, toxic_name)
            conn.applied.discard(toxic_name)

    # ------------------------------------------------------------ connections

    def connection(self, conn_id: int) -> ProxiedConnection:
        for proxy in self.proxies.values():
            if conn_id in proxy.connections:
                return proxy.connections[conn_id]
        raise ProxyError(404, f"connection {conn_id} not found")

    def connections(self) -> list[ProxiedConnection]:
        return [c for p in self.proxies.values() for c in p.connections.values()]


def _checked(address: str, what: str) -> str:
    try:
        split_address(address)
    except ValueError as exc:
        raise ProxyError(400, f"{what}: {exc}") from None
    return address


def _validate(toxic: ToxicDef) -> None:
    """Build the toxic once so a bad one is refused before any connection gets it."""
    try:
        build(toxic)
    except ValueError as exc:
        raise ProxyError(400, str(exc)) from None
