"""TCP proxies that put an emulated link on every connection they carry.

Each accepted connection gets a fresh :class:`~simulator.link.Link` around
its upstream socket, built from the proxy's toxics with its own seeded
generator. Toxics added, changed or removed later reach live connections too,
as in Toxiproxy.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import trio

from ..link import Link, LinkReset, LinkStatistics, open_link
from ..link.outage import Schedule
from ..link.stream import READ_SIZE
from ..link.toxiproxy import ToxicDef, build

#: Seconds a closing connection keeps delivering what is still crossing the link.
LINGER = 5.0


class ProxyError(Exception):
    """A control request that cannot be done; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def split_address(address: str) -> tuple[str, int]:
    """``"127.0.0.1:8000"`` -> ``("127.0.0.1", 8000)``; raises ValueError."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected host:port, got {address!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass
class Connection:
    """One client connection through a proxy."""

    id: int
    proxy: str
    client: str
    opened: float
    link: Link
    scope: trio.CancelScope
    applied: set[str] = field(default_factory=set)  # toxics this connection drew
    shared: dict[str, Schedule] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def statistics(self) -> LinkStatistics:
        return self.link.statistics()


@dataclass
class Proxy:
    """A listen address, an upstream and the toxics its connections get."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True
    toxics: dict[str, ToxicDef] = field(default_factory=dict)
    connections: dict[int, Connection] = field(default_factory=dict)
    scope: trio.CancelScope | None = None  # the accept loop, while enabled


