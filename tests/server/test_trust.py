"""Issue 9's protocol items, end to end through Hypercorn on the virtual network: sessions
that end on purpose, pages that change, timings with one owner, bad frames, the order of
answers, and load shed with an answer (autojump clock: waits take no real time)."""

import dataclasses
import json
import logging
import random

import trio

from server import demo
from server import protocol as p
from server.app import create_app
from server.core import Settings, Timings
from server.limits import Limits
from tests.support.cutpoints import slow_store
from tests.support.virtual_server import served, virtual_config

VISITOR = dict(account=demo.ACCOUNT, button=demo.BUTTON)


async def frames(ws, until=lambda f: False, timeout=60.0):
    """Raw frames (dicts) until one passes ``until`` (which is included)."""
    got = []
    with trio.fail_after(timeout):
        while True:
            got.append(json.loads(await ws.get_message()))
            if until(got[-1]):
                return got


def kind(name, **fields):
    return lambda f: f["type"] == name and all(f.get(k) == v for k, v in fields.items())


async def visitor_page(server, nursery, page="pg1", url="https://shop/a", **extra):
    hello = p.VisitorHello(page_instance=page, url=url, **VISITOR, **extra)
    ws = await server.open_ws(nursery, "/ws/visitor", hello)
    got = await frames(ws, kind("snapshot"))
    return ws, got[0]


async def console(server, nursery, token=None):
    ws = await server.open_ws(nursery, "/ws/operator", p.OperatorHello(token=token or server.token))
    got = await frames(ws, kind("snapshot"))
    return ws, got[0]


async def ringing(server, nursery, **page):
    """Alice's console and a visitor whose call rings there: (alice, visitor, ring)."""
    alice, _ = await console(server, nursery)
    visitor, _ = await visitor_page(server, nursery, **page)
    await visitor.send_message(p.encode(p.PlaceCall(id="c")))
    ring = (await frames(alice, kind("ring")))[-1]
    return alice, visitor, ring


async def test_welcome_sends_the_configured_timings_and_the_server_keeps_them(autojump_clock):
    timings = Timings(heartbeat_interval=40, dead_peer_timeout=90, session_grace=12)
    app = create_app(dataclasses.replace(virtual_config(), timings=timings))
    async with served(app) as server, trio.open_nursery() as nursery:
        ws, welcome = await console(server, nursery)
        assert (welcome["heartbeat_interval"], welcome["dead_peer_timeout"]) == (40, 90)
        assert welcome["session_grace"] == 12
        start = trio.current_time()
        await frames(ws, kind("ping"), timeout=200)
        assert 40 <= trio.current_time() - start <= 80  # first check: 1-2 intervals
        nursery.cancel_scope.cancel()


async def test_binary_and_deeply_nested_frames_get_bad_frame_and_no_traceback(
    autojump_clock, caplog
):
    caplog.set_level(logging.DEBUG)
    async with served() as server, trio.open_nursery() as nursery:
        ws, _ = await visitor_page(server, nursery)
        await ws.send_message(p.encode(p.Ping()).encode())  # binary
        await ws.send_message('{"type":"ping","x":' + "[" * 1000 + "]" * 1000 + "}")
        await ws.send_message(p.encode(p.Ping()))
        got = await frames(ws, kind("pong"))
        errors = [f for f in got if f["type"] == "error"]
        assert [e["code"] for e in errors] == ["bad_frame", "bad_frame"]
        assert "binary" in errors[0]["message"] and "nested" in errors[1]["message"]
        assert all("seq" not in e for e in errors)  # not taken: unsequenced
        nursery.cancel_scope.cancel()
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_null_fields_are_omitted_from_shared_shapes(autojump_clock):
    async with served() as server, trio.open_nursery() as nursery:
        alice, visitor, ring = await ringing(server, nursery)
        await alice.send_message(p.encode(p.Accept(id="a", call=ring["call"])))
        opened = (await frames(visitor, kind("room_opened")))[-1]
        assert "invitation" not in opened["room"] and opened["room"]["call"] == ring["call"]
        assert None not in opened["room"].values()
        nursery.cancel_scope.cancel()


