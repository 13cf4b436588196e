"""End to end over real loopback sockets: Hypercorn on port 0, trio-websocket clients."""

from contextlib import asynccontextmanager

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from server import demo
from server import protocol as p
from server.app import ServerConfig
from server.serve import open_server
from server.store import Store
from simulator.play.client import ProtocolError, login, open_client

VISITOR = dict(account=demo.ACCOUNT, button=demo.BUTTON, url="http://shop/")


async def operator_hellos(url):
    return [
        p.OperatorHello(token=(await login(url, name, pw))["token"])
        for name, _, pw, _ in demo.OPERATORS
    ]


@asynccontextmanager
async def chatting(server):
    """Alice and a visitor in a chat: (alice, visitor, room)."""
    hello = (await operator_hellos(server.url))[0]
    async with (
        open_client(server.ws_url, "operator", hello) as alice,
        open_client(
            server.ws_url, "visitor", p.VisitorHello(page_instance="pg1", **VISITOR)
        ) as visitor,
    ):
        call = (await visitor.request(p.PlaceCall(id="c"))).call
        room = (await alice.request(p.Accept(id="a", call=call))).room
        yield alice, visitor, room


async def test_whole_call_from_ring_to_close():
    with trio.fail_after(30):
        async with open_server() as server:
            hellos = await operator_hellos(server.url)
            async with (
                open_client(server.ws_url, "operator", hellos[0]) as alice,
                open_client(server.ws_url, "operator", hellos[1]) as bob,
                open_client(
                    server.ws_url, "visitor", p.VisitorHello(page_instance="pg1", **VISITOR)
                ) as visitor,
            ):
                call = (await visitor.request(p.PlaceCall(id="c1"))).call
                assert (await alice.next(p.Ring)).call == call
                assert (await bob.next(p.Ring)).call == call
                room = (await bob.request(p.Accept(id="a1", call=call))).room
                with pytest.raises(ProtocolError) as lost:
                    await alice.request(p.Accept(id="a2", call=call))
                assert lost.value.error.code == "illegal_state"
                assert (await alice.next(p.RingStop)).reason == "accepted_elsewhere"
                assert (await bob.next(p.RingStop)).reason == "accepted"
                for i in range(5):
                    await visitor.request(p.Send(id=f"v{i}", room=room, text=f"v{i}"))
                    await bob.request(p.Send(id=f"b{i}", room=room, text=f"b{i}"))
                got = [(await bob.next(p.ChatMessage)).text for _ in range(10)]
                assert got == [x for i in range(5) for x in (f"v{i}", f"b{i}")]
                await bob.request(p.Close(id="x", room=room))
                assert (await visitor.next(p.RoomClosed)).reason == "operator_closed"
            async with httpx.AsyncClient(base_url=server.url) as http:
                health = (await http.get("/healthz")).json()
                metrics = (await http.get("/metrics")).text
            assert health["status"] == "ok"
            assert 'ringlab_calls_total{outcome="accepted"} 1.0' in metrics
            assert "ringlab_messages_total 10.0" in metrics
            assert 'ringlab_ring_duration_seconds_count{reason="accepted_elsewhere"} 1.0' in metrics


async def test_malformed_frames_get_error_frames_and_the_connection_lives_on():
    with trio.fail_after(30):
        async with (
            open_server() as server,
            open_websocket_url(f"{server.ws_url}/ws/visitor") as ws,
        ):
            await ws.send_message(p.encode(p.VisitorHello(page_instance="pg", **VISITOR)))
            assert isinstance(p.decode_event("visitor", await ws.get_message()), p.Welcome)
            bad = [
                "nope",
                "[]",
                '{"type":"fly","id":"f"}',
                '{"type":"send","id":"s"}',
                '{"type":"send","id":"t","room":1,"text":"x"}',
                '{"type":"ping","pad":"' + "x" * p.MAX_FRAME_BYTES + '"}',
            ]
            for frame in bad:
                await ws.send_message(frame)
            await ws.send_message(p.encode(p.PlaceCall(id="ok-after")))
            errors, ok = [], None
            while ok is None:
                event = p.decode_event("visitor", await ws.get_message())
                if isinstance(event, p.Error):
                    errors.append((event.code, event.ref))
                elif isinstance(event, p.Ok):
                    ok = event
            assert errors == [
                ("bad_frame", None),
                ("bad_frame", None),
                ("unknown_type", "f"),
                ("invalid_field", "s"),
                ("invalid_field", "t"),
                ("too_large", None),
            ]
            assert ok.ref == "ok-after" and ok.call


