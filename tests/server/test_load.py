"""The message path under load: events batched into one frame for clients that ask, and
requests shed at the door when the server runs late."""

import json
import time
from contextlib import asynccontextmanager

import pytest
import trio

from server import protocol as p
from server.app import create_app
from server.metrics import Metrics
from server.runtime import Runtime
from server.store import Store
from server.timers import Timers
from tests.support.virtual_server import served, virtual_config

VISITOR = {"account": "demo", "button": "btn_main", "url": "https://shop/a"}


async def chat(server, nursery, batch):
    """A visitor page (``batch`` as it says in hello) in a chat with alice: (its
    WebSocket, the room)."""
    alice = await server.open_ws(nursery, "/ws/operator", p.OperatorHello(token=server.token))
    hello = p.VisitorHello(page_instance=f"pg-{batch}", batch=batch, **VISITOR)
    visitor = await server.open_ws(nursery, "/ws/visitor", hello)
    await visitor.send_message(p.encode(p.PlaceCall(id="c")))
    ring = await first(alice, "ring")
    await alice.send_message(p.encode(p.Accept(id="a", call=ring["call"])))
    opened = await first(visitor, "room_opened")
    return visitor, opened["room"]["room"]


async def first(ws, kind):
    """The first event of type ``kind``, reading frames of one event or of several."""
    while True:
        data = json.loads(await ws.get_message())
        for event in data if isinstance(data, list) else [data]:
            if event["type"] == kind:
                return event


async def test_a_batch_client_gets_the_events_queued_together_in_one_frame(autojump_clock):
    """The message a ``send`` made and its ``ok`` are queued for the sender together: a
    client that said ``batch`` reads them in one frame, a JSON array in order; a client
    that did not reads two frames, each one object."""
    app = create_app(virtual_config())
    async with served(app) as server, trio.open_nursery() as nursery:
        for batch in (True, False):
            visitor, room = await chat(server, nursery, batch)
            await visitor.send_message(p.encode(p.Send(id="m1", room=room, text="hi")))
            one = json.loads(await visitor.get_message())
            if batch:
                assert [e["type"] for e in one] == ["message", "ok"]
                assert one[0]["text"] == "hi" and one[1]["ref"] == "m1"
                assert one[0]["seq"] + 1 == one[1]["seq"]
            else:
                two = json.loads(await visitor.get_message())
                assert (one["type"], two["type"]) == ("message", "ok")
        nursery.cancel_scope.cancel()


def test_decode_events_reads_one_event_or_an_array():
    ok, ping = p.encode(p.Ok(ref="a")), p.encode(p.Ping())
    assert p.decode_events("visitor", ok) == [p.Ok(ref="a")]
    assert p.decode_events("operator", f"[{ok},{ping}]") == [p.Ok(ref="a"), p.Ping()]


@asynccontextmanager
async def running(tmp_path, clock):
    """A runtime over a store in ``tmp_path`` (``max_lag`` 0.25 s), its committer running:
    (the runtime, a ``refuse`` that notes what it is told, the list of those notes)."""
    store = await Store.open(str(tmp_path / "runtime.db"), threaded=False)
    runtime = Runtime(store, Timers(), Metrics(), clock, max_lag=0.25)
    refused: list[str] = []

    def refuse(code, retry_after):
        refused.append(code)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(runtime.run)
            yield runtime, refuse, refused
            nursery.cancel_scope.cancel()
    finally:
        await store.close()


async def test_a_server_running_late_sheds_requests_at_the_door_and_recovers(tmp_path):
    """Real time: the event loop blocked for 0.3 s while the committer had work to do. A
    request that comes then is refused (None: the caller answers server_busy) without
    being queued; once the loop keeps time again, requests are taken."""
    async with running(tmp_path, time.time) as (runtime, refuse, refused):
        await runtime.do(lambda now: [])
        runtime.submit(lambda now: [])
        time.sleep(0.3)  # the loop is stuck with the committer woken: it runs 0.3 s late
        await trio.sleep(0.01)
        assert runtime.lag >= 0.25
        assert runtime.submit_request(lambda now: [], refuse) is None
        await trio.sleep(0.05)  # the refusal woke the committer: it measures again
        assert runtime.lag < 0.25
        job = runtime.submit_request(lambda now: [], refuse)
        assert job is not None
        await job.done.wait()
    assert refused == []  # a refusal at the door is the caller's to answer


