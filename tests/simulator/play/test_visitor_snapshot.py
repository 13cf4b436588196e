"""A virtual visitor's page taking a later snapshot (a resume past the replay buffer, or a
server restart): what it missed is in the snapshot, and it is counted as the pages show it."""

from server import protocol as p
from simulator.play.actors.stage import Stage
from simulator.play.actors.visitor import VirtualVisitor
from simulator.record import events as ev

VISITOR = p.VisitorInfo(
    id="v_1", url="/", title="Shop", referrer="", arrived_at=0.0, last_seen=0.0, pages=1
)
OPERATOR = p.Party(role="operator", id="op_1", name="Alice")


def item(n: int) -> p.MessageItem:
    return p.MessageItem(room="r1", n=n, sender=OPERATOR, text=f"[m-{n}] hello", at=0.0)


def page_in_room(logged: list[ev.Event]) -> VirtualVisitor:
    """A page past its first snapshot, in room r1, that has shown message 1 (a page built
    without its network: only what taking an event uses)."""
    stage = Stage(
        url="http://127.0.0.1", t0=0.0, seed=1, log=logged.append, link_for=None,
        precise=False, server=None, net=None,
    )  # fmt: skip
    page = VirtualVisitor.__new__(VirtualVisitor)
    page.stage, page.name, page.room = stage, "crowd[0]", "r1"
    page.seen, page._arrived = {("r1", 1)}, True
    return page


def snapshot(*rooms: p.RoomInfo) -> p.VisitorSnapshot:
    return p.VisitorSnapshot(visitor_id="v_1", available=True, rooms=list(rooms), seq=50)


async def test_a_snapshot_with_its_room_shows_the_messages_it_missed():
    logged: list[ev.Event] = []
    page = page_in_room(logged)
    room = p.RoomInfo(room="r1", visitor=VISITOR, operators=[OPERATOR], messages=[item(1), item(2)])
    page._expand(snapshot(room))
    received = [(e.mid, e.n) for e in logged if isinstance(e, ev.MessageReceived)]
    assert received == [("m-2", 2)]  # the one it had shown is not counted again
    assert page.room == "r1"


async def test_a_snapshot_without_its_room_closes_it():
    page = page_in_room([])
    missed = page._expand(snapshot())
    assert [type(e) for e in missed] == [p.VisitorSnapshot, p.RoomClosed]
    assert missed[1].reason == "gone"
