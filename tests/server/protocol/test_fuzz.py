"""Hostile input: arbitrary frames never crash decoding or a connection (Hypothesis, and
end to end through Hypercorn on the virtual network)."""

import json

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from server import protocol as p
from tests.support.virtual_server import served

TYPES = [*sorted(p.INBOUND_TAGS["operator"] | p.INBOUND_TAGS["visitor"]), "", "nope"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
frames = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES)},
        optional={
            "id": json_values,
            "call": json_values,
            "room": json_values,
            "text": json_values,
            "seq": json_values,
            "status": json_values,
            "token": json_values,
        },
    ).map(json.dumps),
)


@settings(max_examples=400, deadline=None)
@given(role=st.sampled_from(["operator", "visitor"]), frame=frames)
def test_any_frame_decodes_or_raises_a_documented_frame_error(role, frame):
    try:
        p.decode_inbound(role, frame)
    except p.FrameError as exc:
        assert exc.code in p.ERROR_CODES
        assert exc.ref is None or isinstance(exc.ref, str)


HOSTILE = [
    b"\x00\xff\xfe",
    "not json",
    "[]",
    "null",
    '{"type": 5}',
    '{"type": "accept"}',
    '{"type": "accept", "id": "r1", "call": {"$ne": 1}}',
    '{"type": "send", "id": "r2", "room": "room_nope", "text": "hi"}',
    '{"type": "ack", "seq": 99999999999999999999999}',
    '{"type": "hello", "token": "x"}',
    json.dumps({"type": "send", "id": "r3", "room": "r", "text": "x" * (p.MAX_TEXT_CHARS + 1)}),
    '{"type": "set_status", "id": "r4", "status": "online", "extra": [1, 2, 3]}',  # ignored
]
ANSWERED_WITHOUT_ERROR = 1  # the last: unknown fields are ignored, as docs/protocol.md says


async def test_hostile_frames_get_error_frames_and_the_connection_lives_on(autojump_clock):
    async with served() as server, trio.open_nursery() as ws_nursery:
        ws = await server.open_ws(ws_nursery, "/ws/operator", p.OperatorHello(token=server.token))
        errors = []
        for frame in HOSTILE:
            await ws.send_message(frame)
        await ws.send_message(p.encode(p.SetStatus(id="last", status="away")))
        while True:
            event = json.loads(await ws.get_message())
            if event["type"] == "error":
                errors.append(event)
            if event["type"] == "ok" and event["ref"] == "last":
                break  # still served, in order, after every bad frame
        assert len(errors) == len(HOSTILE) - ANSWERED_WITHOUT_ERROR
        assert all(e["code"] in p.ERROR_CODES for e in errors)
        assert {e.get("ref") for e in errors} >= {"r1", "r2", "r3"}
        await ws.aclose()
