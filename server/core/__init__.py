"""The sans-I/O core of the reference chat server.

Pure state machines: the adapter feeds events with the current time and
carries out the effects returned. See ``docs/protocol.md`` for the behaviour
seen on the wire and :mod:`server.core.machines` for the transition tables.
"""

from .effects import CancelTimer, CloseSession, Deliver, Effect, Persist, StartTimer
from .errors import (
    AuthFailed,
    CoreError,
    Forbidden,
    IllegalTransition,
    InvalidRequest,
    LimitReached,
    NotFound,
)
from .hub import Hub
from .ids import IdSource, SecretIds, SeededIds
from .lifecycle import Lifecycle
from .machines import CallState, InvitationState, RoomState
from .model import (
    Account,
    Binding,
    Button,
    Call,
    Conflict,
    Invitation,
    Membership,
    Message,
    OfflineMessage,
    Operator,
    Room,
    Settings,
    Timings,
)
from .passwords import hash_password, verify_password

__all__ = [
    "Account",
    "AuthFailed",
    "Binding",
    "Button",
    "Call",
    "CallState",
    "CancelTimer",
    "CloseSession",
    "Conflict",
    "CoreError",
    "Deliver",
    "Effect",
    "Forbidden",
    "Hub",
    "IdSource",
    "IllegalTransition",
    "InvalidRequest",
    "Invitation",
    "InvitationState",
    "Lifecycle",
    "LimitReached",
    "Membership",
    "Message",
    "NotFound",
    "OfflineMessage",
    "Operator",
    "Persist",
    "Room",
    "RoomState",
    "SecretIds",
    "SeededIds",
    "Settings",
    "StartTimer",
    "Timings",
    "hash_password",
    "verify_password",
]
