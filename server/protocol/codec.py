"""Frames to messages and back.

Decoding a client's frame never raises anything but :class:`FrameError`, whose ``code`` is
one of the documented error codes, so a connection handler can always answer a bad frame
with an error frame.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .base import Role
from .errors import FrameError
from .events import OperatorEvent, VisitorEvent
from .inbound import OperatorInbound, VisitorInbound
from .limits import MAX_FRAME_BYTES

_encoder = msgspec.json.Encoder()
_raw = msgspec.json.Decoder(type=dict[str, Any])
_inbound_types: dict[Role, Any] = {"operator": OperatorInbound, "visitor": VisitorInbound}
_inbound_decoders: dict[Role, msgspec.json.Decoder[Any]] = {
    role: msgspec.json.Decoder(union) for role, union in _inbound_types.items()
}
#: role -> the ``type`` of every frame its endpoint accepts
INBOUND_TAGS: dict[Role, frozenset[str]] = {
    role: frozenset(cls.__struct_config__.tag for cls in union.__args__)
    for role, union in _inbound_types.items()
}
_event_decoders: dict[Role, msgspec.json.Decoder[Any]] = {
    "operator": msgspec.json.Decoder(OperatorEvent),
    "visitor": msgspec.json.Decoder(VisitorEvent),
}
_batch_decoders: dict[Role, msgspec.json.Decoder[Any]] = {
    "operator": msgspec.json.Decoder(list[OperatorEvent] | OperatorEvent),
    "visitor": msgspec.json.Decoder(list[VisitorEvent] | VisitorEvent),
}


def encode(message: msgspec.Struct) -> str:
    """Encode any wire message to the text of one frame."""
    return _encoder.encode(message).decode()


def decode_inbound(role: Role, frame: str | bytes) -> Any:
    """Decode one client frame for the ``role`` endpoint.

    Raises :class:`FrameError` with ``bad_frame``, ``too_large``,
    ``unknown_type`` or ``invalid_field`` (the message names the field); the
    error's ``ref`` is the frame's ``id`` when one could be read.
    """
    if not isinstance(frame, str):
        raise FrameError("bad_frame", "frames are UTF-8 text frames; this one was binary")
    size = len(frame.encode())
    if size > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frame is {size} bytes; the limit is {MAX_FRAME_BYTES}")
    try:  # one pass for a good frame; a bad one is read again for a precise error
        return _inbound_decoders[role].decode(frame)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        raw = _raw.decode(frame)
    except msgspec.DecodeError as exc:
        raise FrameError("bad_frame", f"frame is not a JSON object: {exc}") from None
    except RecursionError:  # msgspec's own depth guard: a 2 KB frame of 1,000 '['
        raise FrameError("bad_frame", "frame is nested too deeply") from None
    ref = raw.get("id") if isinstance(raw.get("id"), str) else None
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise FrameError("invalid_field", "`type` is missing or not a string", ref)
    if kind not in INBOUND_TAGS[role]:
        known = ", ".join(sorted(INBOUND_TAGS[role]))
        raise FrameError("unknown_type", f"unknown type {kind!r}; expected one of: {known}", ref)
    try:
        return msgspec.convert(raw, _inbound_types[role])
    except msgspec.ValidationError as exc:
        raise FrameError("invalid_field", f"{kind}: {exc}", ref) from None


def decode_event(role: Role, frame: str | bytes) -> Any:
    """Decode one server frame as a client of the ``role`` endpoint sees it."""
    return _event_decoders[role].decode(frame)


def decode_events(role: Role, frame: str | bytes) -> list[Any]:
    """The events of one server frame: one, or several in a JSON array (a client that
    said ``hello.batch``)."""
    decoded = _batch_decoders[role].decode(frame)
    return decoded if isinstance(decoded, list) else [decoded]


def with_seq(message: Any, seq: int) -> Any:
    """Return ``message`` stamped with sequence number ``seq``."""
    return msgspec.structs.replace(message, seq=seq)