async def raw_visitor(server, page):
    """A visitor's WebSocket spoken with wsproto over a bare stream, so that many frames can
    go out in one write: (send bytes, next event)."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage

    stream = await server.net.connect("10.0.0.1", 80, "10.0.0.3")
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host="10.0.0.1", target="/ws/visitor")))
    while not any(isinstance(e, AcceptConnection) for e in ws.events()):
        ws.receive_data(await stream.receive_some(65536))
    texts: list[str] = []

    async def event():
        while not texts:
            ws.receive_data(await stream.receive_some(65536))
            for e in ws.events():
                assert isinstance(e, TextMessage)
                data = json.loads(e.data)
                texts.extend(data if isinstance(data, list) else [data])
        return texts.pop(0)

    async def send(*frames):
        await stream.send_all(b"".join(ws.send(TextMessage(p.encode(f))) for f in frames))

    await send(p.VisitorHello(page_instance=page, **VISITOR))
    return send, event


async def raw_chat(alice, send, event):
    """The raw visitor's call, accepted by alice: its room."""
    while (await event())["type"] != "welcome":
        pass
    await send(p.PlaceCall(id="c"))
    ring = await first(alice, "ring")
    await alice.send_message(p.encode(p.Accept(id="a", call=ring["call"])))
    while (e := await event())["type"] != "room_opened":
        pass
    room: str = e["room"]["room"]
    return room


@pytest.mark.parametrize("proxies", [(), ("10.0.0.3",)], ids=["direct", "behind-a-proxy"])
async def test_frames_that_waited_behind_their_own_connection_are_shed_and_answered(
    autojump_clock, monkeypatch, proxies
):
    """50 sends in one write, each taking 10 ms to take in: the server reads the socket 4 KiB
    at a time, so the later frames wait in it while the earlier ones are taken. Those that
    arrived more than ``max_lag`` (0.25 s) before they were read are answered
    ``server_busy`` at the door, not applied; every one is answered once, the ones that were
    taken are in the transcript, and the next send, once the server has caught up, is taken.
    Behind a trusted proxy too, whose middleware copies the connection's scope."""
    app = create_app(virtual_config())
    async with served(app, proxies) as server, trio.open_nursery() as nursery:
        alice = await server.open_ws(nursery, "/ws/operator", p.OperatorHello(token=server.token))
        send, event = await raw_visitor(server, "pg-raw")
        room = await raw_chat(alice, send, event)
        decode = p.decode_inbound

        def slow(role, raw):
            autojump_clock.jump(0.01)  # 10 ms of work to take each frame
            return decode(role, raw)

        monkeypatch.setattr(p, "decode_inbound", slow)
        pad = "." * 250  # 50 frames are four reads of the socket (READ_SIZE)
        await send(*(p.Send(id=f"m{i}", room=room, text=f"t{i}{pad}") for i in range(50)))
        answers: dict[str, str] = {}
        stored: list[str] = []
        while len(answers) < 50:
            e = await event()
            if e["type"] in ("ok", "error"):
                assert e["ref"] not in answers
                answers[e["ref"]] = e.get("code", "ok")
            elif e["type"] == "message":
                stored.append(e["text"])
        taken = [ref for ref, code in answers.items() if code == "ok"]
        shed = [ref for ref, code in answers.items() if code == "server_busy"]
        assert len(taken) + len(shed) == 50, str(answers)
        assert 20 <= len(taken) <= 30, len(taken)  # 0.25 s of 10 ms frames, give or take
        assert taken == [f"m{i}" for i in range(len(taken))]  # the oldest were taken
        assert stored == [f"t{i}{pad}" for i in range(len(taken))]
        await trio.sleep(1)
        await send(p.Send(id="after", room=room, text="after"))
        while (e := await event())["type"] != "ok":
            assert e["type"] == "message"
        assert e["ref"] == "after"
        nursery.cancel_scope.cancel()


