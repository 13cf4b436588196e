"""Named link profiles: typical connections, written as link tables.

The numbers are one-way per direction (an RTT is twice the latency) and are
deliberately round. ``docs/links.md`` gives where each comes from; the sources
are public measurement programmes and the presets of common test tools, not
a claim about any one network.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    # Switched gigabit Ethernet on one site: RTT well under 1 ms.
    "lan": {"latency": "0.25ms", "jitter": "0.05ms", "rate": "1gbit"},
    # Cable or fibre: FCC Measuring Broadband America puts idle RTT at ~10-25 ms.
    "broadband": {
        "latency": "10ms",
        "jitter": "2ms",
        "distribution": "normal",
        "loss": 0.0001,
        "down": {"rate": "100mbit"},
        "up": {"rate": "20mbit"},
    },
    # ADSL2+ with interleaving: ~40 ms RTT (FCC MBA, DSL), 16/1 Mbit/s sync.
    "dsl": {
        "latency": "20ms",
        "jitter": "3ms",
        "distribution": "normal",
        "loss": 0.001,
        "down": {"rate": "16mbit"},
        "up": {"rate": "1mbit"},
    },
    # LTE: median RTT ~50-70 ms in crowd-sourced surveys; the lower end of their throughputs.
    "4g": {
        "latency": "30ms",
        "jitter": "10ms",
        "distribution": "paretonormal",
        "loss": 0.002,
        "down": {"rate": "12mbit"},
        "up": {"rate": "4mbit"},
    },
    # WebPageTest's "3G" preset: 300 ms RTT, 1.6 Mbit/s down, 768 kbit/s up.
    "3g": {
        "latency": "150ms",
        "jitter": "20ms",
        "distribution": "normal",
        "loss": 0.005,
        "down": {"rate": "1.6mbit"},
        "up": {"rate": "768kbit"},
    },
    # Geostationary satellite: ~240 ms one way is the speed of light to 35,786 km and
    # back; with processing, FCC MBA measures ~600 ms RTT.
    "satellite": {
        "latency": "300ms",
        "jitter": "15ms",
        "distribution": "normal",
        "loss": 0.005,
        "down": {"rate": "25mbit"},
        "up": {"rate": "3mbit"},
    },
    # A busy 2.4 GHz WLAN: contention and retries give heavy-tailed delay and bursty loss.
    "lossy-wifi": {
        "latency": "3ms",
        "jitter": "4ms",
        "distribution": "pareto",
        "loss": 0.02,
        "loss_burst": "30ms",
        "rate": "20mbit",
    },
    # A phone on the move: LTE-like delay with long tails, bursty loss, and outages
    # (tunnels, handovers) every ~45 s for ~4 s; one longer than 30 s resets.
    "flaky-mobile": {
        "latency": "60ms",
        "jitter": "30ms",
        "distribution": "paretonormal",
        "correlation": 0.5,
        "loss": 0.01,
        "loss_burst": "300ms",
        "down": {"rate": "4mbit"},
        "up": {"rate": "1mbit"},
        "outage_mtbf": "45s",
        "outage_mttr": "4s",
        "outage_reset_after": "30s",
    },
    # A shared office uplink at peak: queueing delay (bufferbloat) that drifts, and
    # loss in bursts when the queue overflows.
    "congested-office": {
        "latency": "25ms",
        "jitter": "20ms",
        "distribution": "paretonormal",
        "correlation": 0.6,
        "loss": 0.01,
        "loss_burst": "200ms",
        "rate": "2mbit",
    },
}
