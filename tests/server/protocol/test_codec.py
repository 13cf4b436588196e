"""Wire messages: round trips and every kind of malformed frame."""

import json

import msgspec
import pytest

from server import protocol as p

INBOUND = [
    ("operator", p.OperatorHello(token="tok", session="s1", last_seq=4)),
    ("operator", p.SetStatus(id="1", status="away")),
    ("operator", p.Accept(id="1", call="c")),
    ("operator", p.Decline(id="1", call="c")),
    ("operator", p.InviteVisitor(id="1", visitor="v", text="hi")),
    ("operator", p.CancelInvitation(id="1", invitation="i")),
    ("operator", p.InviteOperator(id="1", room="r", operator="o")),
    ("operator", p.Join(id="1", room="r")),
    ("operator", p.DeclineJoin(id="1", room="r")),
    ("operator", p.Ack(seq=3)),
    ("operator", p.Ping()),
    ("visitor", p.VisitorHello(account="a", button="b", page_instance="pi", url="u")),
    ("visitor", p.PlaceCall(id="1")),
    ("visitor", p.Hangup(id="1", call="c")),
    ("visitor", p.Send(id="1", room="r", text="hello")),
    ("visitor", p.Typing(room="r", on=True)),
    ("visitor", p.Close(id="1", room="r")),
    ("visitor", p.InvitationReply(id="1", invitation="i", accept=False)),
    ("visitor", p.LeaveMessage(id="1", name="n", email="e", text="t")),
    ("visitor", p.Bye()),
    ("visitor", p.Pong()),
]


@pytest.mark.parametrize(("role", "message"), INBOUND)
def test_inbound_round_trip(role, message):
    frame = p.encode(message)
    assert json.loads(frame)["type"]
    assert p.decode_inbound(role, frame) == message


def test_events_round_trip_with_from_field():
    party = p.Party(role="visitor", id="v1", name="Visitor")
    msg = p.ChatMessage(room="r", n=1, sender=party, text="hi", at=1.5, seq=7)
    frame = p.encode(msg)
    assert json.loads(frame)["from"] == {"role": "visitor", "id": "v1", "name": "Visitor"}
    assert p.decode_event("visitor", frame) == msg
    ring = p.Ring("c", p.VisitorInfo("v", "u", "t", "", 1, 2, 1), "b", "Main", 1.0, seq=2)
    assert p.decode_event("operator", p.encode(ring)) == ring


@pytest.mark.parametrize(
    ("frame", "code", "needle"),
    [
        ("not json", "bad_frame", "not a JSON object"),
        ("[1, 2]", "bad_frame", "not a JSON object"),
        ('{"id": "1"}', "invalid_field", "`type`"),
        ('{"type": "fly", "id": "9"}', "unknown_type", "'fly'"),
        ('{"type": "accept", "id": "1"}', "invalid_field", "`call`"),
        ('{"type": "accept", "id": "1", "call": 5}', "invalid_field", "$.call"),
        ('{"type": "set_status", "id": "1", "status": "busy"}', "invalid_field", "$.status"),
        ('{"type": "ack", "seq": -1}', "invalid_field", "$.seq"),
        ('{"type": "send", "id": "1", "room": "r", "text": ""}', "invalid_field", "$.text"),
    ],
)
def test_malformed_frames_raise_frame_errors_naming_the_problem(frame, code, needle):
    with pytest.raises(p.FrameError) as info:
        p.decode_inbound("operator", frame)
    assert info.value.code == code
    assert needle in info.value.message
    assert info.value.code in p.ERROR_CODES


def test_error_keeps_the_request_id_when_it_can_be_read():
    with pytest.raises(p.FrameError) as info:
        p.decode_inbound("operator", '{"type": "accept", "id": "r7"}')
    assert info.value.ref == "r7"


def test_oversized_frames_and_texts():
    big = json.dumps({"type": "ping", "pad": "x" * p.MAX_FRAME_BYTES})
    with pytest.raises(p.FrameError) as info:
        p.decode_inbound("visitor", big)
    assert info.value.code == "too_large"
    long_text = p.encode(p.Send(id="1", room="r", text="y" * (p.MAX_TEXT_CHARS + 1)))
    with pytest.raises(p.FrameError) as info:
        p.decode_inbound("visitor", long_text)
    assert info.value.code == "invalid_field"


def test_endpoints_accept_only_their_own_messages():
    with pytest.raises(p.FrameError) as info:
        p.decode_inbound("visitor", p.encode(p.Accept(id="1", call="c")))
    assert info.value.code == "unknown_type"


def test_every_wire_struct_encodes():
    for cls in (p.Welcome, p.Error, p.Ok):
        assert issubclass(cls, msgspec.Struct)
    assert "seq" not in json.loads(p.encode(p.Pong()))


def test_a_long_page_address_is_cut_not_refused():
    frame = p.encode(
        p.VisitorHello(
            account="a", button="b", page_instance="pg", url="u" * 5000, title="t" * 3000
        )
    )
    hello = p.decode_inbound("visitor", frame)
    assert (len(hello.url), len(hello.title)) == (p.MAX_PAGE_CHARS, p.MAX_PAGE_CHARS)
