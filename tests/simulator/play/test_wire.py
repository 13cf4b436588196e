"""The simulator's protocol session (simulator/play/actors/wire.py) against the real app."""

import random

import trio

from server import demo
from server import protocol as p
from server.app import create_app
from server.limits import Limits
from simulator.network.link import spec as link_spec
from simulator.network.link.path import Path
from simulator.play.actors.wire import Wire
from tests.support.virtual_server import HOST, served, virtual_config


def visitor_wire(server, link, page="pg", **options):
    """A visitor page's wire to the served app over ``link``; ``options`` go to Wire."""
    options = {"on_event": lambda event: None, "on_state": lambda state, code: None} | options
    return Wire(
        f"ws://{HOST}:80",
        "visitor",
        lambda: p.VisitorHello(
            account=demo.ACCOUNT, button=demo.BUTTON, page_instance=page, url="/"
        ),
        Path(link_spec.parse(link), 1),
        random.Random(page),
        precise=False,
        connect=lambda host, port: server.net.connect(host, port, "10.0.0.2"),
        **options,
    )


async def test_a_clean_link_no_fault_can_reach_is_left_out(autojump_clock):
    """Nothing to emulate and nothing that will change it: the socket as it is (no link
    tasks per connection); anything else keeps its link."""
    cases = [
        ("latency=0ms", True, False),  # clean, no link faults in the run: bare
        ("latency=20ms", True, True),  # something to emulate
        ("latency=0ms", False, True),  # clean, but a fault may change it later
    ]
    async with served() as server:
        for i, (link, bare_when_clean, has_link) in enumerate(cases):
            welcomed = trio.Event()
            wire = visitor_wire(
                server,
                link,
                f"pg{i}",
                on_event=lambda event, welcomed=welcomed: (
                    welcomed.set() if isinstance(event, p.Welcome) else None
                ),
                bare_when_clean=bare_when_clean,
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(wire.run)
                await welcomed.wait()
                assert (wire.link is not None) == has_link, link
                reply = await wire.request(p.PlaceCall(id=""))  # the session works either way
                assert isinstance(reply, p.Ok)
                nursery.cancel_scope.cancel()


async def test_a_server_gone_silent_is_found_dead_in_documented_time(autojump_clock):
    """A half-open connection seen from the client: nothing more arrives (the link is cut,
    no reset). The session is given up within the dead-peer timeout of the last frame
    heard, and the wire connects again."""
    heard: list[float] = []
    states: list[tuple[str, float]] = []

    async with served() as server:
        wire = visitor_wire(
            server,
            "latency=10ms",
            on_state=lambda state, code: states.append((state, trio.current_time())),
            on_frame=lambda direction, message: (
                heard.append(trio.current_time()) if direction == "in" else None
            ),
        )

        async def until(state):
            with trio.fail_after(120):
                while state not in [s for s, _ in states]:
                    await trio.sleep(0.1)
            return next(t for s, t in states if s == state)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wire.run)
            await until("connected")
            assert wire.link is not None
            wire.link.cut(3600)  # silence both ways, no reset
            last_heard = heard[-1]
            lost = await until("lost")
            assert p.DEAD_PEER_TIMEOUT <= lost - last_heard <= p.DEAD_PEER_TIMEOUT + 2
            await until("resumed")  # on a new link, the same session
            nursery.cancel_scope.cancel()


async def test_a_resume_past_the_replay_buffer_is_logged_resynced(autojump_clock):
    """Away while the server queued more events than it keeps for a resume (an operator
    going away and back flips the visitors' availability each time): the session resumes,
    and the snapshot of now that comes instead of the events is logged ``resynced``."""
    states: list[str] = []
    config = virtual_config()
    config.limits = Limits(frame_rate=0)  # the operator flips its status as fast as it can
    async with served(create_app(config)) as server:
        wire = visitor_wire(server, "latency=10ms", on_state=lambda s, code: states.append(s))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wire.run)
            while "connected" not in states:
                await trio.sleep(0.1)
            # found dead after 30 s of silence; the session lives its 30 s grace
            wire.path.cut(trio.current_time(), 40)  # for the connections to come
            wire.link.cut(40)  # and the live one
            operator = await server.open_ws(
                nursery, "/ws/operator", p.OperatorHello(token=server.token)
            )
            for i in range(p.REPLAY_BUFFER // 2 + 10):  # two availability events a round
                for status in ("away", "online"):
                    await operator.send_message(
                        p.encode(p.SetStatus(id=f"r{i}{status}", status=status))
                    )
            with trio.fail_after(120):
                while "resynced" not in states:
                    await trio.sleep(0.1)
            assert states[-3:] == ["lost", "resumed", "resynced"]
            nursery.cancel_scope.cancel()
