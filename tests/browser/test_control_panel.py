"""The Control Panel in Chromium: operators, button codes, settings, records."""

import httpx
from playwright.sync_api import expect

from tests.browser.people import chatting, control, tab, visitor


def test_only_administrators_get_in(server, new_page):
    page = control(new_page, server, "bob", "bob-demo")
    expect(page.locator("#login-error")).to_have_text("this needs an administrator")
    expect(page.get_by_test_id("view")).to_be_hidden()


def test_operators_added_reset_and_removed(server, new_page):
    page = control(new_page, server)
    expect(page.get_by_test_id("operator-row")).to_have_count(2)
    form = page.get_by_test_id("add-operator")
    form.locator("input[name=login]").fill("carol")
    form.locator("input[name=name]").fill("Carol <b>")
    form.locator("input[name=password]").fill("carol-secret")
    form.locator("button").click()
    expect(page.get_by_test_id("operator-row")).to_have_count(3)
    expect(page.locator("[data-login=carol] td").first).to_have_text("Carol <b>")
    assert _login(server, "carol", "carol-secret") == 200
    page.once("dialog", lambda dialog: dialog.accept("carol-new-secret"))
    page.locator("[data-login=carol]").get_by_test_id("reset-password").click()
    expect(page.get_by_test_id("result")).to_have_text("Password of carol changed.")
    assert _login(server, "carol", "carol-secret") == 401
    assert _login(server, "carol", "carol-new-secret") == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-login=carol]").get_by_test_id("remove-operator").click()
    expect(page.get_by_test_id("operator-row")).to_have_count(2)
    assert _login(server, "carol", "carol-new-secret") == 401


def _login(server, login, password):
    return httpx.post(
        f"{server.url}/api/login", json={"login": login, "password": password}
    ).status_code


def test_button_code_page_shows_the_snippet_the_demo_uses(server, new_page):
    page = control(new_page, server)
    page.get_by_test_id("nav-buttons").click()
    snippet = page.get_by_test_id("button-snippet").inner_text()
    demo = new_page()
    demo.goto(f"{server.url}/demo")
    assert demo.get_by_test_id("snippet").inner_text() == snippet
    expect(page.locator(".explain")).to_contain_text("merged")


def test_settings_form_changes_the_account(server, new_page):
    page = control(new_page, server)
    page.get_by_test_id("nav-settings").click()
    form = page.get_by_test_id("settings")
    form.locator("input[name=max_chats]").fill("3")
    form.locator("select[name=binding]").select_option("strict")
    form.locator("button").click()
    expect(page.get_by_test_id("result")).to_have_text("Saved.")
    token = httpx.post(
        f"{server.url}/api/login", json={"login": "bob", "password": "bob-demo"}
    ).json()["token"]
    got = httpx.get(f"{server.url}/api/settings", headers={"Authorization": f"Bearer {token}"})
    assert got.json() == {"ring_timeout": 120.0, "max_chats": 3, "binding": "strict"}


def test_transcripts_offline_messages_and_conflicts_are_listed(server, new_page):
    a, v = chatting(new_page, server)
    v.get_by_test_id("widget-input").fill("Do you ship to Norway?")
    v.get_by_test_id("widget-send").click()
    expect(a.get_by_test_id("history").locator(".text")).to_have_count(1)
    first, second = (
        visitor(new_page, server, "/demo/pinned"),
        visitor(new_page, server, "/demo/pinned"),
    )
    expect(second.get_by_test_id("chat-button")).to_be_visible()
    # a missed call: a 1 s ring timeout, then the visitor leaves a message
    page = control(new_page, server)
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("settings").locator("input[name=ring_timeout]").fill("1")
    page.get_by_test_id("settings").locator("button").click()
    expect(page.get_by_test_id("result")).to_have_text("Saved.")
    late = visitor(new_page, server)
    late.get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    form = late.get_by_test_id("leave-message")
    form.locator("input[name=name]").fill("Ola")
    form.locator("input[name=email]").fill("ola@example.no")
    form.locator("textarea").fill("Call me back, please.")
    form.locator("button").click()
    expect(late.get_by_test_id("message-sent")).to_be_visible()

    page.get_by_test_id("nav-transcripts").click()
    expect(page.get_by_test_id("transcript-row")).to_have_count(1)
    page.get_by_test_id("view-transcript").click()
    expect(page.get_by_test_id("transcript")).to_contain_text("Do you ship to Norway?")
    page.get_by_test_id("nav-offline").click()
    expect(page.get_by_test_id("offline-row")).to_contain_text("Call me back, please.")
    page.get_by_test_id("nav-conflicts").click()
    expect(page.get_by_test_id("conflict-row")).to_have_count(1)
    expect(page.get_by_test_id("conflict-row")).to_contain_text("/demo/pinned")
    assert first.url.endswith("/demo/pinned")