class ProxyServer:
    """Every proxy of one ``ringlab proxy`` process."""

    def __init__(
        self,
        nursery: trio.Nursery,
        rng: random.Random,
        log: Callable[[str], None] = print,
    ) -> None:
        self.nursery = nursery
        self.rng = rng
        self.log = log
        self.proxies: dict[str, Proxy] = {}
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ proxies

    async def create(
        self,
        name: str,
        listen: str,
        upstream: str,
        enabled: bool = True,
        toxics: list[ToxicDef] | None = None,
    ) -> Proxy:
        if not name:
            raise ProxyError(400, "a proxy needs a name")
        if name in self.proxies:
            raise ProxyError(409, f"proxy {name} already exists")
        _checked(upstream, "upstream")
        proxy = Proxy(name, _checked(listen, "listen"), upstream, enabled=False)
        for toxic in toxics or []:
            _validate(toxic)
            proxy.toxics[toxic.name] = toxic
        if enabled:
            await self._start(proxy)
        self.proxies[name] = proxy
        return proxy

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
        proxy = self.get(name)
        restart = proxy.enabled and (listen not in (None, proxy.listen) or enabled is False)
        if restart:
            self._stop(proxy)
        if listen is not None:
            proxy.listen = _checked(listen, "listen")
        if upstream is not None:
            proxy.upstream = _checked(upstream, "upstream")
        if (enabled or (enabled is None and restart)) and not proxy.enabled:
            await self._start(proxy)
        return proxy

    def delete(self, name: str) -> None:
        self._stop(self.get(name))
        del self.proxies[name]

    async def reset(self) -> None:
        """Toxiproxy's ``/reset``: every proxy enabled, every toxic removed."""
        for proxy in self.proxies.values():
            for toxic_name in list(proxy.toxics):
                self.remove_toxic(proxy.name, toxic_name)
            if not proxy.enabled:
                await self._start(proxy)

    async def _start(self, proxy: Proxy) -> None:
        host, port = split_address(proxy.listen)
        try:
            listeners = await trio.open_tcp_listeners(port, host=host)
        except OSError as exc:
            raise ProxyError(409, f"cannot listen on {proxy.listen}: {exc.strerror}") from None
        bound = listeners[0].socket.getsockname()
        proxy.listen = f"{bound[0]}:{bound[1]}"
        proxy.scope = trio.CancelScope()
        proxy.enabled = True

        async def accept_loop(scope: trio.CancelScope = proxy.scope) -> None:
            with scope:
                await trio.serve_listeners(partial(self._carry, proxy), listeners)

        self.nursery.start_soon(accept_loop)

    def _stop(self, proxy: Proxy) -> None:
        """Stop listening and drop every connection (Toxiproxy's disable)."""
        if proxy.scope is not None:
            proxy.scope.cancel()
            proxy.scope = None
        for conn in list(proxy.connections.values()):
            conn.scope.cancel()
        proxy.enabled = False

    # ------------------------------------------------------------ toxics

    def add_toxic(self, name: str, toxic: ToxicDef) -> ToxicDef:
        proxy = self.get(name)
        if toxic.name in proxy.toxics:
            raise ProxyError(409, f"toxic {toxic.name} already exists")
        _validate(toxic)
        proxy.toxics[toxic.name] = toxic
        for conn in proxy.connections.values():
            self._apply(conn, toxic)
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
        if not isinstance(toxicity, int | float) or not 0 <= toxicity <= 1:
            raise ProxyError(400, "toxicity: expected a number from 0 to 1")
        toxic = ToxicDef(old.type, old.name, old.stream, float(toxicity), attributes)
        _validate(toxic)
        proxy = self.get(name)
        proxy.toxics[toxic_name] = toxic
        for conn in proxy.connections.values():
            conn.link.remove(toxic.direction, toxic_name)
            conn.applied.discard(toxic_name)
            self._apply(conn, toxic)
        return toxic

    def remove_toxic(self, name: str, toxic_name: str) -> None:
        toxic = self.get_toxic(name, toxic_name)
        proxy = self.get(name)
        del proxy.toxics[toxic_name]
        for conn in proxy.connections.values():
            conn.link.remove(toxic.direction, toxic_name)
            conn.applied.discard(toxic_name)

    def _apply(self, conn: Connection, toxic: ToxicDef) -> None:
        """Put a toxic on one connection, if its toxicity draw says so."""
        if toxic.toxicity >= 1 or conn.rng.random() < toxic.toxicity:
            conn.link.add(toxic.direction, toxic.name, build(toxic, conn.shared))
            conn.applied.add(toxic.name)

    # ------------------------------------------------------------ cuts

    def connection(self, conn_id: int) -> Connection:
        for proxy in self.proxies.values():
            if conn_id in proxy.connections:
                return proxy.connections[conn_id]
        raise ProxyError(404, f"connection {conn_id} not found")

    def connections(self) -> list[Connection]:
        return [c for p in self.proxies.values() for c in p.connections.values()]

    # ------------------------------------------------------------ carrying bytes

    async def _carry(self, proxy: Proxy, client: trio.SocketStream) -> None:
        conn_id = next(self._ids)
        peer = "{}:{}".format(*client.socket.getpeername()[:2])
        host, port = split_address(proxy.upstream)
        try:
            upstream = await trio.open_tcp_stream(host, port)
        except OSError as exc:
            self.log(f"#{conn_id} {peer} -> {proxy.upstream}: upstream refused ({exc.strerror})")
            _abort(client)
            return
        rng = random.Random(self.rng.getrandbits(64))
        async with open_link(upstream, rng, linger=LINGER, precise=True) as link:
            conn = Connection(
                conn_id, proxy.name, peer, trio.current_time(), link, trio.CancelScope(), rng=rng
            )
            for toxic in proxy.toxics.values():
                self._apply(conn, toxic)
            proxy.connections[conn_id] = conn
            self.log(f"#{conn_id} open   {peer} -> {proxy.upstream} ({proxy.name})")
            try:
                with conn.scope:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(_pump_up, client, link, nursery.cancel_scope)
                        nursery.start_soon(_pump_down, link, client, nursery.cancel_scope)
            finally:
                proxy.connections.pop(conn_id, None)
                self.log(f"#{conn_id} closed {_summary(conn)}")
                with trio.CancelScope(shield=True):
                    await trio.aclose_forcefully(client)


async def _pump_up(client: trio.SocketStream, link: Link, scope: trio.CancelScope) -> None:
    """Client -> upstream through the link; a client's reset resets the link's far side."""
    try:
        while data := await client.receive_some(READ_SIZE):
            await link.send_all(data)
        await link.send_eof()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        scope.cancel()


async def _pump_down(link: Link, client: trio.SocketStream, scope: trio.CancelScope) -> None:
    """Upstream -> client through the link; a reset on the link resets the client."""
    try:
        while data := await link.receive_some(READ_SIZE):
            await client.send_all(data)
        await client.send_eof()
    except LinkReset:
        _abort(client)
        scope.cancel()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        scope.cancel()


def _abort(stream: trio.SocketStream) -> None:
    """Close with RST, as a reset connection does."""
    with contextlib.suppress(OSError):
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


def _summary(conn: Connection) -> str:
    s = conn.statistics()
    seconds = trio.current_time() - conn.opened
    text = (
        f"after {seconds:.1f} s: up {s.up.bytes:,} B, down {s.down.bytes:,} B, "
        f"{s.up.stalls + s.down.stalls} stalls, {max(s.up.outages, s.down.outages)} outages"
    )
    return text + (", reset" if s.reset else "")


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