async def test_set_status_away_answers_after_the_ring_stop_it_caused(autojump_clock):
    async with served() as server, trio.open_nursery() as nursery:
        alice, _, _ = await ringing(server, nursery)
        await alice.send_message(p.encode(p.SetStatus(id="s", status="away")))
        got = await frames(alice, kind("ok", ref="s"))
        assert [f["type"] for f in got if f["type"] in ("ring_stop", "ok")] == ["ring_stop", "ok"]
        assert got[0]["reason"] == "away"
        nursery.cancel_scope.cancel()


async def test_inviting_an_unknown_operator_is_not_found(autojump_clock):
    async with served() as server, trio.open_nursery() as nursery:
        alice, _, ring = await ringing(server, nursery)
        await alice.send_message(p.encode(p.Accept(id="a", call=ring["call"])))
        room = (await frames(alice, kind("ok", ref="a")))[-1]["room"]
        await alice.send_message(p.encode(p.InviteOperator(id="i", room=room, operator="op_x")))
        error = (await frames(alice, kind("error", ref="i")))[-1]
        assert error["code"] == "not_found" and error["seq"] > 0  # a sequenced answer
        nursery.cancel_scope.cancel()


async def test_a_closed_console_stops_ringing_at_once_a_cut_one_keeps_its_grace(
    autojump_clock,
):
    app = create_app(virtual_config())
    async with served(app) as server, trio.open_nursery() as nursery:
        async with server.net.http(server.url) as http:
            bob_login = {"login": "bob", "password": "bob-demo"}
            bob_token = (await http.post("/api/login", json=bob_login)).json()["token"]
        bob, _ = await console(server, nursery, bob_token)
        alice, _ = await console(server, nursery)
        visitor, _ = await visitor_page(server, nursery)
        await visitor.send_message(p.encode(p.PlaceCall(id="c")))
        call = (await frames(bob, kind("ring")))[-1]["call"]
        await frames(alice, kind("ring"))
        await alice.send_message(p.encode(p.Bye()))  # the console page is closing
        closed_at = trio.current_time()
        got = await frames(bob, kind("operator_status"))
        assert got[-1]["operator"] == {"id": "op_alice", "name": "Alice", "status": "offline"}
        assert trio.current_time() - closed_at < 0.1  # not after the 30 s grace
        # Bob's console is cut (no bye): he stays online, his call still rings there
        await bob.aclose()
        await trio.sleep(10)
        state = app.chat.hub.state
        assert state.operators["op_bob"].sessions
        assert state.calls[call].ringing.keys() == {"op_bob"}
        nursery.cancel_scope.cancel()


async def test_a_visitor_page_change_resumes_its_session_and_operators_see_the_move(
    autojump_clock,
):
    app = create_app(virtual_config())
    async with served(app) as server, trio.open_nursery() as nursery:
        alice, visitor, ring = await ringing(server, nursery, url="https://shop/a")
        await alice.send_message(p.encode(p.Accept(id="a", call=ring["call"])))
        got = await frames(visitor, kind("room_opened"))
        seen = [f for f in got if f.get("seq")]
        session = app.chat.hub.state.sessions
        sid = next(s.id for s in session.values() if s.role == "visitor")
        token = session[sid].resume_token
        await visitor.aclose()  # the page unloads; the next page of the site loads
        await trio.sleep(2)
        hello = p.VisitorHello(
            page_instance="pg1",
            url="https://shop/b",
            title="Checkout",
            session=sid,
            resume_token=token,
            last_seq=max(f["seq"] for f in seen),
            **VISITOR,
        )
        again = await server.open_ws(nursery, "/ws/visitor", hello)
        welcome = (await frames(again, kind("welcome")))[-1]
        assert welcome["resumed"] and welcome["session"] == sid
        got = await frames(alice, kind("visitor_arrived"))
        assert got[-1]["visitor"]["url"] == "https://shop/b"
        assert not [f for f in got if f["type"] in ("visitor_left", "room_closed")]
        await trio.sleep(40)  # past the grace period: the chat is still on
        assert [r.visitor_id for r in app.chat.hub.state.rooms.values()] == [welcome["visitor_id"]]
        nursery.cancel_scope.cancel()


