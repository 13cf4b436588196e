"""Prometheus metrics of one server instance (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .core.lifecycle import Lifecycle, RingStopped, SessionResumed, VisitorIdConflict

_CALL_OUTCOMES = {
    "call_ringing": "ringing",
    "call_accepted": "accepted",
    "call_missed": "missed",
    "call_abandoned": "abandoned",
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "ringlab_connections", "Open WebSocket connections", ["role"], registry=r
        )
        self.calls = Counter(
            "ringlab_calls_total", "Calls by outcome (ringing = placed)", ["outcome"], registry=r
        )
        self.rings = Histogram(
            "ringlab_ring_duration_seconds",
            "How long a console rang for a call, by why it stopped",
            ["reason"],
            registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
        )
        self.messages = Counter("ringlab_messages_total", "Chat messages stored", registry=r)
        self.conflicts = Counter(
            "ringlab_visitor_id_conflicts_total",
            "Concurrent page instances that shared a visitor id",
            registry=r,
        )
        self.resumes = Counter(
            "ringlab_resumes_total", "Sessions resumed after a reconnect", ["kind"], registry=r
        )
        self.frame_errors = Counter(
            "ringlab_frame_errors_total", "Error frames sent", ["code"], registry=r
        )
        self.commits = Histogram(
            "ringlab_commit_changes",
            "Changes stored per transaction (group commit)",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        )
        self.queue = Gauge(
            "ringlab_queue_requests", "Client requests waiting to be applied", registry=r
        )

    def observe(self, event: Lifecycle) -> None:
        """Update metrics from a core lifecycle event."""
        if event.name in _CALL_OUTCOMES:
            self.calls.labels(_CALL_OUTCOMES[event.name]).inc()
        elif isinstance(event, RingStopped):
            self.rings.labels(event.reason).observe(event.duration)
        elif isinstance(event, VisitorIdConflict):
            self.conflicts.inc()
        elif isinstance(event, SessionResumed):
            self.resumes.labels("snapshot" if event.replayed < 0 else "replay").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