async def test_bad_credentials_and_tokens_are_refused():
    with trio.fail_after(30):
        async with open_server() as server:
            with pytest.raises(ProtocolError):
                await login(server.url, "alice", "wrong")
            async with open_websocket_url(f"{server.ws_url}/ws/operator") as ws:
                await ws.send_message(p.encode(p.OperatorHello(token="forged")))
                error = p.decode_event("operator", await ws.get_message())
                assert error.code == "auth_failed"
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
                assert closed.value.reason.code == 4401


async def test_resume_after_reconnect_loses_and_duplicates_nothing():
    with trio.fail_after(30):
        async with open_server() as server:
            hello = (await operator_hellos(server.url))[0]
            async with open_client(
                server.ws_url, "visitor", p.VisitorHello(page_instance="pg1", **VISITOR)
            ) as visitor:
                async with open_client(server.ws_url, "operator", hello) as alice:
                    call = (await visitor.request(p.PlaceCall(id="c"))).call
                    room = (await alice.request(p.Accept(id="a", call=call))).room
                    session, last = alice.welcome.session, alice.last_seq
                for i in range(3):  # alice is away from the wire
                    await visitor.request(p.Send(id=f"m{i}", room=room, text=f"m{i}"))
                resume = p.OperatorHello(token=hello.token, session=session, last_seq=last)
                async with open_client(server.ws_url, "operator", resume) as alice:
                    assert alice.welcome.resumed
                    alice.last_seq = last
                    got = [(await alice.next(p.ChatMessage)).n for _ in range(3)]
                    assert got == [1, 2, 3]
                    await alice.request(p.Send(id="back", room=room, text="sorry"))
                    seen = [(await visitor.next(p.ChatMessage)).text for _ in range(4)]
                    assert seen == ["m0", "m1", "m2", "sorry"]


async def test_server_restart_keeps_the_transcript(tmp_path):
    db = str(tmp_path / "ringlab.db")
    with trio.fail_after(30):
        async with open_server(ServerConfig(db=db)) as server, chatting(server) as chat:
            _, visitor, room = chat
            await visitor.request(p.Send(id="m", room=room, text="kept?"))
        async with open_server(ServerConfig(db=db)) as server:
            assert server.chat.demo_logins == []  # the account was kept, not re-created
            assert room in server.chat.hub.state.rooms
            hello = (await operator_hellos(server.url))[0]
            async with open_client(server.ws_url, "operator", hello) as alice:
                snap = await alice.next(p.OperatorSnapshot)
                assert [[m.text for m in r.messages] for r in snap.rooms] == [["kept?"]]
        store = await Store.open(db)
        assert [m.text for m in await store.transcript(room)] == ["kept?"]
        await store.close()


async def test_shutdown_closes_every_websocket_going_away_and_keeps_what_was_acknowledged(
    tmp_path,
):
    from server.serve import serve_reference

    db = str(tmp_path / "chat.db")
    stop = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda task_status: serve_reference(
                    ServerConfig(db=db), port=0, shutdown_trigger=stop.wait, task_status=task_status
                )
            )
            async with chatting(server) as (_, visitor, room):
                await visitor.request(p.Send(id="m1", room=room, text="acknowledged"))
                async with open_websocket_url(server.ws_url + "/ws/visitor") as raw:
                    stop.set()
                    with pytest.raises(ConnectionClosed) as closed:
                        while True:
                            await raw.get_message()
                    assert closed.value.reason.code == 1001  # not a dropped connection (1006)
    store = await Store.open(db)
    assert [m.text for m in await store.transcript(room)] == ["acknowledged"]
    await store.close()


async def test_a_visitor_whose_call_rang_across_a_restart_is_told_it_was_missed(tmp_path):
    db = str(tmp_path / "ringlab.db")
    with trio.fail_after(30):
        async with (
            open_server(ServerConfig(db=db)) as server,
            open_client(
                server.ws_url, "visitor", p.VisitorHello(page_instance="pg1", **VISITOR)
            ) as visitor,
        ):
            call = (await visitor.request(p.PlaceCall(id="c"))).call
            visitor_id, session = visitor.welcome.visitor_id, visitor.welcome.session
        async with open_server(ServerConfig(db=db)) as server:
            back = p.VisitorHello(
                page_instance="pg1", visitor_id=visitor_id, session=session, **VISITOR
            )
            async with open_client(server.ws_url, "visitor", back) as visitor:
                assert not visitor.welcome.resumed  # the session died with the process
                snap = await visitor.next(p.VisitorSnapshot)
                assert (snap.call, snap.call_state, snap.leave_message) == (call, "missed", True)
                await visitor.request(p.LeaveMessage(id="m", name="V", email="v@x", text="hi"))
            async with open_client(server.ws_url, "visitor", back) as visitor:
                snap = await visitor.next(p.VisitorSnapshot)  # told once it wrote
                assert (snap.call, snap.leave_message) == (None, False)
        store = await Store.open(db)
        assert [m.call_id for m in await store.offline_messages(demo.ACCOUNT)] == [call]
        await store.close()


