"""Cut-point property, long run: N cases of ``tests/support/cutpoints.py`` with 0 violations.

    python bench/cut_bench.py [--cases 10000] [--first 0]

Each case cuts one to three requests' senders (operator send, operator accept, visitor
send) at random await points of the request path, including during the store write and
the fan-out, on the reference server under the virtual clock; half of them come back and
send again. ``make test`` runs 200 such cases; this runs as many as asked and appends the
count of violations to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import trio
import trio.testing
from machine import append_results

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support import cutpoints


async def main(first: int, cases: int) -> tuple[int, Counter[str], list[str]]:
    violations = 0
    batches: list[int] = []
    kinds: Counter[str] = Counter()
    examples: list[str] = []
    original = cutpoints._setup

    async def counting(*args: object) -> list[cutpoints.Sender]:
        senders = await original(*args)  # type: ignore[arg-type]
        kinds.update(
            "never cut" if s.rounds < 0 else f"{s.kind}, {'back' if s.comes_back else 'gone'}"
            for s in senders
        )
        return senders

    cutpoints._setup = counting  # type: ignore[assignment]
    for seed in range(first, first + cases):
        problems = await cutpoints.run_case(seed, batches=batches)
        if problems:
            violations += 1
            examples.append(f"seed {seed}: {problems[0]}")
        if (seed - first + 1) % 1000 == 0:
            print(f"{seed - first + 1} cases, {violations} with violations", flush=True)
    kinds["transactions of 2+ changes"] = sum(batches)
    return violations, kinds, examples


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=1_000_000, help="first seed")
    args = parser.parse_args()
    start = time.perf_counter()
    violations, kinds, examples = trio.run(
        main, args.first, args.cases, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    wall = time.perf_counter() - start
    rows = [
        ("cases (seeds)", f"{args.cases} ({args.first}..{args.first + args.cases - 1})", ""),
        ("requests cut", f"{sum(v for k, v in kinds.items() if ',' in k)}", ""),
        *((f"  {kind}", str(n), "") for kind, n in sorted(kinds.items())),
        ("cases with a violation", str(violations), "0"),
        ("wall time", f"{wall:.0f} s", ""),
    ]
    append_results("Cut-point property: a request's sender cut at any await point", rows, sys.argv)
    for example in examples[:10]:
        print(example)
    sys.exit(1 if violations else 0)
