"""The scenario format: the tables of a scenario file, as msgspec structs.

Every key is documented in ``docs/scenarios.md``; ``ringlab schema`` prints the
JSON Schema so editors can check files as they are typed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .dist import Dist, Duration

Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Count = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


def _dist(text: str) -> Any:
    # a factory, not a value: msgspec's JSON Schema cannot encode custom-typed defaults
    return msgspec.field(default_factory=lambda: Dist.parse(text))


def _duration(text: str) -> Any:
    return msgspec.field(default_factory=lambda: Duration.parse(text))


class Server(msgspec.Struct, forbid_unknown_fields=True):
    """The server under test: the embedded reference server (its settings), or ``target``."""

    # http(s)://host:port of a running server
    target: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+/?$")] | None = None
    account: str = "demo"  # the account the visitors' button code names
    button: str = "btn_main"  # the chat button of that account
    admin_login: str = "alice"  # creates the virtual operators (the demo admin by default)
    admin_password: str = "alice-demo"
    ring_timeout: Duration = _duration("120s")
    max_chats: Annotated[int, msgspec.Meta(ge=1)] = 5
    binding: Literal["legacy", "strict"] = "legacy"


class OperatorGroup(msgspec.Struct, forbid_unknown_fields=True):
    """Virtual operators that behave alike."""

    name: Name
    count: Count = 1
    link: str = "lan"  # a name under [links], a profile, or a compact link spec
    policy: Literal["confirm", "optimistic"] = "confirm"
    reaction: Dist = _dist("1s..3s")  # from ring start to the Accept click
    decline: Probability = 0.0  # chance of clicking X on a ringing tab instead
    reply: Dist = _dist("2s..5s")  # think time before each answer
    replies: Annotated[int, msgspec.Meta(ge=0)] = 2  # answers per visitor message burst
    close_after: Dist = _dist("20s..40s")  # chat length before X
    invite_visitors: Probability = 0.0  # chance, per visitor who arrives, of an invitation
    invite_operator: Probability = 0.0  # chance, per chat, of inviting a colleague in
    max_chats: Annotated[int, msgspec.Meta(ge=1)] | None = None  # leaves rings unanswered beyond
    status: list[tuple[Duration, Literal["online", "away"]]] = []  # [[at, status], ...]


class VisitorGroup(msgspec.Struct, forbid_unknown_fields=True):
    """Virtual visitors that behave alike, arriving on an open-loop timetable."""

    name: Name
    count: Count = 1
    arrival: Literal["start", "uniform", "poisson", "ramp"] = "uniform"
    over: Duration | None = None  # arrivals spread over this window (default: the run)
    link: str = "lan"
    code: Literal["correct", "pinned", "cached", "wrong_account"] = "correct"
    call: Probability = 1.0  # chance of clicking the chat button
    patience: Dist = _dist("60s")  # hangs up after waiting this long
    messages: Annotated[int, msgspec.Meta(ge=0)] = 3
    think: Dist = _dist("2s..6s")  # between messages
    accept_invitation: Probability = 0.5
    leave_message: Probability = 1.0  # when the call is missed
    stay: Dist = _dist("2m")  # on the last page, when not chatting
    pages: Annotated[int, msgspec.Meta(ge=1)] = 1  # pages browsed (each a new page instance)
    browse: Dist = _dist("10s..30s")  # on each page before the last


class Fault(msgspec.Struct, forbid_unknown_fields=True):
    """Something that happens to links or the server at a set time."""

    at: Duration
    action: Literal["outage", "degrade", "restore", "reset", "server_restart"]
    target: str = ""  # operators.NAME, operators.NAME[i], visitors.NAME, visitors.NAME[i]
    duration: Duration | None = None  # outage: how long
    link: str | None = None  # degrade: the link to switch to


class Scenario(msgspec.Struct, forbid_unknown_fields=True):
    """One scenario file."""

    name: Name
    duration: Duration
    description: str = ""
    # the fault this scenario is written to reproduce (e.g. "the call keeps ringing after
    # Accept"): when set, expectations that hold mean "fault reproduced", not "passed"
    reproduces: str = ""
    seed: int = 1
    clock: Literal["real", "virtual"] | None = None  # default: virtual, real with a target
    server: Server = msgspec.field(default_factory=Server)
    links: dict[Name, dict[str, Any]] = {}
    operators: list[OperatorGroup] = []
    visitors: list[VisitorGroup] = []
    faults: list[Fault] = []
    expect: dict[str, str | float] = {}
    sweep: dict[str, list[Any]] = {}


def dec_hook(kind: type, value: Any) -> Any:
    if kind is Duration:
        return Duration.parse(value)
    if kind is Dist:
        return Dist.parse(value)
    raise NotImplementedError


def schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (``ringlab schema``): as strict as the loader."""
    from .json_schema import strict_schema

    return strict_schema(Scenario)