async def test_frames_that_came_together_are_taken_together(autojump_clock):
    """Hypercorn hands a read's frames to the app without a turn of the scheduler each
    (server/hypercorn_patch.py) and the gateway takes what waits at once, so 50 sends in
    one write reach the runtime's queue together and are stored in a few transactions,
    not one each."""
    app = create_app(virtual_config())
    async with served(app) as server, trio.open_nursery() as nursery:
        alice = await server.open_ws(nursery, "/ws/operator", p.OperatorHello(token=server.token))
        send, event = await raw_visitor(server, "pg-together")
        room = await raw_chat(alice, send, event)
        store = app.chat.runtime.store
        store_apply = store.apply
        transactions = []

        async def apply(records):
            transactions.append(len(records))
            await store_apply(records)

        store.apply = apply
        await send(*(p.Send(id=f"m{i}", room=room, text=f"t{i}") for i in range(50)))
        answered = 0
        while answered < 50:
            e = await event()
            assert e["type"] != "error", e
            answered += e["type"] == "ok"
        assert sum(transactions) == 50  # each send stored one message
        assert len(transactions) <= 10, transactions
        nursery.cancel_scope.cancel()


async def test_bytes_waiting_counts_what_a_socket_has_received_and_not_read():
    from server.hypercorn_patch import bytes_waiting

    left, right = trio.socket.socketpair()
    with left, right:
        server_side = trio.SocketStream(right)
        assert bytes_waiting(server_side) == 0
        await left.send(b"0123456789")
        await trio.testing.wait_all_tasks_blocked()
        assert bytes_waiting(server_side) == 10
        assert await server_side.receive_some(4) == b"0123"
        assert bytes_waiting(server_side) == 6
        server_side.socket.close()
        assert bytes_waiting(server_side) == 0  # a socket closed meanwhile: nothing waits


async def test_a_request_that_waited_in_its_socket_does_not_make_the_server_late(
    tmp_path, autojump_clock
):
    """A request's wait before it was read counts against its own ``max_wait``, not as the
    runtime running late: the next request, from anybody, is still taken."""
    async with running(tmp_path, trio.current_time) as (runtime, refuse, refused):
        await trio.sleep(1)
        job = runtime.submit_request(lambda now: [], refuse, trio.current_time() - 0.24)
        assert job is not None
        autojump_clock.jump(0.05)  # the committer's turn comes 50 ms later
        await job.done.wait()
        assert runtime.lag < 0.25
        assert runtime.submit_request(lambda now: [], refuse) is not None
        late = runtime.submit_request(lambda now: [], refuse, trio.current_time() - 0.3)
        assert late is None  # waited in its socket longer than max_lag: refused at the door
    assert refused == []


async def test_a_closed_connection_takes_no_more_frames_even_when_some_wait():
    """The gateway's reader takes waiting frames without a turn of the scheduler each, but
    still stops at once when its connection's scope is cancelled (a close)."""
    from server.websocket import AsgiWebSocket

    send, receive = trio.open_memory_channel(10)
    for i in range(3):
        send.send_nowait({"type": "websocket.receive", "text": f"f{i}"})
    ws = AsgiWebSocket({"headers": []}, receive.receive, send.send)
    assert await ws.receive() == "f0"
    with trio.CancelScope() as scope:
        scope.cancel()
        await ws.receive()
        raise AssertionError("a cancelled reader took a frame")
    assert receive.receive_nowait()["text"] == "f1"


async def test_a_refused_websocket_handshake_followed_by_bytes_is_answered_400(autojump_clock):
    """A WebSocket request Hypercorn refuses (a version it does not speak) has no app
    behind it; bytes sent after it must not break the connection's task (the arrival
    estimate keeps its own state for every handshake)."""
    async with served() as server:
        stream = await server.net.connect("10.0.0.1", 80, "10.0.0.4")
        request = (
            b"GET /ws/visitor HTTP/1.1\r\nHost: 10.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 12\r\n\r\n"
        )
        await stream.send_all(request + b"\x81\x05hello")
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer
        async with server.net.http(server.url) as http:  # the server still serves
            assert (await http.get("/healthz")).status_code == 200
