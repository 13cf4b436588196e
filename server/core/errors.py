"""Exceptions raised by the sans-I/O core.

Every error carries a stable ``code`` from the protocol's error list
(``docs/protocol.md``) so the adapter can turn it into an error frame without
guessing.
"""

from __future__ import annotations


class CoreError(Exception):
    """A request the core refuses; ``code`` is the wire error code."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CoreError):
    """The call, room, visitor, operator or invitation does not exist (for this client)."""

    code = "not_found"


class Forbidden(CoreError):
    """The client may not act on this object (not its account, not its room...)."""

    code = "forbidden"


class LimitReached(CoreError):
    """A configured limit (max concurrent chats, ...) refuses the request."""

    code = "limit_reached"


class InvalidRequest(CoreError):
    """The request is well-formed but its content is unacceptable."""

    code = "invalid_field"


class IllegalTransition(CoreError):
    """An event that the state machine's transition table has no entry for.

    Named after h11's ``LocalProtocolError``: the message says which machine,
    which role sent the event, the state it was in and the event itself.
    """

    code = "illegal_state"

    def __init__(self, machine: str, role: str, state: str, event: str) -> None:
        self.machine = machine
        self.role = role
        self.state = state
        self.event = event
        super().__init__(f"{role} cannot '{event}' a {machine} in state '{state}'")


class AuthFailed(CoreError):
    """The token, account or button presented in ``hello`` is not valid."""

    code = "auth_failed"
