"""The message path under load: events batched into one frame for clients that ask, and
requests shed at the door when the server runs late."""

import json
import time

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


async def test_a_server_running_late_sheds_requests_at_the_door_and_recovers(tmp_path):
    """Real time: the event loop blocked for 0.3 s while the committer had work to do. A
    request that comes then is refused (None: the caller answers server_busy) without
    being queued; once the loop keeps time again, requests are taken."""
    store = await Store.open(str(tmp_path / "lag.db"), threaded=False)
    runtime = Runtime(store, Timers(), Metrics(), time.time, max_lag=0.25)
    refused = []

    def refuse(code, retry_after):
        refused.append(code)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(runtime.run)
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
        nursery.cancel_scope.cancel()
    assert refused == []  # a refusal at the door is the caller's to answer
    await store.close()


async def test_a_send_that_finds_the_socket_busy_with_a_close_ends_the_connection(monkeypatch):
    """Hypercorn's close sends EOF outside its send lock; a send that meets it is the
    connection closing (server/hypercorn_patch.py), not an error that stops the server."""
    from hypercorn.events import Closed, RawData
    from hypercorn.trio.tcp_server import TCPServer

    from server import hypercorn_patch

    async def busy(self, event):
        raise trio.BusyResourceError("another task is currently sending data on this stream")

    handled = []

    class Protocol:
        async def handle(self, event):
            handled.append(event)

    class Conn:
        protocol = Protocol()

    monkeypatch.setattr(hypercorn_patch, "_original_send", busy)
    hypercorn_patch.apply()
    await TCPServer.protocol_send(Conn(), RawData(data=b"x"))
    assert handled == [Closed()]


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


async def test_frames_that_waited_behind_their_own_connection_are_shed_and_answered(
    autojump_clock,
):
    """50 sends in one write, each applied costing 10 ms: Hypercorn hands a connection's
    frames to the app one turn of the scheduler each, so the later ones have waited since
    the socket read long before their turn. Those past ``max_lag`` (0.25 s) are answered
    ``server_busy`` at the door, not applied; every one is answered once, the ones that were
    taken are in the transcript, and the next send, once the server has caught up, is taken."""
    app = create_app(virtual_config())
    async with served(app) as server, trio.open_nursery() as nursery:
        alice = await server.open_ws(nursery, "/ws/operator", p.OperatorHello(token=server.token))
        send, event = await raw_visitor(server, "pg-raw")
        room = await raw_chat(alice, send, event)
        hub = app.chat.hub
        handle = hub.handle

        def slow(now, session_id, request):
            autojump_clock.jump(0.01)  # 10 ms of work per request applied
            return handle(now, session_id, request)

        hub.handle = slow
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
        # 0.25 s of 10 ms requests, and the rest of the group taken from the socket then
        assert 20 <= len(taken) <= 40, len(taken)
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