async def test_past_its_ceiling_the_server_sheds_requests_with_an_answer(autojump_clock):
    """A store that takes 50 ms a write, 20 clients sending as fast as they can: requests
    that wait longer than max_wait are answered server_busy (unsequenced, with
    retry_after) and not applied; every request is answered; nothing acknowledged is
    missing from the store."""
    config = dataclasses.replace(
        virtual_config(),
        limits=Limits(frame_rate=0, connections_per_address=0),
        store_runner=slow_store(random.Random(1), 0.1),
        max_wait=0.2,
        queue_limit=100,
        demo_settings=Settings(max_chats=50),
    )
    app = create_app(config)
    async with served(app) as server, trio.open_nursery() as nursery:
        alice, _ = await console(server, nursery)
        answers, texts, sent, waited = {}, {}, {}, {}

        async def chatter(i):
            visitor, _ = await visitor_page(server, nursery, page=f"pg{i}")
            await visitor.send_message(p.encode(p.PlaceCall(id="c")))
            room = None
            while room is None:
                f = json.loads(await visitor.get_message())
                room = f["room"]["room"] if f["type"] == "room_opened" else None
            for n in range(30):
                texts[f"{i}-{n}"] = f"m {i} {n}"
                sent[f"{i}-{n}"] = trio.current_time()
                await visitor.send_message(
                    p.encode(p.Send(id=f"{i}-{n}", room=room, text=f"m {i} {n}"))
                )
            while len([k for k in answers if k.startswith(f"{i}-")]) < 30:
                f = json.loads(await visitor.get_message())
                if f["type"] in ("ok", "error"):
                    answers[f["ref"]] = f
                    waited[f["ref"]] = trio.current_time() - sent[f["ref"]]

        async def accept_all():
            while True:
                f = json.loads(await alice.get_message())
                if f["type"] == "ring" or f.get("code") == "server_busy":  # shed too: again
                    await trio.sleep(f.get("retry_after", 0))
                    call = f.get("call") or f["ref"]
                    await alice.send_message(p.encode(p.Accept(id=call, call=call)))

        nursery.start_soon(accept_all)
        async with trio.open_nursery() as crowd:
            for i in range(20):
                crowd.start_soon(chatter, i)
        await trio.sleep(1)  # every write done
        stored = {r[0] for r in app.chat.store._db.execute("SELECT text FROM messages")}
        nursery.cancel_scope.cancel()
    busy = [a for a in answers.values() if a["type"] == "error"]
    ok = [ref for ref, a in answers.items() if a["type"] == "ok"]
    assert len(answers) == 600 and busy and ok
    assert {b["code"] for b in busy} == {"server_busy"}
    assert all("seq" not in b and b["retry_after"] > 0 for b in busy)
    # bounded: a request waits at most max_wait, then its batch (a write of up to 0.1 s)
    assert max(waited.values()) < 0.2 + 2 * 0.1 + 0.05
    assert stored == {texts[ref] for ref in ok}


async def test_a_request_the_server_fails_to_apply_is_answered_internal(
    autojump_clock, monkeypatch, caplog
):
    from server.core import requests

    def broken(ctx, session, request):
        raise RuntimeError("a bug")

    monkeypatch.setitem(requests.OPERATOR, p.SetStatus, broken)
    async with served() as server, trio.open_nursery() as nursery:
        alice, _ = await console(server, nursery)
        await alice.send_message(p.encode(p.SetStatus(id="s", status="away")))
        error = (await frames(alice, kind("error", ref="s")))[-1]
        assert error["code"] == "internal" and "seq" not in error
        await alice.send_message(p.encode(p.Ping()))  # and the connection serves on
        await frames(alice, kind("pong"))
        nursery.cancel_scope.cancel()
    assert "a change failed" in caplog.text
