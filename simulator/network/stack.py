"""How actors reach the server: the machine's TCP stack, or the virtual network.

Both give the same two things: a byte stream to ``host:port`` (the WebSocket
connections run over it, inside their links) and an HTTP client (logins and the
Control Panel API).
"""

from __future__ import annotations

from typing import Protocol

import trio

from .slim_httpx import httpx


class Network(Protocol):
    async def connect(self, host: str, port: int) -> trio.abc.Stream:
        """A new connection; ``OSError`` when refused."""
        ...

    def http(self, base_url: str, timeout: float = 60) -> httpx.AsyncClient:
        """An HTTP client for ``base_url``."""
        ...


class RealNetwork:
    """The machine's TCP stack (loopback for the embedded server)."""

    async def connect(self, host: str, port: int) -> trio.abc.Stream:
        return await trio.open_tcp_stream(host, port)

    def http(self, base_url: str, timeout: float = 60) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, timeout=timeout)
