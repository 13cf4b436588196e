"""The ``ringlab serve --config FILE`` file: TOML, validated with precise messages.

Every key is optional; command-line flags win over the file. Example::

    [server]
    host = "0.0.0.0"
    port = 8000
    db = "ringlab.db"
    allowed_origins = ["https://shop.example"]

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

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0)]


class ServerSection(msgspec.Struct, forbid_unknown_fields=True):
    host: str | None = None
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    db: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] | None = None
    #: Origins (scheme://host[:port]) whose pages may open WebSockets, besides the
    #: server's own; ``["*"]`` allows any.
    allowed_origins: list[str] = []


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
        return msgspec.convert(data, FileConfig)
    except msgspec.ValidationError as exc:
        # msgspec says "... - at `$.server.port`"; a TOML user thinks in dotted keys
        raise ConfigError(f"{path}: {str(exc).replace('`$.', '`')}") from None
