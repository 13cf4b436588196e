"""The people of the browser tests: operators at their consoles, visitors on the demo site."""

from playwright.sync_api import expect


def console(new_page, server, login, password):
    page = new_page()
    page.goto(f"{server.url}/console")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("me-name")).not_to_be_empty()
    expect(page.get_by_test_id("connection")).to_be_hidden()
    return page


def alice(new_page, server):
    return console(new_page, server, "alice", "alice-demo")


def bob(new_page, server):
    return console(new_page, server, "bob", "bob-demo")


def control(new_page, server, login="alice", password="alice-demo"):
    """An administrator at the Control Panel (its Operators page)."""
    page = new_page()
    page.goto(f"{server.url}/control")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def colleague(page, name):
    """A colleague's line in a console's operator list (data-status: online, away, offline)."""
    return page.locator(f"[data-testid=operator][data-name={name}]")


def visitor(new_page, server, path="/demo"):
    page = new_page()
    page.goto(f"{server.url}{path}")
    expect(page.get_by_test_id("chat-button")).to_have_attribute("data-online", "true")
    return page


def chatting(new_page, server):
    """Alice at her console and a visitor in a chat with her: the visitor called, she
    accepted. (alice, visitor) pages."""
    a = alice(new_page, server)
    v = visitor(new_page, server)
    v.get_by_test_id("chat-button").click()
    a.get_by_test_id("accept").click()
    return a, v


def tab(page, state):
    return page.locator(f"[data-testid=tab][data-state={state}]")


def say(page, text):
    """A visitor writes a message and sees it in the chat, as a person does before the next
    (sent: not only shown as "Sending…")."""
    page.get_by_test_id("widget-input").fill(text)
    page.get_by_test_id("widget-input").press("Enter")
    sent = page.get_by_test_id("widget-history").locator(".text").filter(has_text=text)
    expect(sent).not_to_have_count(0)
