"""How a reference server runs (:class:`ServerConfig`), and the ``ringlab serve --config
FILE`` file that sets it: TOML, validated with precise messages (:func:`load_config`,
then :func:`server_config`).

Every key is optional; command-line flags win over the file. Example::

    [server]
    host = "0.0.0.0"
    port = 8000
    db = "ringlab.db"
    allowed_origins = ["https://shop.example"]
    trusted_proxies = ["127.0.0.1"]   # reverse proxies whose forwarding headers count

    [protocol]
    heartbeat_interval = 10    # seconds
    dead_peer_timeout = 30     # seconds
    session_grace = 30         # seconds

    [limits]                   # 0 turns a limit off
    frame_rate = 20            # request frames/s per connection (burst: frame_burst = 60)
    connections_per_address = 256

    [demo]
    create = true              # create the demo account on an empty database
    ring_timeout = 120         # its settings: seconds
    max_chats = 5
    binding = "legacy"         # or "strict"
"""

from __future__ import annotations

import ipaddress
import random
import secrets
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from .core import IdSource, SecretIds, Settings, Timings
from .core.passwords import COST as PASSWORD_COST
from .limits import Limits
from .runtime import MAX_LAG, MAX_WAIT, QUEUE_LIMIT

#: Frames queued for one client before it counts as a slow consumer (closed 1008).
SEND_QUEUE = 4096


@dataclass
class ServerConfig:
    """How one reference server instance runs. Time, ids and randomness are injected."""

    db: str = ":memory:"
    demo: bool = True  # create the demo account on an empty database
    threaded: bool = True  # blocking work in a thread (False under the virtual clock)
    clock: Callable[[], float] = time.time
    ids: IdSource = field(default_factory=SecretIds)
    salt: Callable[[], bytes] = lambda: secrets.token_bytes(16)
    #: Draws that need no secrecy (each connection's heartbeat phase); seeded by simulations.
    rng: random.Random = field(default_factory=random.Random)
    #: scrypt's N for new password hashes; lowered only by simulations (throwaway passwords)
    password_cost: int = PASSWORD_COST
    #: The protocol's timings: the server keeps them and ``welcome`` tells clients.
    timings: Timings = field(default_factory=Timings)
    #: Frames queued for one client before it counts as a slow consumer (closed 1008).
    send_queue: int = SEND_QUEUE
    #: Requests waiting to be applied before new ones are answered ``server_busy``, and
    #: the seconds one may wait before it is answered so (load shedding).
    queue_limit: int = QUEUE_LIMIT
    max_wait: float = MAX_WAIT
    max_lag: float = MAX_LAG
    #: Page origins allowed to open WebSockets besides the server's own ("*": any).
    #: Clients that send no Origin (not browsers) are always allowed.
    allowed_origins: tuple[str, ...] = ()
    #: Addresses (or networks) of the reverse proxies whose X-Forwarded-For/-Proto/-Host
    #: and Forwarded headers are believed: the client's address and scheme come from them.
    trusted_proxies: tuple[str, ...] = ()
    #: Abuse limits: frame rate, login attempts, connections per address.
    limits: Limits = field(default_factory=Limits)
    #: Settings of the demo account when it is created.
    demo_settings: Settings = field(default_factory=Settings)
    #: Called with every lifecycle event (``ring_stopped``, ``call_accepted``...) as it is
    #: carried out, and with ``frame_received`` ({owner, message}) as each request is read:
    #: the simulator's window on the server's side, on the same clock.
    observer: Callable[[str, dict[str, Any]], None] | None = None
    #: Runs the store's blocking calls (None: a worker thread, or inline when not
    #: ``threaded``). Tests give one that takes time, to cut connections during writes.
    store_runner: Callable[[Callable[[], Any]], Any] | None = None


Seconds = Annotated[float, msgspec.Meta(gt=0)]


class ServerSection(msgspec.Struct, forbid_unknown_fields=True):
    host: str | None = None
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    db: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] | None = None
    #: Origins (scheme://host[:port]) whose pages may open WebSockets, besides the
    #: server's own; ``["*"]`` allows any.
    allowed_origins: list[str] = []
    #: Reverse proxies (addresses or networks) whose forwarding headers are believed.
    trusted_proxies: list[str] = []


class ProtocolSection(msgspec.Struct, forbid_unknown_fields=True):
    heartbeat_interval: Seconds | None = None
    dead_peer_timeout: Seconds | None = None
    session_grace: Seconds | None = None


Rate = Annotated[float, msgspec.Meta(ge=0)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class LimitsSection(msgspec.Struct, forbid_unknown_fields=True):
    """Same keys as :class:`server.limits.Limits`; unset keys keep its defaults."""

    frame_rate: Rate | None = None
    frame_burst: Count | None = None
    login_rate: Rate | None = None
    login_burst: Count | None = None
    login_failure_rate: Rate | None = None
    login_failure_burst: Count | None = None
    connections_per_address: Count | None = None


class DemoSection(msgspec.Struct, forbid_unknown_fields=True):
    create: bool = True
    ring_timeout: Seconds = 120.0
    max_chats: Annotated[int, msgspec.Meta(ge=1)] = 5
    binding: Literal["legacy", "strict"] = "legacy"


class FileConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The whole config file."""

    server: ServerSection = msgspec.field(default_factory=ServerSection)
    protocol: ProtocolSection = msgspec.field(default_factory=ProtocolSection)
    limits: LimitsSection = msgspec.field(default_factory=LimitsSection)
    demo: DemoSection = msgspec.field(default_factory=DemoSection)


def networks(
    trusted: Iterable[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parse proxy addresses or networks (``10.0.0.0/8``); raises ValueError naming one."""
    result = []
    for item in trusted:
        try:
            result.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return result


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def load_config(path: str | Path) -> FileConfig:
    """Read and validate a config file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = msgspec.convert(data, FileConfig)
    except msgspec.ValidationError as exc:
        # msgspec says "... - at `$.server.port`"; a TOML user thinks in dotted keys
        raise ConfigError(f"{path}: {str(exc).replace('`$.', '`')}") from None
    try:
        networks(config.server.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc} - at `server.trusted_proxies`") from None
    return config


def server_config(file: FileConfig, db: str | None) -> ServerConfig:
    """The server's config from the file, with ``--db`` winning."""
    proto = {k: v for k, v in msgspec.structs.asdict(file.protocol).items() if v is not None}
    limits = {k: v for k, v in msgspec.structs.asdict(file.limits).items() if v is not None}
    return ServerConfig(
        db=db or file.server.db or "ringlab.db",
        demo=file.demo.create,
        allowed_origins=tuple(file.server.allowed_origins),
        trusted_proxies=tuple(file.server.trusted_proxies),
        timings=Timings(**proto),
        limits=Limits(**limits),
        demo_settings=Settings(
            ring_timeout=file.demo.ring_timeout,
            max_chats=file.demo.max_chats,
            binding=file.demo.binding,  # type: ignore[arg-type]  # coerced to Binding
        ),
    )
