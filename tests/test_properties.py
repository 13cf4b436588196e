"""Properties over many seeds, in virtual time: what must hold whatever the network does."""

import pytest

from simulator.checks import metrics
from simulator.runner import run
from simulator.scenario import parse


def flaky_everywhere(seed):
    """Operators and visitors on links that drop out every ~20 s (reset after 6 s), plus
    resets on both sides and one operator gone longer than its session lasts."""
    return parse(
        {
            "name": "resume-property",
            "duration": "120s",
            "seed": seed,
            "links": {
                "flaky": {
                    "profile": "4g",
                    "outage_mtbf": "20s",
                    "outage_mttr": "4s",
                    "outage_reset_after": "6s",
                }
            },
            "operators": [
                {
                    "name": "ops",
                    "count": 2,
                    "link": "flaky",
                    "reaction": "0.5s..2s",
                    "close_after": "60s..90s",
                    "reply": "1s..3s",
                }
            ],
            "visitors": [
                {
                    "name": "v",
                    "count": 6,
                    "over": "30s",
                    "link": "flaky",
                    "messages": 15,
                    "think": "1s..4s",
                }
            ],
            "faults": [
                {"at": "40s", "action": "reset", "target": "operators.ops[0]"},
                {"at": "50s", "action": "reset", "target": "visitors.v"},
                {"at": "20s", "action": "outage", "target": "operators.ops[1]", "duration": "70s"},
            ],
        }
    )


@pytest.mark.parametrize("seed", range(1, 7))
def test_reconnects_lose_nothing_and_repeat_nothing(seed):
    m = metrics(run(flaky_everywhere(seed)).events)
    assert m["reconnects"] >= 5 and m["resumes"] >= 5  # the property was put to the test
    assert m["messages.expected"] > 300
    assert (m["lost_messages"], m["duplicated_messages"], m["reordered_messages"]) == (0, 0, 0)
    assert m["double_accepts"] == 0
