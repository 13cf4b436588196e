"""Accessibility as a tested property: axe-core finds no serious or critical violation on the
Operator Console, the visitor widget on the demo pages and the Control Panel, each in its
main states (see accessibility.py)."""

from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.people import alice, bob, chatting, control, say, tab, visitor

PHONE = {"width": 375, "height": 667}


def test_the_operator_console_in_its_main_states(server, new_page):
    login = new_page()
    login.goto(f"{server.url}/console")
    expect(login.get_by_test_id("login")).to_be_visible()
    assert_accessible(login, "console login form")

    a, v = chatting(new_page, server)
    b = bob(new_page, server)
    expect(tab(a, "active")).to_have_count(1)
    say(v, "Do you deliver on Saturdays?")
    a.get_by_test_id("input").fill("We do, until noon.")
    a.get_by_test_id("input").press("Enter")
    v.get_by_test_id("widget-input").fill("Great")  # Alice sees "Visitor is typing…"
    expect(a.get_by_test_id("typing")).to_be_visible()
    expect(a.get_by_test_id("invite-operator")).to_be_visible()  # Bob is online
    a.get_by_test_id("invite-visitor").first.click()  # already chatting: said in the row
    expect(a.get_by_test_id("visitor-note")).to_be_visible()
    assert_accessible(a, "console with a chat")

    visitor(new_page, server, "/demo?page=chairs").get_by_test_id("chat-button").click()
    expect(tab(b, "ringing")).to_have_count(1)
    expect(b.get_by_test_id("accept")).to_be_visible()
    assert_accessible(b, "console ringing")

    b.get_by_test_id("status").click()
    expect(b.get_by_test_id("status")).to_have_attribute("data-status", "away")
    expect(b.get_by_test_id("tab")).to_have_count(0)
    assert_accessible(b, "console away, no tabs")

    a.set_viewport_size(PHONE)
    expect(a.get_by_test_id("menu")).to_be_visible()
    expect(a.get_by_test_id("visitors")).to_be_hidden()
    assert_accessible(a, "console on a phone, sidebar folded")
    a.get_by_test_id("menu").click()
    expect(a.get_by_test_id("visitors")).to_be_visible()
    assert_accessible(a, "console on a phone, sidebar open")


def test_the_widget_and_the_demo_pages_in_their_main_states(server, new_page):
    offline = visitor_offline(new_page, server)
    assert_accessible(offline, "demo page, nobody online")
    offline.get_by_test_id("chat-button").click()
    expect(offline.get_by_test_id("leave-message")).to_be_visible()
    assert_accessible(offline, "widget leave-message form")

    pinned = new_page()
    pinned.goto(f"{server.url}/demo/pinned")
    expect(pinned.get_by_test_id("pinned-warning")).to_be_visible()
    assert_accessible(pinned, "demo page with the incorrect code")

    a = alice(new_page, server)
    v = visitor(new_page, server, "/demo?page=chairs")
    assert_accessible(v, "demo page, chat button online")
    invite_button(a, v).click()
    expect(v.get_by_test_id("invitation")).to_be_visible()
    assert_accessible(v, "widget invitation")
    v.get_by_test_id("invitation-decline").click()

    v.get_by_test_id("chat-button").click()
    expect(v.get_by_test_id("widget-waiting")).to_be_visible()
    assert_accessible(v, "widget calling")
    a.get_by_test_id("status").click()  # every operator away while the call waits
    expect(v.get_by_test_id("widget-leave-instead")).to_be_visible()
    assert_accessible(v, "widget calling, nobody available")
    a.get_by_test_id("status").click()
    a.get_by_test_id("accept").click()

    say(v, "Is the folding chair in stock?")
    a.get_by_test_id("input").fill("Yes")  # the visitor sees "Alice is typing…"
    expect(v.get_by_test_id("widget-typing")).to_be_visible()
    assert_accessible(v, "widget chat")
    v.get_by_test_id("widget-end").click()
    expect(v.get_by_test_id("widget-end-confirm")).to_be_visible()
    assert_accessible(v, "widget asking whether to end the chat")
    v.get_by_test_id("widget-end-yes").click()
    expect(v.get_by_test_id("widget-ended")).to_be_visible()
    assert_accessible(v, "widget, chat ended")

    v.set_viewport_size(PHONE)
    v.get_by_test_id("chat-button").click()
    expect(v.get_by_test_id("widget-waiting")).to_be_visible()
    assert_accessible(v, "widget calling on a phone")


def invite_button(console, page):
    """The console's Invite button for the visitor on `page`."""
    visitor_id = page.get_by_test_id("widget").get_attribute("data-visitor")
    return console.locator(f"[data-testid=invite-visitor][data-visitor='{visitor_id}']")


def visitor_offline(new_page, server):
    page = new_page()
    page.goto(f"{server.url}/demo")
    expect(page.get_by_test_id("chat-button")).to_have_attribute("data-online", "false")
    return page


def test_the_control_panel_in_its_main_states(server, new_page):
    _, v = chatting(new_page, server)
    say(v, "Do you ship to Norway?")
    visitor(new_page, server, "/demo/pinned")
    visitor(new_page, server, "/demo/pinned")  # a visitor-id conflict to list

    login = new_page()
    login.goto(f"{server.url}/control")
    expect(login.get_by_test_id("login")).to_be_visible()
    assert_accessible(login, "Control Panel login form")

    panel = control(new_page, server)
    expect(panel.get_by_test_id("operator-row")).to_have_count(2)
    assert_accessible(panel, "Control Panel: Operators")
    headings = {
        "buttons": "Chat Button Codes",
        "settings": "Settings",
        "transcripts": "Transcripts",
        "offline": "Offline messages",
        "conflicts": "Visitor-id conflicts",
    }
    for page, heading in headings.items():
        panel.get_by_test_id(f"nav-{page}").click()
        expect(panel.get_by_test_id("view").locator("h1")).to_have_text(heading)
        if page == "transcripts":
            panel.get_by_test_id("view-transcript").first.click()
            expect(panel.get_by_test_id("transcript")).to_contain_text("Norway")
        assert_accessible(panel, f"Control Panel: {page}")


def test_the_landing_page(server, new_page):
    page = new_page()
    page.goto(f"{server.url}/")
    for path in ("/console", "/demo", "/demo/pinned", "/control"):
        expect(page.locator(f'a[href="{path}"]')).to_have_count(1)
    assert_accessible(page, "landing page")
