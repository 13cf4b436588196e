"""A server restart (stop, start again on the same port and database) under open pages:
the consoles rebuild from their snapshot, so a ring for a call the restart ended stops with
a notice, and every click on such a tab gets an answer; the visitor whose call the restart
missed is told so and may leave a message."""

from playwright.sync_api import expect

from tests.browser.harness import RECONNECT, REMOVED
from tests.browser.people import alice, tab, visitor


def test_a_ring_the_restart_ended_stops_with_a_notice_and_the_visitor_may_leave_a_message(
    restartable, new_page
):
    a = alice(new_page, restartable)
    v = visitor(new_page, restartable)
    v.get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    expect(a).to_have_title("Ringing - ringlab Console")

    restartable.stop()
    expect(a.get_by_test_id("connection")).to_have_text("Connection lost — reconnecting…")
    restartable.start()

    expect(a.get_by_test_id("connection")).to_be_hidden(timeout=RECONNECT)
    expect(a.get_by_test_id("notice")).to_have_text("This call ended while you were reconnecting")
    expect(a.locator(".tab.ringing")).to_have_count(0)
    expect(a).to_have_title("ringlab Operator Console")  # the ring sound stopped too
    expect(a.get_by_test_id("tab")).to_have_count(0, timeout=REMOVED)  # then it goes

    form = v.get_by_test_id("leave-message")
    expect(form).to_contain_text("nobody could answer your call", timeout=RECONNECT)
    form.locator("input[name=name]").fill("Ola")
    form.locator("input[name=email]").fill("ola@example.no")
    form.locator("textarea").fill("Call me back, please.")
    form.locator("button").click()
    expect(v.get_by_test_id("message-sent")).to_be_visible()


def test_accept_and_x_clicked_across_a_restart_get_an_answer(restartable, new_page):
    a = alice(new_page, restartable)
    for _ in range(2):
        visitor(new_page, restartable).get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(2)

    restartable.stop()
    expect(a.get_by_test_id("connection")).to_have_text("Connection lost — reconnecting…")
    # Both calls are gone with the old process, but the console cannot know yet.
    a.get_by_test_id("tab-x").nth(1).click()
    expect(a.get_by_test_id("tab")).to_have_count(1)  # X: the tab goes at once
    a.get_by_test_id("accept").click()
    expect(tab(a, "accepting")).to_have_count(1)
    restartable.start()

    # The accept is sent again after the welcome: its refusal is said in words.
    expect(a.get_by_test_id("notice")).to_have_text(
        "Could not accept: this call has already ended", timeout=RECONNECT
    )
    expect(a.locator(".tab.ringing")).to_have_count(0)
    expect(a.get_by_test_id("tab")).to_have_count(0, timeout=REMOVED)
