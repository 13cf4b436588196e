"""What every wire message is made of: the field types, the base of all messages, and the
two messages both sides send (``ping`` and ``pong``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .limits import MAX_TEXT_CHARS

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_CHARS)]
#: JSON-safe: every seq a client sends fits a double exactly (2**53 - 1 at most)
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]
Role = Literal["operator", "visitor"]
Status = Literal["online", "away", "offline"]


class WireMessage(msgspec.Struct, tag_field="type", omit_defaults=True, gc=False):
    """Base of every wire message. Messages are plain data, never in a reference cycle:
    ``gc=False`` keeps the ones held in replay buffers out of every garbage collection."""


class Ping(WireMessage, tag="ping"):
    pass


class Pong(WireMessage, tag="pong"):
    pass
