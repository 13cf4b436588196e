"""Accepting and carrying connections: one task each, and nothing one of them raises
leaves it.

A client can reset its connection at any moment, even before the proxy has
looked at it (``getpeername`` then fails with ENOTCONN). Whatever goes wrong
with one connection is logged on one line and ends that connection only: the
listener, the other connections and the control API carry on.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import random
import socket
import struct
from collections.abc import Callable

import trio

from ..link import LinkReset, open_link
from ..link.stream import READ_SIZE
from .metrics import ProxyMetrics
from .model import CLIENT_RESET, ProxiedConnection, Proxy, format_address, split_address

#: Seconds a closing connection keeps delivering what is still crossing the link.
LINGER = 5.0
#: The listener was closed (the proxy stopped).
_CLOSED = {errno.EBADF, errno.ENOTSOCK, errno.EINVAL}
#: One connection failed before it was accepted (it was reset, or the network blinked):
#: nothing to report, accept the next one.
_TRANSIENT = {
    getattr(errno, name)
    for name in (
        "ECONNABORTED",
        "ECONNRESET",
        "EPROTO",
        "EPERM",
        "ETIMEDOUT",
        "ENETDOWN",
        "ENETUNREACH",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "ENONET",
        "ENOPROTOOPT",
        "EOPNOTSUPP",
    )
    if hasattr(errno, name)
}
#: After another accept error (out of file descriptors, memory): wait, then try again.
_RETRY_AFTER = 0.1


class Carrier:
    """What carrying connections takes from the proxy process, for all its proxies: a
    seed for each connection, the metrics, the log, and connection ids."""

    def __init__(
        self, rng: random.Random, metrics: ProxyMetrics, log: Callable[[str], None]
    ) -> None:
        self.rng = rng
        self.metrics = metrics
        self.log = log
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)


async def serve_connections(
    carrier: Carrier, proxy: Proxy, listener: trio.socket.SocketType, scope: trio.CancelScope
) -> None:
    """Accept on ``listener`` and carry each connection, until ``scope`` is cancelled
    (which ends every connection too) or the listener is closed."""
    with scope:
        async with trio.open_nursery() as nursery:
            complained: set[int] = set()
            while True:
                try:
                    sock, address = await listener.accept()
                except trio.ClosedResourceError:
                    return
                except OSError as exc:
                    if exc.errno in _CLOSED:
                        return
                    if exc.errno in _TRANSIENT:
                        continue
                    if (code := exc.errno or 0) not in complained:  # once, not per retry
                        complained.add(code)
                        carrier.log(
                            f"proxy {proxy.name}: cannot accept on {proxy.listen} "
                            f"({describe_error(exc)}); retrying"
                        )
                    await trio.sleep(_RETRY_AFTER)
                    continue
                nursery.start_soon(carry, carrier, proxy, sock, address)


async def carry(
    carrier: Carrier, proxy: Proxy, sock: trio.socket.SocketType, address: object
) -> None:
    """Carry one accepted connection to its end; log, never raise, what goes wrong."""
    conn_id = carrier.next_id()
    peer = format_address(address) if isinstance(address, tuple | str) else "?"
    carrier.metrics.accepted[proxy.name] += 1
    client = trio.SocketStream(sock)
    try:
        await _carry(carrier, proxy, conn_id, peer, client)
    except Exception as exc:  # one connection's failure is not the proxy's
        carrier.log(f"#{conn_id} {peer}: dropped: {describe_error(exc)}")
    finally:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(client)


async def _carry(
    carrier: Carrier, proxy: Proxy, conn_id: int, peer: str, client: trio.SocketStream
) -> None:
    target = proxy.upstream
    try:
        host, port = split_address(target)
        upstream = await trio.open_tcp_stream(host, port)
    except OSError as exc:
        # as Toxiproxy: the client's connection was accepted, and is closed (FIN)
        carrier.metrics.unreachable[proxy.name] += 1
        carrier.log(
            f"#{conn_id} {peer} -> {target}: cannot reach the upstream "
            f"({describe_error(exc)}); closed the client's connection"
        )
        return
    rng = random.Random(carrier.rng.getrandbits(64))
    conn: ProxiedConnection | None = None
    try:
        async with open_link(upstream, rng, linger=LINGER, precise=True) as link:
            conn = ProxiedConnection(
                conn_id, proxy.name, peer, trio.current_time(), link, client, rng=rng
            )
            for toxic in proxy.toxics.values():
                conn.apply(toxic)
            proxy.connections[conn_id] = conn
            carrier.metrics.opened(proxy, conn)
            carrier.metrics.watch(conn)
            carrier.log(f"#{conn_id} open   {peer} -> {target} ({proxy.name})")
            try:
                with conn.scope:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(_pump_up, conn, nursery.cancel_scope)
                        nursery.start_soon(_pump_down, conn, nursery.cancel_scope)
            finally:
                proxy.connections.pop(conn_id, None)
                carrier.log(f"#{conn_id} closed {_summary(conn)}")
                with trio.CancelScope(shield=True):
                    await trio.aclose_forcefully(client)
    finally:
        if conn is not None:  # its link has drained: its bytes are final
            carrier.metrics.ended(conn)


async def _pump_up(conn: ProxiedConnection, scope: trio.CancelScope) -> None:
    """Client -> upstream through the link. The client's close reaches the upstream as
    a FIN (half-close); its reset ends the connection, and the upstream gets a FIN after
    what is still crossing the link, as Toxiproxy does."""
    client, link = conn.client_stream, conn.link
    try:
        while data := await client.receive_some(READ_SIZE):
            conn.received_up += len(data)
            await link.send_all(data)
        await link.send_eof()
    except trio.BrokenResourceError as exc:
        if not isinstance(exc, LinkReset):
            conn.ending = conn.ending or CLIENT_RESET
        scope.cancel()
    except trio.ClosedResourceError:
        scope.cancel()


async def _pump_down(conn: ProxiedConnection, scope: trio.CancelScope) -> None:
    """Upstream -> client through the link; a reset on the link resets the client."""
    client, link = conn.client_stream, conn.link
    try:
        while data := await link.receive_some(READ_SIZE):
            await client.send_all(data)
            conn.sent_down += len(data)
        await client.send_eof()
    except LinkReset:
        abort(client)
        scope.cancel()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        scope.cancel()


def abort(stream: trio.SocketStream) -> None:
    """Close with RST, as a reset connection does."""
    with contextlib.suppress(OSError):
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


def describe_error(exc: BaseException) -> str:
    """One line for an error: the operating system's words for the first OS error in it
    (through exception groups and causes), else its type and message."""
    seen: list[BaseException] = [exc]
    while seen:
        e = seen.pop(0)
        if isinstance(e, OSError) and e.strerror:
            # trio puts the address in strerror ("Error connecting to ...: Connection
            # refused"); the caller names the address already
            code = e.errno
            known = code is not None and code in errno.errorcode
            words = os.strerror(code) if known and code is not None else e.strerror
            return words[0].lower() + words[1:]
        if isinstance(e, BaseExceptionGroup):
            seen += e.exceptions
        if e.__cause__ is not None:
            seen.append(e.__cause__)
    text = " ".join(str(exc).split())  # one line, whatever the message holds
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _summary(conn: ProxiedConnection) -> str:
    s = conn.statistics()
    seconds = trio.current_time() - conn.opened
    stalls, outages = s.up.stalls + s.down.stalls, max(s.up.outages, s.down.outages)
    text = (
        f"after {seconds:.1f} s: up {s.up.bytes:,} B, down {s.down.bytes:,} B, "
        f"{stalls} stall{'' if stalls == 1 else 's'}, {outages} outage{'' if outages == 1 else 's'}"
    )
    if conn.ending:
        return f"{text}, {conn.ending}"
    return text + (", reset" if s.reset else "")
