"""Operators leaving on purpose: Log out and closing the console end the session at once
(colleagues see the operator offline, its rings stop), not after the grace period."""

from playwright.sync_api import expect

from server.app import ServerConfig
from tests.browser.harness import AT_ONCE, Observed, running_server
from tests.browser.people import alice, bob, colleague, control, tab, visitor


def test_log_out_takes_the_operator_offline_and_out_of_the_rings_at_once(new_page):
    seen = Observed()
    with running_server(ServerConfig(observer=seen)) as server:
        a, b = alice(new_page, server), bob(new_page, server)
        expect(colleague(a, "Bob")).to_have_attribute("data-status", "online")
        b.click("#logout")
        expect(b.get_by_test_id("login")).to_be_visible()
        expect(colleague(a, "Bob")).to_have_attribute("data-status", "offline", timeout=AT_ONCE)
        panel = control(new_page, server)
        expect(panel.locator("[data-login=bob] td").nth(3)).to_have_text("offline")

        v = visitor(new_page, server)
        v.get_by_test_id("chat-button").click()
        expect(tab(a, "ringing")).to_have_count(1)
        call = seen.wait_for(a, "ring_started", AT_ONCE, operator="op_alice")[0]["call"]
        assert seen.named("ring_started", call=call) == [{"call": call, "operator": "op_alice"}]
        expect(b.get_by_test_id("tab")).to_have_count(0)


def test_closing_the_console_stops_its_ring_at_once(new_page):
    seen = Observed()
    with running_server(ServerConfig(observer=seen)) as server:
        a, b = alice(new_page, server), bob(new_page, server)
        v = visitor(new_page, server)
        v.get_by_test_id("chat-button").click()
        expect(tab(a, "ringing")).to_have_count(1)
        expect(tab(b, "ringing")).to_have_count(1)
        b.close()  # pagehide: the console says bye
        [stop] = seen.wait_for(a, "ring_stopped", AT_ONCE, operator="op_bob")
        assert stop["reason"] == "offline"
        expect(colleague(a, "Bob")).to_have_attribute("data-status", "offline", timeout=AT_ONCE)
        expect(a.locator(".tab.ringing")).to_have_count(1)  # Alice's console rings on
        a.get_by_test_id("accept").click()
        expect(tab(a, "active")).to_have_count(1)


def test_a_console_holding_a_chat_keeps_its_session_through_a_reload(server, new_page):
    # A reload is a pagehide too: it must not end the chat (the new page gets a new
    # session while the old one waits out its grace, so the operator never goes offline).
    a = alice(new_page, server)
    v = visitor(new_page, server)
    v.get_by_test_id("chat-button").click()
    a.get_by_test_id("accept").click()
    expect(tab(a, "active")).to_have_count(1)
    a.reload()
    expect(tab(a, "active")).to_have_count(1)
    expect(v.get_by_test_id("widget-ended")).to_have_count(0)
    a.get_by_test_id("input").fill("still here")
    a.get_by_test_id("send").click()
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(["still here"])
