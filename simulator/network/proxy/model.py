"""What a proxy process holds: proxies, their connections, and the errors its API answers."""

from __future__ import annotations

import contextlib
import random
import socket
from dataclasses import dataclass, field

import trio

from ..link import Link, LinkStatistics
from ..link.toxiproxy import ToxicDef, build

#: How a connection the client reset ended (its close line, and the resets metric).
CLIENT_RESET = "reset by the client"


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


def format_address(address: tuple[object, ...] | str) -> str:
    """A socket address as ``host:port``, an IPv6 host in brackets (as Go writes it)."""
    if isinstance(address, str):  # an AF_UNIX peer: not expected, but never an error
        return address or "?"
    host, port = str(address[0]), address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def resolve(address: str) -> tuple[str, int]:
    """``host:port`` -> ``(ip, port)``: the address a listener binds. IPv4 first,
    as Go's resolver does, so that ``localhost:8001`` means what it means to Toxiproxy."""
    host, port = split_address(address)
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    *_, sockaddr = min(infos, key=lambda info: info[0] != socket.AF_INET)
    return str(sockaddr[0]), port


@dataclass(eq=False)
class ProxiedConnection:
    """One client connection through a proxy, while it is carried."""

    id: int
    proxy: str
    client: str
    opened: float
    link: Link
    client_stream: trio.SocketStream
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    applied: set[str] = field(default_factory=set)  # toxics this connection drew
    shared: dict[str, dict[str, object]] = field(default_factory=dict)  # see toxiproxy.build
    rng: random.Random = field(default_factory=random.Random)
    received_up: int = 0  # bytes read from the client
    sent_down: int = 0  # bytes written to the client
    ending: str | None = None  # how it ended, when the link's statistics cannot say

    def statistics(self) -> LinkStatistics:
        return self.link.statistics()

    def apply(self, toxic: ToxicDef) -> None:
        """Put a toxic on this connection, if its toxicity draw says so."""
        if toxic.toxicity >= 1 or self.rng.random() < toxic.toxicity:
            self.link.add(toxic.direction, toxic.name, build(toxic, self.shared))
            self.applied.add(toxic.name)

    def close_now(self) -> None:
        """Close the client's socket at once (a FIN), as Toxiproxy's stop does, and stop
        carrying; the upstream's is closed as the task unwinds, a moment later.
        Synchronous, so that the API call that closes answers after the close."""
        self.ending = self.ending or "closed by the proxy"
        self.scope.cancel()
        with contextlib.suppress(OSError):
            self.client_stream.socket.close()


@dataclass(eq=False)
class Proxy:
    """A listen address, an upstream and the toxics its connections get."""

    name: str
    listen: str
    upstream: str
    enabled: bool = False
    toxics: dict[str, ToxicDef] = field(default_factory=dict)
    connections: dict[int, ProxiedConnection] = field(default_factory=dict)
    listener: trio.socket.SocketType | None = None  # while enabled
    scope: trio.CancelScope | None = None  # accepting and carrying, while enabled
