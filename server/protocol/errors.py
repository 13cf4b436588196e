"""The documented error codes, and the error every decoding failure raises."""

from __future__ import annotations

from .limits import MAX_FRAME_BYTES

ERROR_CODES: dict[str, str] = {
    "bad_frame": "The frame is not a JSON object (or not UTF-8 text).",
    "too_large": f"The frame is larger than {MAX_FRAME_BYTES} bytes.",
    "unknown_type": "The `type` is not a message this endpoint accepts.",
    "invalid_field": "A field is missing, of the wrong type or out of range.",
    "not_authenticated": "The first frame must be `hello`; or `hello` was sent twice.",
    "auth_failed": "The token, account or button is not valid.",
    "forbidden": "The object belongs to another account, room or operator.",
    "not_found": "The call, room, visitor, operator or invitation does not exist.",
    "illegal_state": "The object is not in a state that allows this request.",
    "limit_reached": "A configured limit (such as max concurrent chats) refuses it.",
    "rate_limited": "More requests than the connection's rate allows; send it again later.",
    "server_busy": "The server has more requests waiting than it can answer in time; send it "
    "again later.",
    "internal": "The server failed; the request may be retried.",
}


class FrameError(Exception):
    """A frame that cannot be accepted; ``code`` is a documented error code."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
