"""Prometheus metrics of a proxy process, served by the control API at ``/metrics``.

Toxiproxy 2.6+'s proxy metrics, with its names and labels
(``toxiproxy_proxy_received_bytes_total`` and ``toxiproxy_proxy_sent_bytes_total``
by ``direction``, ``proxy``, ``listener``, ``upstream``), so its dashboards work.
Toxiproxy adds a connection's bytes when that direction ends; here they include the
connections still open, so a long WebSocket shows up while it lasts. ringlab adds
what Toxiproxy has no metric for: connections, unreachable upstreams, resets, and the
stalls each loss toxic caused.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..link.base import TOXIPROXY_STREAM, Direction
from .model import CLIENT_RESET, ProxiedConnection, Proxy

#: Prometheus' text format, as the reference server serves it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_BYTE_LABELS = ["direction", "proxy", "listener", "upstream"]


@dataclass(frozen=True, slots=True)
class _Labels:
    proxy: str
    listener: str
    upstream: str


def _bytes(conn: ProxiedConnection) -> dict[tuple[str, str], int]:
    """A connection's bytes by (received|sent, direction), as Toxiproxy counts them:
    received from the source of a direction, sent to its destination."""
    s = conn.statistics()
    down_queued = conn.link.pipes["down"].queued_bytes
    return {
        ("received", "upstream"): conn.received_up,
        ("sent", "upstream"): s.up.bytes,
        ("received", "downstream"): s.down.bytes + s.down.dropped_bytes + down_queued,
        ("sent", "downstream"): conn.sent_down,
    }


class ProxyMetrics:
    """Counters of every proxy of one process; live connections are read at each scrape."""

    def __init__(self) -> None:
        self._live: dict[ProxiedConnection, _Labels] = {}
        self._bytes: Counter[tuple[str, str, _Labels]] = Counter()  # of ended connections
        self.accepted: Counter[str] = Counter()
        self.unreachable: Counter[str] = Counter()
        self.resets: Counter[str] = Counter()
        self.stalls: Counter[tuple[str, str, str]] = Counter()  # (proxy, toxic, direction)
        self.stall_seconds: dict[tuple[str, str, str], float] = defaultdict(float)

    def opened(self, proxy: Proxy, conn: ProxiedConnection) -> None:
        self._live[conn] = _Labels(proxy.name, proxy.listen, proxy.upstream)

    def ended(self, conn: ProxiedConnection) -> None:
        """The connection is gone for good (after its link drained): fold its bytes in."""
        labels = self._live.pop(conn, None)
        if labels is None:
            return
        for (kind, direction), n in _bytes(conn).items():
            self._bytes[kind, direction, labels] += n
        if conn.statistics().reset or conn.ending == CLIENT_RESET:
            self.resets[labels.proxy] += 1

    def watch(self, conn: ProxiedConnection) -> None:
        """Count the stalls of a connection's link, per toxic."""
        for pipe in conn.link.pipes.values():
            pipe.env.on_stall = partial(self._stalled, conn)

    def _stalled(
        self, conn: ProxiedConnection, direction: Direction, sent: float, held: float, retries: int
    ) -> None:
        # The link says which direction stalled; the toxic is the loss toxic there.
        pipe = conn.link.pipes[direction]
        toxic = ",".join(name for name, t in pipe.toxics.items() if t.kind == "loss")
        key = (conn.proxy, toxic, TOXIPROXY_STREAM[direction])
        self.stalls[key] += 1
        self.stall_seconds[key] += held

    def render(self, proxies: dict[str, Proxy]) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self, proxies))
        return generate_latest(registry)


class _Collector(Collector):
    def __init__(self, metrics: ProxyMetrics, proxies: dict[str, Proxy]) -> None:
        self.metrics = metrics
        self.proxies = proxies

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        totals = Counter(m._bytes)
        for conn, labels in m._live.items():
            for (kind, direction), n in _bytes(conn).items():
                totals[kind, direction, labels] += n
        for kind in ("received", "sent"):
            family = CounterMetricFamily(
                f"toxiproxy_proxy_{kind}_bytes",
                f"Bytes {kind} by the proxy, per direction (as Toxiproxy's)",
                labels=_BYTE_LABELS,
            )
            for (k, direction, where), n in sorted(totals.items(), key=repr):
                if k == kind:
                    family.add_metric([direction, where.proxy, where.listener, where.upstream], n)
            yield family
        live = GaugeMetricFamily(
            "ringlab_proxy_connections", "Connections being carried", labels=["proxy"]
        )
        for name, proxy in sorted(self.proxies.items()):
            live.add_metric([name], len(proxy.connections))
        yield live
        yield _counter("ringlab_proxy_accepted_connections", "Connections accepted", m.accepted)
        yield _counter(
            "ringlab_proxy_upstream_unreachable",
            "Connections closed because the upstream could not be reached",
            m.unreachable,
        )
        yield _counter(
            "ringlab_proxy_resets", "Connections that ended in a reset (either end's)", m.resets
        )
        for name, doc, counts in (
            ("ringlab_proxy_stalls", "Segments a loss toxic stalled", m.stalls),
            ("ringlab_proxy_stall_seconds", "Time segments were stalled", m.stall_seconds),
        ):
            family = CounterMetricFamily(name, doc, labels=["proxy", "toxic", "direction"])
            for key, value in sorted(counts.items()):
                family.add_metric(list(key), value)
            yield family


def _counter(name: str, doc: str, counts: Counter[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=["proxy"])
    for proxy, n in sorted(counts.items()):
        family.add_metric([proxy], n)
    return family
