"""A minimal WebSocket client for the benchmarks: text frames over a plain socket.

The server benchmarks measure the server, and on a 2-core machine the harness shares the
CPU with it. A full client stack (trio-websocket over wsproto) spends about as much CPU per
frame as the server does, so past ~4,000 messages/s the harness, not the server, was the
limit. This client does only what the benchmarks need:

- one handshake (no extensions: no compression is negotiated);
- a frame sent is written at once with a non-blocking ``send`` (no task, no checkpoint), and
  buffered and flushed by a task only when the kernel's buffer is full;
- reads take everything the socket holds and split it into frames in one pass;
- each read notes when its bytes reached the socket (the kernel's receive timestamp of the
  last packet it took, ``SO_TIMESTAMPNS``), so a benchmark can tell the server's latency
  from its own lateness in reading: on two cores a harness past ~15,000 messages/s reads
  what came a while ago.

Client frames must be masked (RFC 6455 5.3); the key here is four zero bytes, which leaves
the payload as it is. The RFC asks for an unpredictable key so that a browser cannot be used
to poison a proxy's cache; nothing sits between these peers and the server but loopback.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import trio

MASK = b"\x00\x00\x00\x00"
READ_SIZE = 1 << 18
#: Linux's value (Python names only some socket options), and its ancillary data: a
#: struct timespec
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@ll")


class Closed(Exception):
    """The connection ended (a close frame, EOF or an error)."""


def frame(text: str) -> bytes:
    """One masked text frame (FIN set)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, 0x80 | n))
    elif n < 65536:
        header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + MASK + payload


def _control(opcode: int, payload: bytes) -> bytes:
    return bytes((0x80 | opcode, 0x80 | len(payload))) + MASK + payload


class RawWebSocket:
    """A connected WebSocket: :meth:`send` text, and :meth:`run` to read it."""

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buf = bytearray(leftover)
        self.pending = bytearray()  # what the kernel would not take yet
        self.flushing = False
        self.nursery: trio.Nursery | None = None
        self.closed = False
        #: ``trio.current_time()`` when the bytes of the last read reached the socket: when
        #: its last packet did (TCP reports that one), so never earlier than any frame the
        #: read completed
        self.arrived = 0.0

    @classmethod
    async def connect(cls, url: str) -> RawWebSocket:
        """Open ``ws://host:port/path`` and complete the handshake."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
        try:
            sock.connect((host, port))
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                sock.close()
                raise OSError(err, os.strerror(err)) from None
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        ws = cls(sock, b"")
        ws._write(request.encode())
        head = bytearray()
        while b"\r\n\r\n" not in head:
            head += await ws._recv()
        status, rest = bytes(head).split(b"\r\n\r\n", 1)
        if not status.startswith(b"HTTP/1.1 101"):
            sock.close()
            raise Closed(status.split(b"\r\n", 1)[0].decode(errors="replace"))
        ws.buf += rest
        return ws

    async def _recv(self) -> bytes:
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(READ_SIZE, TIMESPEC.size + 64)
            except BlockingIOError:
                try:
                    await trio.lowlevel.wait_readable(self.sock)
                except trio.ClosedResourceError:  # closed by this side meanwhile
                    raise Closed("closed") from None
                continue
            except OSError as exc:
                raise Closed(str(exc)) from exc
            if not data:
                raise Closed("EOF")
            self.arrived = trio.current_time()
            for level, kind, stamp in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS):
                    sec, nsec = TIMESPEC.unpack(stamp[: TIMESPEC.size])
                    # the stamp is wall time; trio's clock is monotonic: move it across
                    self.arrived = min(self.arrived, sec + nsec / 1e9 - time.time() + self.arrived)
            return data

    def send(self, text: str) -> None:
        """Send a text frame now; what the kernel cannot take yet is flushed later."""
        self._write(frame(text))

    def _write(self, data: bytes) -> None:
        if self.closed:
            raise Closed("closed")
        if not self.pending:
            try:
                sent = self.sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self.closed = True
                raise Closed(str(exc)) from exc
            data = data[sent:]
        if data:
            self.pending += data
            if not self.flushing and self.nursery is not None:
                self.flushing = True
                self.nursery.start_soon(self._flush)

    async def _flush(self) -> None:
        try:
            while self.pending and not self.closed:
                try:
                    await trio.lowlevel.wait_writable(self.sock)
                except trio.ClosedResourceError:
                    return
                try:
                    sent = self.sock.send(self.pending)
                except BlockingIOError:
                    continue
                except OSError:
                    self.closed = True
                    return
                del self.pending[:sent]
        finally:
            self.flushing = False

    async def run(self, nursery: trio.Nursery, on_text: Callable[[str], None]) -> None:
        """Read until the connection ends, calling ``on_text`` with each text frame."""
        self.nursery = nursery
        try:
            while True:
                self._frames(on_text)
                self.buf += await self._recv()
        except Closed:
            pass
        finally:
            if not self.closed:
                self.close()

    def _frames(self, on_text: Callable[[str], None]) -> None:
        buf, pos, end = self.buf, 0, len(self.buf)
        while end - pos >= 2:
            b0, n = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if end - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if end - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            opcode = b0 & 0x0F
            if opcode == 1:  # the server sends whole frames: no continuations to join
                on_text(payload.decode())
            elif opcode == 9:
                self._write(_control(10, payload))
            elif opcode == 8:
                raise Closed("close frame")
        del buf[:pos]

    def close(self) -> None:
        """Close the socket (no closing handshake: the benchmarks end by dropping)."""
        self.closed = True
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()
