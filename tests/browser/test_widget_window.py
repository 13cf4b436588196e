"""The visitor widget as visitors expect it: X and Escape minimise (the chat goes on), ending
the chat is an action of its own that asks first, the button and the window agree when
nobody is there to answer a waiting call, and the inputs are large enough that a phone does
not zoom into the page."""

from playwright.sync_api import expect

from tests.browser.people import alice, chatting, say, tab, visitor


def test_x_and_escape_minimise_and_the_chat_goes_on(server, new_page):
    a, v = chatting(new_page, server)
    say(v, "Let me look around first")
    window = v.get_by_test_id("widget-window")
    v.get_by_test_id("widget-close").click()  # X
    expect(window).to_have_count(0)
    expect(v.get_by_test_id("chat-button")).to_be_focused()
    a.get_by_test_id("input").fill("Take your time")
    a.get_by_test_id("input").press("Enter")
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(
        ["Let me look around first", "Take your time"]
    )
    expect(tab(a, "active")).to_have_count(1)  # nothing ended
    expect(a.get_by_test_id("notice")).to_have_count(0)

    v.get_by_test_id("chat-button").click()  # back, with everything said meanwhile
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(
        ["Let me look around first", "Take your time"]
    )
    expect(v.get_by_test_id("widget-input")).to_be_focused()
    v.keyboard.press("Escape")
    expect(window).to_have_count(0)
    expect(v.get_by_test_id("chat-button")).to_be_focused()
    v.reload()  # minimised stays minimised on the next page, and the chat goes on
    expect(v.get_by_test_id("chat-button")).to_have_attribute("data-online", "true")
    expect(window).to_have_count(0)
    v.get_by_test_id("chat-button").click()
    say(v, "Found it")
    expect(a.get_by_test_id("history").locator(".text")).to_have_count(3)


def test_ending_the_chat_is_its_own_action_and_asks_first(server, new_page):
    a, v = chatting(new_page, server)
    say(v, "Thanks")
    v.get_by_test_id("widget-end").click()
    confirm = v.get_by_test_id("widget-end-confirm")
    expect(confirm).to_contain_text("End this chat?")
    expect(v.get_by_test_id("widget-end-no")).to_be_focused()  # the safe answer first
    v.get_by_test_id("widget-end-no").click()  # Keep chatting
    expect(confirm).to_have_count(0)
    expect(v.get_by_test_id("widget-ended")).to_have_count(0)
    say(v, "One more thing")
    v.get_by_test_id("widget-end").click()
    v.keyboard.press("Escape")  # Escape while asked: keep chatting, window stays
    expect(confirm).to_have_count(0)
    expect(v.get_by_test_id("widget-window")).to_be_visible()
    expect(tab(a, "active")).to_have_count(1)
    expect(a.get_by_test_id("notice")).to_have_count(0)

    v.get_by_test_id("widget-end").click()
    v.get_by_test_id("widget-end-yes").click()
    expect(v.get_by_test_id("widget-ended")).to_have_text("The chat has ended.")
    expect(a.get_by_test_id("notice")).to_have_text("The visitor ended the chat")


def test_when_every_operator_goes_away_during_a_call_button_and_window_offer_a_message(
    server, new_page
):
    a = alice(new_page, server)  # the only operator online (Bob is not logged in)
    v = visitor(new_page, server)
    button, waiting = v.get_by_test_id("chat-button"), v.get_by_test_id("widget-waiting")
    button.click()
    expect(waiting).to_have_text("Calling… an operator will be with you shortly.")
    expect(tab(a, "ringing")).to_have_count(1)

    a.get_by_test_id("status").click()  # Away: nobody is left to answer
    expect(button).to_have_attribute("data-online", "false")
    expect(button).to_have_text("Leave a message")
    expect(waiting).to_contain_text("Nobody is available right now")
    expect(waiting).not_to_contain_text("Calling")
    expect(v.get_by_test_id("widget-leave-instead")).to_have_text("Leave a message")

    a.get_by_test_id("status").click()  # back: the call rings again, and both say so
    expect(tab(a, "ringing")).to_have_count(1)
    expect(button).to_have_text("Chat with us")
    expect(waiting).to_have_text("Calling… an operator will be with you shortly.")

    a.get_by_test_id("status").click()
    expect(v.get_by_test_id("widget-leave-instead")).to_be_visible()
    v.get_by_test_id("widget-leave-instead").click()  # stop waiting, write instead
    form = v.get_by_test_id("leave-message")
    expect(form).to_be_visible()
    expect(waiting).to_have_count(0)
    form.locator("input[name=name]").fill("Ola")
    form.locator("input[name=email]").fill("ola@example.no")
    form.locator("textarea").fill("Call me back, please.")
    form.locator("button[type=submit]").click()
    expect(v.get_by_test_id("message-sent")).to_be_visible()
    # The visitor stopped waiting: no ring comes back. The console shows Online once the
    # server's ok came, and that comes after every ring the change caused (protocol).
    a.get_by_test_id("status").click()
    expect(a.get_by_test_id("status")).to_have_attribute("data-status", "online")
    expect(a.get_by_test_id("tab")).to_have_count(0)


def font_size(locator):
    return float(locator.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)"))


def test_the_inputs_are_16px_so_phones_do_not_zoom(server, new_page):
    a, v = chatting(new_page, server)
    assert font_size(v.get_by_test_id("widget-input")) >= 16
    assert font_size(a.get_by_test_id("input")) >= 16
    offline = new_page()
    offline.goto(f"{server.url}/demo")
    a.get_by_test_id("status").click()  # nobody online: the button offers the form
    expect(offline.get_by_test_id("chat-button")).to_have_text("Leave a message")
    offline.get_by_test_id("chat-button").click()
    form = offline.get_by_test_id("leave-message")
    for field in ("input[name=name]", "input[name=email]", "textarea"):
        assert font_size(form.locator(field)) >= 16, field
