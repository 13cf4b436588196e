"""Hand-made event logs that several report tests read: a race for one call between two
consoles (``race``), and a run of three calls, one of them long for reasons the report must
name (``log``)."""

from simulator.record import events as ev


def race(acceptor_stop=1.2, other_stop=1.5):
    """A call ringing at two consoles; op1 clicks at 1.0 and wins; the server decides at 1.1."""
    return [
        ev.CallPlaced(t=0.0, actor="v1", call="c1"),
        ev.RingStart(t=0.1, operator="op1", call="c1"),
        ev.RingStart(t=0.1, operator="op2", call="c1"),
        ev.ClickAccept(t=1.0, operator="op1", call="c1"),
        ev.ServerDecision(t=1.1, call="c1", operator="op1", reason="accepted"),
        ev.ServerDecision(t=1.1, call="c1", operator="op2", reason="accepted_elsewhere"),
        ev.RingStopLogged(t=acceptor_stop, operator="op1", call="c1", reason="accepted"),
        ev.AcceptResult(t=acceptor_stop, operator="op1", call="c1", won=True, room="r1"),
        ev.RingStopLogged(t=other_stop, operator="op2", call="c1", reason="accepted_elsewhere"),
        ev.CallEnded(t=1.2, actor="v1", call="c1", outcome="accepted"),
    ]


ALICE, BOB, CAROL = "op_a", "op_b", "op_c"


def operator(actor, name, link="mobile"):
    return ev.ActorInfo(
        t=0,
        actor=actor,
        name=name,
        role="operator",
        group=name.partition("[")[0],
        link=link,
        floor_up=0.15,
        floor_down=0.15,
    )


def visitor(i):
    name = f"shoppers[{i}]"
    return ev.ActorInfo(
        t=0, actor=name, name=name, role="visitor", group="shoppers", link="broadband"
    )


def short_call(call, visitor, t):
    """A clean call: rings, alice accepts, everything stops in 100 ms."""
    return [
        ev.CallPlaced(t=t, actor=visitor, call=call),
        ev.RingStart(t=t + 0.1, operator=ALICE, call=call),
        ev.ClickAccept(t=t + 1, operator=ALICE, call=call),
        ev.ServerReceived(t=t + 1.05, call=call, operator=ALICE),
        ev.ServerDecision(t=t + 1.05, call=call, operator=ALICE, reason="accepted"),
        ev.RingStopLogged(t=t + 1.1, operator=ALICE, call=call, reason="accepted"),
        ev.AcceptResult(t=t + 1.1, operator=ALICE, call=call, won=True, room=f"r-{call}"),
    ]


def long_call():
    """Call #3 (shoppers[2]): alice clicks at 12.4 and wins after two uplink stalls (her
    console rings 4.1 s more); bob clicks late and loses; carol's path goes down."""
    c = "c3"
    return [
        ev.CallPlaced(t=10.0, actor="shoppers[2]", call=c),
        *(ev.RingStart(t=10.1, operator=op, call=c) for op in (ALICE, BOB, CAROL)),
        ev.ClickAccept(t=12.4, operator=ALICE, call=c),
        ev.LinkStall(t=12.4, actor=ALICE, dir="up", seconds=1.2, retransmissions=2),
        ev.ClickAccept(t=13.1, operator=BOB, call=c),
        ev.LinkStall(t=13.7, actor=ALICE, dir="up", seconds=2.4, retransmissions=3),
        ev.LinkStall(t=30.0, actor=ALICE, dir="up", seconds=5.0),  # long after: not a cause
        ev.FaultApplied(t=16.0, action="outage", target="operators.carol", actors=1),
        ev.LinkDown(t=16.0, actor=CAROL, seconds=3.0, cause="fault"),
        ev.ConnectionLogged(t=16.1, actor=CAROL, state="lost"),
        ev.ServerReceived(t=16.2, call=c, operator=ALICE),
        ev.ServerDecision(t=16.2, call=c, operator=ALICE, reason="accepted"),
        ev.ServerDecision(t=16.2, call=c, operator=BOB, reason="accepted_elsewhere"),
        ev.ServerDecision(t=16.2, call=c, operator=CAROL, reason="accepted_elsewhere"),
        ev.ServerReceived(t=16.3, call=c, operator=BOB),
        ev.RingStopLogged(t=16.5, operator=ALICE, call=c, reason="accepted"),
        ev.AcceptResult(t=16.5, operator=ALICE, call=c, won=True, room="r-c3"),
        ev.LinkStall(t=16.3, actor=BOB, dir="down", seconds=1.5),
        ev.RingStopLogged(t=18.0, operator=BOB, call=c, reason="accepted_elsewhere"),
        ev.AcceptResult(t=18.0, operator=BOB, call=c, won=False),
        ev.ConnectionLogged(t=19.1, actor=CAROL, state="resumed"),
        ev.RingStopLogged(t=19.2, operator=CAROL, call=c, reason="accepted_elsewhere"),
    ]


def log():
    return [
        operator(ALICE, "alice[0]"),
        operator(BOB, "bob[1]"),
        operator(CAROL, "carol[2]"),
        *(visitor(i) for i in range(3)),
        *short_call("c1", "shoppers[0]", 1.0),
        *short_call("c2", "shoppers[1]", 4.0),
        *long_call(),
    ]
