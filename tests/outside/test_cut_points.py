"""Issue 9's proof: a request's sender cut at any await point leaves nothing half done
(the harness and the invariant: tests/support/cutpoints.py; 10,000 cases: bench/cut_bench.py)."""

import pytest

from tests.support.cutpoints import run_case

CASES_PER_TEST = 10


@pytest.mark.parametrize("block", range(20))
async def test_a_cut_sender_leaves_nothing_half_done(block, autojump_clock):
    batches: list[int] = []
    for seed in range(block * CASES_PER_TEST, (block + 1) * CASES_PER_TEST):
        assert await run_case(seed, batches=batches) == [], f"seed {seed}"
    assert sum(batches) > 0  # cut requests shared transactions with others: batches too
