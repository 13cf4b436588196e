"""`ringlab demo`: one scripted call end to end over real WebSockets.

Starts the reference server on a free loopback port, logs in the two demo
operators, lets a visitor call, and prints every step with its time. (The
scenario runner replaces this with a full scenario and report.)
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from server import demo
from server import protocol as p
from server.app import ServerConfig
from server.serve import open_server

from ..play.client import login, open_client


async def run_demo(say: Callable[[str], None]) -> None:
    start = trio.current_time()

    def step(text: str) -> None:
        say(f"{(trio.current_time() - start) * 1000:8.1f} ms  {text}")

    async with open_server(ServerConfig(db=":memory:")) as server:
        step(f"reference server listening on {server.url}")
        creds = [await login(server.url, name, pw) for name, _, pw, _ in demo.OPERATORS]
        hellos = [p.OperatorHello(token=c["token"]) for c in creds]
        async with (
            open_client(server.ws_url, "operator", hellos[0]) as alice,
            open_client(server.ws_url, "operator", hellos[1]) as bob,
        ):
            ops = [("Alice", alice), ("Bob", bob)]
            step("Alice and Bob are online in their consoles")
            hello = p.VisitorHello(
                account=demo.ACCOUNT,
                button=demo.BUTTON,
                page_instance="demo-page-1",
                url="http://shop.example/pricing",
                title="Pricing",
            )
            async with open_client(server.ws_url, "visitor", hello) as visitor:
                step("a visitor opens the pricing page and clicks the chat button")
                call = (await visitor.request(p.PlaceCall(id=visitor.next_id()))).call
                for name, op in ops:
                    ring = await op.next(p.Ring)
                    step(f"{name}'s console rings for call {ring.call[:12]}…")
                reply = await alice.request(p.Accept(id=alice.next_id(), call=call or ""))
                step("Alice clicks Accept Call; the server confirms")
                for name, op in ops:
                    stop = await op.next(p.RingStop)
                    step(f"{name}'s console stops ringing ({stop.reason})")
                room = reply.room or ""
                await visitor.next(p.RoomOpened)
                await visitor.request(
                    p.Send(id=visitor.next_id(), room=room, text="Hi! Do you ship to Norway?")
                )
                got = await alice.next(p.ChatMessage)
                step(f"Alice reads #{got.n}: {got.text!r}")
                await alice.request(p.Send(id=alice.next_id(), room=room, text="Yes, in 3-5 days."))
                got = await visitor.next(p.ChatMessage)
                got = await visitor.next(p.ChatMessage)
                step(f"the visitor reads #{got.n}: {got.text!r}")
                await alice.request(p.Close(id=alice.next_id(), room=room))
                closed = await visitor.next(p.RoomClosed)
                step(f"Alice clicks X; the visitor sees the chat end ({closed.reason})")
        step("done: one call rang at both consoles, one accept won, messages in order")
