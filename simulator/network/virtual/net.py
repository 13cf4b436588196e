"""An in-memory TCP network: listeners, connections and an HTTP client over them.

A connection is two bounded byte buffers: bytes move when the receiving task
runs, no time passes on the wire unless a link adds it, and a reader that stops
reading fills the buffer and makes the writer wait, as TCP's flow control does.
The server side carries a stand-in ``socket`` with the addresses Hypercorn asks
of a real one.
"""

from __future__ import annotations

import itertools
import math
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import trio

from ..slim_httpx import httpx


class _Socket:
    """What Hypercorn reads off a connection's socket: its family and the two addresses."""

    family = socket.AF_INET

    def __init__(self, local: tuple[str, int], peer: tuple[str, int]) -> None:
        self._local, self._peer = local, peer

    def getsockname(self) -> tuple[str, int]:
        return self._local

    def getpeername(self) -> tuple[str, int]:
        return self._peer

    def setsockopt(self, *option: Any) -> None:
        """Accepted and ignored: a link resetting a connection sets SO_LINGER for an RST;
        closing a virtual connection ends it at once anyway."""


#: Bytes one direction of a virtual connection holds before the sender waits: a TCP
#: connection's send and receive buffers together, so a reader that stops reading pushes
#: back on the writer as it would over a socket (an unbounded buffer never would).
BUFFER = 256 * 1024


class _Buffer:
    """One direction of a connection: bytes in flight, and who waits on them."""

    def __init__(self, capacity: int) -> None:
        self.data = bytearray()
        self.capacity = capacity
        self.eof = False  # the writer is done (send_eof or close): reads end with b""
        self.broken = False  # the reader is gone: writes fail
        self.waiters = trio.lowlevel.ParkingLot()

    def changed(self) -> None:
        self.waiters.unpark_all()


class _End(trio.abc.HalfCloseableStream):
    """One end of a bounded in-memory connection."""

    def __init__(self, out: _Buffer, into: _Buffer) -> None:
        self._out, self._in = out, into
        self._closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        view = memoryview(data)
        while view:
            if self._closed or self._out.eof:
                raise trio.ClosedResourceError("this end is closed for sending")
            if self._out.broken:
                raise trio.BrokenResourceError("the other end is gone")
            room = self._out.capacity - len(self._out.data)
            if room <= 0:
                await self._out.waiters.park()
                continue
            self._out.data += view[:room]
            view = view[room:]
            self._out.changed()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()
        while len(self._out.data) >= self._out.capacity and not self._out.broken:
            await self._out.waiters.park()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        # as a socket does: a cancel point first, then one schedule point, either waiting
        # for data or (data already there) yielding once; not a checkpoint and a wait
        await trio.lowlevel.checkpoint_if_cancelled()
        waited = False
        while True:
            if self._closed:
                raise trio.ClosedResourceError("this end is closed")
            if self._in.data or self._in.eof:
                if not waited:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                if self._closed:
                    raise trio.ClosedResourceError("this end is closed")
                if not self._in.data:
                    return b""
                size = max_bytes or len(self._in.data)
                chunk = bytes(self._in.data[:size])
                del self._in.data[:size]
                self._in.changed()  # room for the writer
                return chunk
            await self._in.waiters.park()
            waited = True

    def bytes_waiting(self) -> int:
        return len(self._in.data)

    async def send_eof(self) -> None:
        await trio.lowlevel.checkpoint()
        self._out.eof = True
        self._out.changed()

    async def aclose(self) -> None:
        self._closed = True
        self._out.eof = True
        self._in.broken = True
        self._out.changed()
        self._in.changed()
        await trio.lowlevel.checkpoint()


def _connection(capacity: int = BUFFER) -> tuple[_End, _End]:
    up, down = _Buffer(capacity), _Buffer(capacity)
    return _End(up, down), _End(down, up)


class VirtualStream(trio.abc.HalfCloseableStream):
    """One end of a virtual connection."""

    def __init__(self, inner: _End, sock: _Socket) -> None:
        self._inner = inner
        self.socket = sock

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._inner.receive_some(max_bytes)

    def bytes_waiting(self) -> int:
        """Bytes arrived and not read yet (a socket's ``FIONREAD``)."""
        return self._inner.bytes_waiting()

    async def send_eof(self) -> None:
        await self._inner.send_eof()

    async def aclose(self) -> None:
        await self._inner.aclose()


class VirtualListener(trio.abc.Listener[VirtualStream]):
    """Accepts the connections made to one (host, port)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self._send, self._receive = trio.open_memory_channel[VirtualStream](math.inf)

    async def accept(self) -> VirtualStream:
        return await self._receive.receive()

    async def aclose(self) -> None:
        self._send.close()
        await self._receive.aclose()


class VirtualNetwork:
    """Addresses -> listeners; ``connect`` opens a connection as ``open_tcp_stream`` does."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, int], VirtualListener] = {}
        self._ports = itertools.count(40_000)

    def listen(self, host: str, port: int) -> VirtualListener:
        address = (host, port or next(self._ports))
        listener = VirtualListener(address)
        self._listeners[address] = listener
        return listener

    def unlisten(self, listener: VirtualListener) -> None:
        self._listeners.pop(listener.address, None)

    async def connect(self, host: str, port: int, source: str = "10.0.0.2") -> VirtualStream:
        """A new connection from address ``source``, or ``OSError`` (connection refused)
        when nobody listens."""
        await trio.lowlevel.checkpoint()
        listener = self._listeners.get((host, port))
        if listener is None:
            raise ConnectionRefusedError(f"virtual network: nothing listens on {host}:{port}")
        client, server = _connection()
        local = (source, next(self._ports))
        try:
            listener._send.send_nowait(VirtualStream(server, _Socket((host, port), local)))
        except trio.ClosedResourceError:
            raise ConnectionRefusedError(f"virtual network: {host}:{port} closed") from None
        return VirtualStream(client, _Socket(local, (host, port)))

    def http(self, base_url: str, timeout: float = 60) -> httpx.AsyncClient:
        """An HTTP client whose connections go over this network."""
        transport = httpx.AsyncHTTPTransport(verify=False)
        # httpx takes no network backend; its connection pool does (httpcore's public API)
        transport._pool = httpcore.AsyncConnectionPool(network_backend=_Backend(self))
        # plain HTTP only: no certificate store to load (loading it cost 20 ms a client)
        return httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, verify=False
        )


class _HttpStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: VirtualStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return bytes(await self._stream.receive_some(max_bytes))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.send_all(buffer)

    async def aclose(self) -> None:
        await self._stream.aclose()

    def get_extra_info(self, info: str) -> Any:
        return None


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self, net: VirtualNetwork) -> None:
        self._net = net

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _HttpStream(await self._net.connect(host, port))

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)
