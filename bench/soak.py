"""Soak: a steady crowd against the reference server for a long time, with random outages.

    python bench/soak.py [--clients 2000] [--minutes 30] [--operators 20] [--seed 7]
                         [--clock real|virtual] [--sample 10]

Plays ``scenarios/soak.toml`` scaled so that about ``--clients`` visitors are on the site at
once. On the real clock the server is a separate ``ringlab serve`` process (per-address
limits off: every client comes from loopback), so its memory is its own: it is sampled every
``--sample`` seconds and its slope reported after a warm-up. Checks: zero lost, duplicated
or reordered messages, zero server errors (no ``internal`` error frames, no traceback in its
log). Results go to bench/RESULTS.md with the machine; exit code 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from machine import append_results
from peers import server_process

from simulator.play.runner import run
from simulator.report.metrics import metrics
from simulator.scenario import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "soak.toml"
#: Mean seconds a visitor of soak.toml spends on the site: 2 pages x 40 s browsing + 90 s
#: on the last (chatters stay longer, one in ten).
MEAN_STAY = 170.0
WARM_UP = 0.25  # the first quarter of the samples: the crowd is still arriving


def scaled(clients: int, minutes: float, operators: int, seed: int, clock: str, url: str = ""):
    """soak.toml with about ``clients`` visitors on the site at once for ``minutes``."""
    overrides = {
        "duration": f"{minutes * 60:g}s",
        "seed": seed,
        "clock": clock,
        "visitors[0].count": max(1, round(clients * minutes * 60 / MEAN_STAY)),
        "operators[0].count": operators,
    }
    if url:
        overrides["server.target"] = url
    return load(SCENARIO, overrides)


class Sampler(threading.Thread):
    """Every ``every`` s: the server's RSS (MiB), CPU seconds and open connections."""

    def __init__(self, pid: int, url: str, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.url, self.every = pid, url, every
        self.samples: list[tuple[float, float, float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        tick = os.sysconf("SC_CLK_TCK")
        while not self.done.wait(self.every):
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
                rss = int(status.split("VmRSS:")[1].split()[0]) / 1024
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / tick
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as r:
                    conns = json.load(r)["connections"]
            except (OSError, ValueError, IndexError):
                continue
            self.samples.append((time.monotonic() - start, rss, cpu, conns))


def slope(
    samples: list[tuple[float, float, float, int]], skip: float = WARM_UP
) -> tuple[float, float]:
    """Least-squares RSS slope (MiB per hour) and the residuals' stdev, leaving out the first
    ``skip`` of the samples."""
    steady = samples[int(len(samples) * skip) :]
    if len(steady) < 3:
        return float("nan"), float("nan")
    ts = [s[0] for s in steady]
    rss = [s[1] for s in steady]
    fit = statistics.linear_regression(ts, rss)
    residuals = [r - (fit.intercept + fit.slope * t) for t, r in zip(ts, rss, strict=True)]
    return fit.slope * 3600, statistics.stdev(residuals)


def delivery_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What both clocks report: messages and reconnects."""
    return [
        (
            "messages delivered / lost / duplicated / reordered",
            f"{m['messages.expected']:.0f} / {m['lost_messages']:.0f} / "
            f"{m['duplicated_messages']:.0f} / {m['reordered_messages']:.0f}",
            "lost 0",
        ),
        (
            # owed to someone whose link broke for good: an outage past the run's end
            "messages owed to someone never back / gone with their session / past the replay",
            f"{m['messages.unreachable']:.0f} / {m['messages.gone_with_session']:.0f} / "
            f"{m['messages.past_replay']:.0f}",
            "",
        ),
        (
            "reconnects / resumes (of which past the replay) / snapshots",
            f"{m['reconnects']:.0f} / {m['resumes']:.0f} ({m['resyncs']:.0f}) / "
            f"{m['snapshots']:.0f}",
            "",
        ),
    ]


def soak_real(args: argparse.Namespace) -> tuple[dict[str, float], list[tuple[str, str, str]]]:
    with tempfile.TemporaryDirectory(prefix="ringlab-soak-") as tmp:
        log = open(Path(tmp) / "server.log", "w+")  # noqa: SIM115  # read back at the end
        # the per-address limits off (every client is on loopback); the frame rate stays on
        config = "[limits]\nconnections_per_address = 0\nlogin_rate = 0\n"
        with server_process(str(Path(tmp) / "soak.db"), config, log) as (ws_url, pid):
            url = ws_url.replace("ws://", "http://")
            sampler = Sampler(pid, url, args.sample)
            sampler.start()
            loaded = scaled(args.clients, args.minutes, args.operators, args.seed, "real", url)
            started = time.monotonic()
            events = run(loaded, progress=_progress()).events
            wall = time.monotonic() - started
            sampler.done.set()
            with urllib.request.urlopen(f"{url}/metrics", timeout=5) as r:
                internal = sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in r.read().decode().splitlines()
                    if 'code="internal"' in line and not line.startswith("#")
                )
        log.seek(0)
        tracebacks = log.read().count("Traceback")
        log.close()
    m = metrics(events)
    if m["lost_messages"] or m["duplicated_messages"] or m["reordered_messages"]:
        keep_report(loaded, events)
    samples = sampler.samples
    per_hour, noise = slope(samples)
    # Python's small-object arenas keep fragmenting for a while after the crowd is in; the
    # second half's slope tells that settling apart from a leak, which would grow throughout.
    late_per_hour, late_noise = slope(samples, 0.5)
    conns = [s[3] for s in samples[int(len(samples) * WARM_UP) :]] or [0]
    rss = [s[1] for s in samples] or [float("nan")]
    cpu = samples[-1][2] if samples else float("nan")
    facts = {
        "lost": m["lost_messages"] + m["duplicated_messages"] + m["reordered_messages"],
        "errors": internal + tracebacks,
    }
    rows = [
        (
            "clients on the site at once (server connections after warm-up)",
            f"mean {statistics.fmean(conns):.0f}, max {max(conns)}",
            f"~{args.clients}",
        ),
        *delivery_rows(m),
        (
            "server errors (internal error frames + tracebacks)",
            f"{internal:.0f} + {tracebacks}",
            "0",
        ),
        (
            "server RSS first / max / last sample",
            f"{rss[0]:.0f} / {max(rss):.0f} / {rss[-1]:.0f} MiB",
            "",
        ),
        (
            "server RSS slope after warm-up (residual stdev)",
            f"{per_hour:+.1f} MiB/h ({noise:.1f} MiB)",
            "flat within noise",
        ),
        (
            "server RSS slope over the second half (residual stdev)",
            f"{late_per_hour:+.1f} MiB/h ({late_noise:.1f} MiB)",
            "flat within noise",
        ),
        ("server CPU", f"{cpu:.0f} s in {wall:.0f} s wall ({cpu / wall:.0%} of a core)", ""),
    ]
    return facts, rows


def soak_virtual(args: argparse.Namespace) -> tuple[dict[str, float], list[tuple[str, str, str]]]:
    loaded = scaled(args.clients, args.minutes, args.operators, args.seed, "virtual")
    started = time.monotonic()
    m = metrics(run(loaded).events)
    wall = time.monotonic() - started
    facts = {
        "lost": m["lost_messages"] + m["duplicated_messages"] + m["reordered_messages"],
        "errors": 0.0,
    }
    rows = [
        *delivery_rows(m),
        ("wall time", f"{wall:.0f} s for {args.minutes * 60:.0f} simulated s", ""),
    ]
    return facts, rows


def keep_report(loaded: Any, events: list[Any]) -> None:
    """A failed soak's full report (events.jsonl, per-call table, charts), to find out why."""
    from simulator.report.files import write_report

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = ROOT / "reports" / f"soak-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    write_report(out, loaded, events)
    print(f"the run's report, to see what was lost: {out}")


def _progress():
    last = [0.0]

    def show(t: float, counts: dict[str, int]) -> None:
        if t - last[0] >= 60:
            last[0] = t
            print(f"  {t / 60:5.1f} min  " + "  ".join(f"{k} {v}" for k, v in counts.items()))
            sys.stdout.flush()

    return show


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clock", choices=["real", "virtual"], default="real")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    facts, rows = (soak_real if args.clock == "real" else soak_virtual)(args)
    title = f"Soak: {args.clients} clients, {args.minutes:g} min, {args.clock} clock"
    append_results(title, rows, sys.argv)
    return 0 if facts["lost"] == 0 and facts["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
