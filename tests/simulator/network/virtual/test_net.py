"""The virtual network: the real server stack (Hypercorn's TCPServer, the Quart-trio app)
over in-memory connections, under the autojump clock."""

import dataclasses

import trio
from trio_websocket import ConnectionClosed

from server import protocol as p
from server.app import create_app
from server.limits import Limits
from tests.support.virtual_server import HOST, served, virtual_config


async def test_http_and_websockets_over_the_virtual_network(autojump_clock):
    async with served() as server:
        assert server.url == "http://10.0.0.1:80"
        start = trio.current_time()
        async with trio.open_nursery() as ws_nursery:
            ws = await server.open_ws(
                ws_nursery, "/ws/operator", p.OperatorHello(token=server.token)
            )
            welcome = p.decode_event("operator", await ws.get_message())
            assert isinstance(welcome, p.Welcome) and welcome.operator.id == "op_alice"
            # a heartbeat comes after heartbeat_interval of virtual time, in no real time
            while not isinstance(p.decode_event("operator", await ws.get_message()), p.Ping):
                pass
            assert trio.current_time() - start >= welcome.heartbeat_interval
            await ws.aclose()
    refused = False
    try:
        await server.net.connect(HOST, 80)
    except ConnectionRefusedError:
        refused = True
    assert refused


async def test_connections_opened_together_are_pinged_apart(autojump_clock):
    """Each connection's heartbeat has a phase of its own: a crowd that connects at once
    (after a restart, or a stall) is not pinged in one burst every interval."""
    pinged: list[float] = []
    async with served() as server, trio.open_nursery() as nursery:
        start = trio.current_time()

        async def page(i: int) -> None:
            hello = p.VisitorHello(
                account="demo", button="btn_main", page_instance=f"pg{i}", url="/"
            )
            ws = await server.open_ws(nursery, "/ws/visitor", hello, source=f"10.0.1.{i}")
            while not isinstance(p.decode_event("visitor", await ws.get_message()), p.Ping):
                pass
            pinged.append(trio.current_time() - start)
            await ws.aclose()

        async with trio.open_nursery() as pages:
            for i in range(20):
                pages.start_soon(page, i)
    interval = virtual_config().timings.heartbeat_interval
    assert all(interval <= t <= 2 * interval + 1 for t in pinged)
    assert max(pinged) - min(pinged) > interval / 2


async def test_a_stall_does_not_leave_the_pings_due_during_it_bunched(autojump_clock):
    """Checks fall on deadlines: the connections whose checks a stall delayed are pinged
    together once, right after it, and then each on its own phase again (a sleep after
    each check kept them together from then on)."""
    interval = virtual_config().timings.heartbeat_interval
    pings: list[float] = []
    async with served() as server, trio.open_nursery() as nursery:

        async def page(i: int) -> None:
            hello = p.VisitorHello(
                account="demo", button="btn_main", page_instance=f"pg{i}", url="/"
            )
            ws = await server.open_ws(nursery, "/ws/visitor", hello, source=f"10.0.1.{i}")
            while True:
                if isinstance(p.decode_event("visitor", await ws.get_message()), p.Ping):
                    pings.append(trio.current_time())
                    await ws.send_message(p.encode(p.Pong()))

        for i in range(20):
            nursery.start_soon(page, i)
        await trio.sleep(2.5 * interval)  # every page has its phase going
        autojump_clock.jump(0.6 * interval)  # a stall: no task runs meanwhile
        resumed = trio.current_time()
        await trio.sleep(interval + 1)
        nursery.cancel_scope.cancel()
    after = sorted(t for t in pings if resumed + 1 < t <= resumed + interval + 1)
    assert len(after) >= 15  # the stall's pings, each one interval on
    most_together = max(sum(1 for u in after if t <= u < t + 0.1) for t in after)
    assert most_together <= 4, after


async def test_a_silent_client_is_found_dead_and_cleaned_up_in_documented_time(autojump_clock):
    """A half-open connection: the client stops answering. The server closes it (4408)
    within dead_peer_timeout + heartbeat_interval of the last frame it heard, and forgets it."""
    app = create_app(virtual_config())
    chat = app.chat
    async with served(app) as server, trio.open_nursery() as ws_nursery:
        ws = await server.open_ws(ws_nursery, "/ws/operator", p.OperatorHello(token=server.token))
        last_heard = trio.current_time()  # from here on, no pong, no ack: silence
        assert isinstance(p.decode_event("operator", await ws.get_message()), p.Welcome)
        assert len(chat.conns) == 1
        with trio.fail_after(120):
            try:
                while True:
                    await ws.get_message()
            except ConnectionClosed as closed:
                code = closed.reason.code
        waited = trio.current_time() - last_heard
        assert code == 4408
        assert p.DEAD_PEER_TIMEOUT <= waited <= p.DEAD_PEER_TIMEOUT + p.HEARTBEAT_INTERVAL
        assert chat.conns == {}  # nothing of the dead connection is left


async def test_a_console_that_stops_reading_is_closed_and_stalls_no_one(autojump_clock):
    """Flow control as over TCP: the console's buffers fill, its send queue fills, and the
    server drops it as a slow consumer (1008), though Hypercorn cannot interrupt the write
    it is blocked in; the visitor writing meanwhile is answered throughout."""
    # a short send queue (64 frames, not 4,096) keeps the test short; the mechanism is the
    # same. The visitor writes as fast as it can: no frame rate limit
    app = create_app(
        dataclasses.replace(virtual_config(), send_queue=64, limits=Limits(frame_rate=0))
    )
    async with served(app) as server, trio.open_nursery() as clients:

        async def until(ws, role, kind, check=lambda e: True):
            while True:
                event = p.decode_event(role, await ws.get_message())
                if isinstance(event, kind) and check(event):
                    return event

        console = await server.open_ws(clients, "/ws/operator", p.OperatorHello(token=server.token))
        await until(console, "operator", p.OperatorSnapshot)
        page = p.VisitorHello(account="demo", button="btn_main", page_instance="pg1", url="/")
        visitor = await server.open_ws(clients, "/ws/visitor", page)
        await until(visitor, "visitor", p.VisitorSnapshot)
        await visitor.send_message(p.encode(p.PlaceCall(id="c")))
        ring = await until(console, "operator", p.Ring)
        await console.send_message(p.encode(p.Accept(id="a", call=ring.call)))
        opened = await until(visitor, "visitor", p.RoomOpened)

        # the console reads no more; the visitor writes on
        def console_connected():
            return any(c.role == "operator" for c in app.chat.conns.values())

        sent = 0
        while console_connected() and sent < 1000:  # 4 KB each: buffers hold ~70
            await visitor.send_message(
                p.encode(p.Send(id=f"m{sent}", room=opened.room.room, text="x" * 4000))
            )
            await until(visitor, "visitor", p.Ok, lambda e, i=sent: e.ref == f"m{i}")
            sent += 1
        assert not console_connected() and sent < 1000  # dropped: a slow consumer
        operator = app.chat.hub.state.operators["op_alice"]
        assert not operator.sessions or all(sid not in app.chat.conns for sid in operator.sessions)
        for extra in range(5):  # and the visitor is still answered
            await visitor.send_message(
                p.encode(p.Send(id=f"x{extra}", room=opened.room.room, text="still there?"))
            )
            await until(visitor, "visitor", p.Ok, lambda e, i=extra: e.ref == f"x{i}")
        clients.cancel_scope.cancel()
