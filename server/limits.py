"""Abuse limits: token buckets and per-key counters, pure (the caller passes the time).

The server keeps one :class:`TokenBucket` per connection for its request frames and
:class:`KeyedBuckets` for login attempts per address and failed logins per login name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The server's abuse limits. Rates are per second; 0 turns a limit off."""

    #: Request frames per connection, sustained; acks, pings and pongs are not counted
    #: (they answer the server's own traffic).
    frame_rate: float = 20.0
    #: Request frames a connection may send at once before the rate applies.
    frame_burst: int = 60
    #: Login attempts per client address, sustained (scrypt is costly: this bounds CPU).
    login_rate: float = 1 / 3
    login_burst: int = 20
    #: Failed logins per login name, sustained (password guessing across addresses).
    login_failure_rate: float = 1 / 60
    login_failure_burst: int = 5
    #: Open WebSocket connections per client address (0: unlimited).
    connections_per_address: int = 256


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; each request takes one."""

    __slots__ = ("at", "burst", "rate", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = now

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
            self.at = now

    def take(self, now: float) -> bool:
        """Take a token if there is one; False means the request is over the limit."""
        if self.rate <= 0:
            return True
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def peek(self, now: float) -> bool:
        """Whether a request now would be allowed, without taking a token."""
        if self.rate <= 0:
            return True
        self._refill(now)
        return self.tokens >= 1.0

    def retry_after(self, now: float) -> float:
        """Seconds until the next token."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst


class KeyedBuckets:
    """One :class:`TokenBucket` per key; full buckets are forgotten, so memory stays
    bounded by the keys active within ``burst / rate`` seconds."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: dict[str, TokenBucket] = {}
        self._sweep_at = 0.0

    def _bucket(self, key: str, now: float) -> TokenBucket:
        self._sweep(now)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, now)
        return bucket

    def take(self, key: str, now: float) -> bool:
        return self._bucket(key, now).take(now)

    def peek(self, key: str, now: float) -> bool:
        bucket = self.buckets.get(key)
        return bucket is None or bucket.peek(now)

    def retry_after(self, key: str, now: float) -> float:
        bucket = self.buckets.get(key)
        return 0.0 if bucket is None else bucket.retry_after(now)

    def _sweep(self, now: float) -> None:
        # at most once per refill period: amortised O(1) per request
        if self.rate <= 0 or now < self._sweep_at:
            return
        self._sweep_at = now + self.burst / self.rate
        self.buckets = {k: b for k, b in self.buckets.items() if not b.full(now)}
