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

    monkeypatch.setattr(hypercorn_patch, "_original", busy)
    hypercorn_patch.apply()
    await TCPServer.protocol_send(Conn(), RawData(data=b"x"))
    assert handled == [Closed()]
