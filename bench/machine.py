"""What every benchmark shares: the machine's description, percentiles, RESULTS.md."""

from __future__ import annotations

import datetime
import math
import os
import platform
import shlex
import sys
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (no interpolation: a value that was measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def p50_p99_ms(seconds: list[float]) -> str:
    return f"{percentile(seconds, 50) * 1000:.3f} / {percentile(seconds, 99) * 1000:.3f} ms"


def describe_machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "unknown memory"
    versions = ", ".join(f"{p} {version(p)}" for p in ("trio", "hypercorn", "ringlab"))
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {versions}"
    )


def append_results(title: str, rows: list[tuple[str, str, str]], argv: list[str]) -> None:
    """Print the table and append it, with the machine and the command, to RESULTS.md."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python " + " ".join(shlex.quote(a) for a in argv)
    lines = [
        f"## {title} ({when})",
        "",
        f"Machine: {describe_machine()}  ",
        f"Command: `{command}`",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/`.\n\n")
    with RESULTS.open("a") as f:
        f.write(text + "\n")
    sys.stdout.flush()
