"""The console behind `ringlab proxy`: the faults the manual describes, in a real browser."""

from playwright.sync_api import expect

from tests.browser.links import Via, cut, proxied
from tests.browser.people import alice, say, tab, visitor


def test_call_keeps_ringing_after_accept_on_a_slow_uplink(server, new_page):
    with proxied(server, "up.latency=1500ms") as proxy:
        a = alice(new_page, Via(proxy))
        v = visitor(new_page, server)
        v.get_by_test_id("chat-button").click()
        expect(tab(a, "ringing")).to_have_count(1, timeout=15_000)
        a.get_by_test_id("accept").click()
        # confirm policy: the tab rings until the server's confirmation comes back
        a.wait_for_timeout(700)
        expect(tab(a, "accepting")).to_have_count(1)
        expect(a.locator(".tab.ringing")).to_have_count(1)
        expect(tab(a, "active")).to_have_count(1, timeout=15_000)
        expect(a.locator(".tab.ringing")).to_have_count(0)


def test_connection_lost_then_resumed_without_losing_or_duplicating(server, new_page):
    with proxied(server, "") as proxy:
        a = alice(new_page, Via(proxy))
        v = visitor(new_page, server)
        v.get_by_test_id("chat-button").click()
        a.get_by_test_id("accept").click()
        expect(tab(a, "active")).to_have_count(1)
        # a 40 s outage: longer than the dead-peer timeout, so the connection breaks
        cut(proxy, 40_000, reset_after=200)
        expect(a.get_by_test_id("connection")).to_have_text("Connection lost — reconnecting…")
        for i in range(3):
            say(v, f"while you were away {i}")
        expect(a.get_by_test_id("connection")).to_be_hidden(timeout=15_000)
        expect(a.get_by_test_id("history").locator(".text")).to_have_text(
            [f"while you were away {i}" for i in range(3)]
        )
