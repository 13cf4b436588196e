"""Hypercorn's sends as server/hypercorn_patch.py changes them: a write the socket takes
at once costs no turn of the scheduler, what it does not take follows Hypercorn's way in
order, and the guard for the close race."""

import socket

import pytest
import trio
import trio.testing
from hypercorn.events import Closed, RawData
from hypercorn.trio.tcp_server import TCPServer

from server import hypercorn_patch


async def test_a_send_that_finds_the_socket_busy_with_a_close_ends_the_connection(monkeypatch):
    """Hypercorn's close sends EOF outside its send lock; a send that meets it is the
    connection closing (server/hypercorn_patch.py), not an error that stops the server."""

    async def busy(self, event):
        raise trio.BusyResourceError("another task is currently sending data on this stream")

    handled = []

    class Protocol:
        async def handle(self, event):
            handled.append(event)

    class Conn:
        protocol = Protocol()
        send_lock = trio.Lock()
        stream = None  # not a socket: Hypercorn's way

    monkeypatch.setattr(hypercorn_patch, "_original_send", busy)
    hypercorn_patch.apply()
    await TCPServer.protocol_send(Conn(), RawData(data=b"x"))
    assert handled == [Closed()]


class SocketConn:
    """What Hypercorn's send needs of its TCPServer: a send lock and the stream, here one
    end of a socket pair; ``sent`` records what went Hypercorn's way."""

    def __init__(self, sock):
        self.send_lock = trio.Lock()
        self.stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
        self.sent: list[bytes] = []


@pytest.fixture
def socket_conn(monkeypatch):
    async def hypercorns_way(self, event):
        self.sent.append(event.data)
        async with self.send_lock:
            await self.stream.send_all(event.data)

    monkeypatch.setattr(hypercorn_patch, "_original_send", hypercorns_way)
    hypercorn_patch.apply()
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    conn = SocketConn(a)
    peer = trio.SocketStream(trio.socket.from_stdlib_socket(b))
    yield conn, peer
    a.close()
    b.close()


async def read_exactly(stream, n):
    data = b""
    while len(data) < n:
        data += await stream.receive_some(1 << 20)
    return data


async def test_a_write_the_socket_takes_costs_no_turn_of_the_scheduler(socket_conn):
    conn, peer = socket_conn
    with trio.testing.assert_no_checkpoints():
        await TCPServer.protocol_send(conn, RawData(data=b"frame"))
    assert conn.sent == [] and await peer.receive_some(100) == b"frame"


async def test_what_the_socket_does_not_take_goes_hypercorns_way_in_order(socket_conn):
    """A write bigger than the socket's buffer: the rest follows under the lock, behind
    the bytes written at once; a send while the lock is held waits its turn."""
    conn, peer = socket_conn
    big = bytes(range(256)) * 8192  # 2 MiB
    async with trio.open_nursery() as nursery:
        nursery.start_soon(TCPServer.protocol_send, conn, RawData(data=big))
        await trio.testing.wait_all_tasks_blocked()
        assert conn.send_lock.locked()  # the rest is on its way, under the lock
        nursery.start_soon(TCPServer.protocol_send, conn, RawData(data=b"after"))
        assert await read_exactly(peer, len(big) + 5) == big + b"after"
    assert 0 < len(conn.sent[0]) < len(big) and big.endswith(conn.sent[0])
    assert conn.sent[1] == b"after"  # the lock was held: Hypercorn's way, in turn


async def test_a_frame_begun_is_finished_even_if_its_sender_is_cancelled(socket_conn):
    """Cancelled after the socket took part of a frame, the send still finishes it: the
    next frame must not land in its middle."""
    conn, peer = socket_conn
    big = bytes(range(256)) * 8192

    async def send_cancelled_then_more():
        with trio.CancelScope() as scope:
            scope.cancel()
            await TCPServer.protocol_send(conn, RawData(data=big))
        await TCPServer.protocol_send(conn, RawData(data=b"after"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_cancelled_then_more)
        with trio.fail_after(10):
            assert await read_exactly(peer, len(big) + 5) == big + b"after"


async def test_nothing_to_write_goes_hypercorns_way(socket_conn):
    """An empty write says nothing of the socket (a closed one would take it too)."""
    conn, _ = socket_conn
    await TCPServer.protocol_send(conn, RawData(data=b""))
    assert conn.sent == [b""]