async def test_an_operator_added_to_the_database_works_without_a_restart(tmp_path):
    """Another process (a script, a second server) adds an account's operator to the store:
    this server takes it on first use instead of refusing its WebSocket until a restart."""
    from server.core import Operator, hash_password

    db = str(tmp_path / "ringlab.db")
    with trio.fail_after(30):
        async with open_server(ServerConfig(db=db)) as server:
            other = await Store.open(db)
            hashed = hash_password("carol-secret", b"0" * 16, 2**4)
            await other.add_operator(Operator("op_carol", demo.ACCOUNT, "carol", "Carol", hashed))
            await other.close()
            token = (await login(server.url, "carol", "carol-secret"))["token"]
            async with open_client(server.ws_url, "operator", p.OperatorHello(token=token)) as c:
                assert c.welcome.operator.name == "Carol"


async def test_a_write_the_database_refuses_stops_the_server_and_nothing_unstored_is_acknowledged(
    tmp_path,
):
    """The disk fills up: the transaction fails, the server closes every connection
    (1011) and stops; every message a client got `ok` for is in the database."""
    from server.serve import serve_reference

    db = str(tmp_path / "chat.db")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda task_status: serve_reference(
                    ServerConfig(db=db), port=0, task_status=task_status
                )
            )
            hello = (await operator_hellos(server.url))[0]
            acknowledged = []
            async with (
                open_client(server.ws_url, "operator", hello) as alice,
                open_websocket_url(server.ws_url + "/ws/visitor") as visitor,
            ):
                await visitor.send_message(p.encode(p.VisitorHello(page_instance="pg", **VISITOR)))
                await visitor.send_message(p.encode(p.PlaceCall(id="c1")))
                call = (await alice.next(p.Ring)).call
                room = (await alice.request(p.Accept(id="a1", call=call))).room
                raw = server.chat.store._db
                pages = raw.execute("PRAGMA page_count").fetchone()[0]
                raw.execute(f"PRAGMA max_page_count = {pages + 2}")  # a disk that fills up
                with pytest.raises(ConnectionClosed) as closed:
                    for i in range(10_000):
                        text = f"{i:05d} " + "x" * 500
                        await visitor.send_message(
                            p.encode(p.Send(id=f"m{i}", room=room, text=text))
                        )
                        while (
                            getattr(
                                reply := p.decode_event("visitor", await visitor.get_message()),
                                "ref",
                                None,
                            )
                            != f"m{i}"
                        ):
                            pass
                        assert isinstance(reply, p.Ok)
                        acknowledged.append(text)
                assert closed.value.reason.code == 1011
            # serve_reference returns by itself: the server stopped
        assert server.chat.runtime.failure and "database" in server.chat.runtime.failure
    store = await Store.open(db)
    assert acknowledged and [m.text for m in await store.transcript(room)] == acknowledged
    await store.close()


async def test_a_send_sent_again_after_a_restart_is_not_stored_twice(tmp_path):
    """The ok of a send was lost with the process: the client sends it again, same id, to
    the new session; the restarted server recognises it (sender, id, text) from the store."""
    db = str(tmp_path / "ringlab.db")
    with trio.fail_after(30):
        async with open_server(ServerConfig(db=db)) as server, chatting(server) as chat:
            _, visitor, room = chat
            first = await visitor.request(p.Send(id="pg1.r7", room=room, text="once"))
            visitor_id = visitor.welcome.visitor_id
        async with open_server(ServerConfig(db=db)) as server:
            back = p.VisitorHello(page_instance="pg1", visitor_id=visitor_id, **VISITOR)
            async with open_client(server.ws_url, "visitor", back) as visitor:
                again = await visitor.request(p.Send(id="pg1.r7", room=room, text="once"))
                other = await visitor.request(p.Send(id="pg2.r7", room=room, text="once"))
        assert again.n == first.n and other.n == first.n + 1  # another id: another message
        store = await Store.open(db)
        assert [m.text for m in await store.transcript(room)] == ["once", "once"]
        await store.close()
