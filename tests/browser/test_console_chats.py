"""The Operator Console with several chats, as operators use it: one message box whose
draft belongs to each tab, typing notices that belong to their chat, a tab strip worked
from the keyboard, visitors told apart, invitations that say what came of them, and join
notices where the server put them."""

import re

from playwright.sync_api import expect

from tests.browser.people import alice, bob, chatting, say, tab, visitor

CODE = re.compile(r"^Visitor [2-9A-HJ-NP-Z]{4}$")


def chat_tab(console, page_name):
    """The console's tab for the visitor on the shop's page `page_name` ("Chairs")."""
    return console.get_by_test_id("tab").filter(has_text=page_name)


def two_chats(new_page, server):
    """Alice chatting with a visitor on the Chairs page (A) and one on Parasols (B); A shown."""
    a = alice(new_page, server)
    va = visitor(new_page, server, "/demo?page=chairs")
    vb = visitor(new_page, server, "/demo?page=parasols")
    va.get_by_test_id("chat-button").click()
    a.get_by_test_id("accept").click()
    vb.get_by_test_id("chat-button").click()
    chat_tab(a, "Parasols").get_by_role("tab").click()
    a.get_by_test_id("accept").click()
    expect(tab(a, "active")).to_have_count(2)
    chat_tab(a, "Chairs").get_by_role("tab").click()
    expect(chat_tab(a, "Chairs").get_by_role("tab")).to_have_attribute("aria-selected", "true")
    return a, va, vb


def texts(page):
    return page.get_by_test_id("widget-history").locator(".text")


def test_each_tab_keeps_its_own_draft_and_enter_sends_to_the_tab_shown(server, new_page):
    a, va, vb = two_chats(new_page, server)
    box = a.get_by_test_id("input")
    box.fill("A draft for the chairs")
    expect(va.get_by_test_id("widget-typing")).to_have_text("Alice is typing…")

    chat_tab(a, "Parasols").get_by_role("tab").click()
    expect(box).to_have_value("")  # B's own (empty) draft
    expect(va.get_by_test_id("widget-typing")).to_have_count(0)  # not typing to A any more
    box.fill("The parasols tilt")
    expect(vb.get_by_test_id("widget-typing")).to_have_text("Alice is typing…")
    box.press("Enter")
    expect(texts(vb)).to_have_text(["The parasols tilt"])
    expect(vb.get_by_test_id("widget-typing")).to_have_count(0)  # the send ends it

    chat_tab(a, "Chairs").get_by_role("tab").click()
    expect(box).to_have_value("A draft for the chairs")  # A's draft, still there
    box.press("Enter")
    expect(texts(va)).to_have_text(["A draft for the chairs"])
    expect(box).to_have_value("")
    expect(texts(vb)).to_have_text(["The parasols tilt"])  # nothing of A's went to B


def test_a_typing_notice_belongs_to_its_tab_and_clears_after_a_send_or_a_leave(server, new_page):
    a, va, vb = two_chats(new_page, server)
    typing = a.get_by_test_id("typing")
    va.get_by_test_id("widget-input").fill("Do you have")
    expect(typing).to_have_text("Visitor is typing…")  # A is shown
    chat_tab(a, "Parasols").get_by_role("tab").click()
    expect(typing).to_have_count(0)  # B's visitor is not typing
    vb.get_by_test_id("widget-input").fill("How tall")
    expect(typing).to_have_text("Visitor is typing…")
    chat_tab(a, "Chairs").get_by_role("tab").click()
    expect(typing).to_have_text("Visitor is typing…")  # A's own notice, still on
    va.get_by_test_id("widget-input").press("Enter")  # a send clears it
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(["Do you have"])
    expect(typing).to_have_count(0)

    chat_tab(a, "Parasols").get_by_role("tab").click()
    expect(typing).to_have_text("Visitor is typing…")
    vb.get_by_test_id("widget-end").click()  # B's visitor leaves while typing
    vb.get_by_test_id("widget-end-yes").click()
    expect(a.get_by_test_id("notice")).to_have_text("The visitor ended the chat")
    expect(typing).to_have_count(0)


def focused_tab_key(page):
    return page.evaluate(
        "() => document.activeElement.getAttribute('role') === 'tab'"
        " ? document.activeElement.dataset.key : null"
    )


def test_the_tab_strip_is_worked_from_the_keyboard_and_accept_moves_to_the_message_box(
    server, new_page
):
    a = alice(new_page, server)
    visitor(new_page, server, "/demo?page=chairs").get_by_test_id("chat-button").click()
    accept = a.get_by_test_id("accept")
    accept.focus()
    a.keyboard.press("Enter")  # Accept Call from the keyboard
    expect(tab(a, "active")).to_have_count(1)
    expect(a.get_by_test_id("input")).to_be_focused()  # write at once

    visitor(new_page, server, "/demo?page=parasols").get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    tabs = a.get_by_role("tab")
    expect(tabs).to_have_count(2)
    # One tab stop: the shown tab. Shift+Tab from the message box reaches it.
    expect(a.locator("[role=tab][tabindex='0']")).to_have_count(1)
    for _ in range(6):
        if focused_tab_key(a):
            break
        a.keyboard.press("Shift+Tab")
    chairs, parasols = (chat_tab(a, name).get_by_role("tab") for name in ("Chairs", "Parasols"))
    expect(chairs).to_be_focused()
    outline = a.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "the focused tab shows its focus"

    a.keyboard.press("ArrowRight")
    expect(parasols).to_be_focused()
    expect(chairs).to_have_attribute("aria-selected", "true")  # moving is not choosing
    a.keyboard.press("Enter")
    expect(parasols).to_have_attribute("aria-selected", "true")
    expect(a.get_by_test_id("accept")).to_be_visible()  # the ringing call's pane
    a.keyboard.press("ArrowRight")  # round to the first
    expect(chairs).to_be_focused()
    a.keyboard.press("Space")
    expect(chairs).to_have_attribute("aria-selected", "true")
    a.keyboard.press("End")
    a.keyboard.press("Enter")
    expect(parasols).to_have_attribute("aria-selected", "true")
    expect(a.locator("[role=tab][tabindex='0']")).to_have_text(re.compile("Parasols"))
    # Tab into the pane, to its Accept Call: the chat opens, the message box has the focus.
    for _ in range(4):
        a.keyboard.press("Tab")
        if a.evaluate("() => document.activeElement.dataset.testid") == "accept":
            break
    a.keyboard.press("Enter")
    expect(tab(a, "active")).to_have_count(2)
    expect(a.get_by_test_id("input")).to_be_focused()
    a.get_by_test_id("input").fill("Welcome")
    a.keyboard.press("Enter")
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(["Welcome"])
    parasols.focus()
    a.keyboard.press("Delete")  # the tab's X from the keyboard: this chat closes
    expect(a.get_by_role("tab")).to_have_count(1)
    expect(chairs).to_be_focused()  # the focus stays in the tab strip
    expect(chairs).to_have_attribute("aria-selected", "true")


def test_visitors_are_told_apart_by_name_page_and_time_on_the_site(server, new_page):
    a = alice(new_page, server)
    pages = {"Chairs": "/demo?page=chairs", "Parasols": "/demo?page=parasols"}
    ids = {}
    for name, path in pages.items():
        v = visitor(new_page, server, path)
        ids[name] = v.get_by_test_id("widget").get_attribute("data-visitor")
        v.get_by_test_id("chat-button").click()
    rows = a.get_by_test_id("visitor")
    expect(rows).to_have_count(2)
    names = {}
    for name, visitor_id in ids.items():
        row = a.locator(f"[data-testid=visitor][data-visitor='{visitor_id}']")
        expect(row.get_by_test_id("visitor-page")).to_have_text(f"Demo Shop - {name}")
        expect(row.get_by_test_id("visitor-time")).to_have_text("under 1 min")
        names[name] = row.get_by_test_id("visitor-name").inner_text()
        assert CODE.match(names[name]), names[name]
        # its tab: the same name and its page
        expect(chat_tab(a, name).locator(".who")).to_have_text(names[name])
    assert names["Chairs"] != names["Parasols"]
    # the same name at every console (and after a reload): it comes from the visitor id
    b = bob(new_page, server)
    for name, visitor_id in ids.items():
        row = b.locator(f"[data-testid=visitor][data-visitor='{visitor_id}']")
        expect(row.get_by_test_id("visitor-name")).to_have_text(names[name])
    # the chat pane says who, where and for how long
    chat_tab(a, "Parasols").get_by_role("tab").click()
    info = a.get_by_test_id("visitor-info")
    expect(info).to_contain_text(names["Parasols"])
    expect(info).to_contain_text("Demo Shop - Parasols")
    expect(info).to_contain_text("on the site under 1 min")
    spans = a.evaluate(
        """async () => {
            const { since } = await import("/static/js/consoleview.js");
            const now = 1_800_000_000;
            return [0, 59, 60, 7 * 60 + 5, 65 * 60].map((s) => since(now - s, now));
        }"""
    )
    assert spans == ["under 1 min", "under 1 min", "1 min", "7 min", "1 h 5 min"]


def invite_button(console, visitor_page):
    visitor_id = visitor_page.get_by_test_id("widget").get_attribute("data-visitor")
    row = console.locator(f"[data-testid=visitor][data-visitor='{visitor_id}']")
    return row.get_by_test_id("invite-visitor"), row.get_by_test_id("visitor-note")


def test_inviting_says_what_came_of_it_and_why_not(server, new_page):
    a, b = alice(new_page, server), bob(new_page, server)
    v = visitor(new_page, server)
    invite, note = invite_button(a, v)
    invite.click()
    expect(note).to_have_text("Invitation sent")
    b_invite, b_note = invite_button(b, v)
    b_invite.click()  # already invited by Alice
    expect(b_note).to_have_text("Not invited: this visitor is already invited or calling")
    v.get_by_test_id("invitation-accept").click()
    expect(note).to_have_text("Accepted your invitation")
    expect(tab(a, "active")).to_have_count(1)
    invite.click()  # again, while chatting: nothing to do, and it says why
    expect(note).to_have_text("Already chatting with you")
    b_invite.click()
    expect(b_note).to_have_text("Not invited: this visitor is already chatting")
    expect(v.get_by_test_id("invitation")).to_have_count(0)


def test_join_notices_come_where_the_server_put_them(server, new_page):
    a, v = chatting(new_page, server)
    b = bob(new_page, server)
    say(v, "one")
    a.get_by_test_id("input").fill("two")
    a.get_by_test_id("input").press("Enter")
    expect(texts(v)).to_have_text(["one", "two"])
    a.locator("[data-testid=operator][data-name=Bob]").get_by_test_id("invite-operator").click()
    b.get_by_test_id("accept").click()
    expect(v.get_by_test_id("widget-history")).to_contain_text("Bob joined the chat")
    say(v, "three")
    b.get_by_test_id("input").fill("four")
    b.get_by_test_id("input").press("Enter")
    expected = ["one", "two", "Bob joined the chat", "three", "four"]
    expect(v.get_by_test_id("widget-history").locator("li")).to_have_text(
        [re.compile(re.escape(t)) for t in expected]
    )
    expect(a.get_by_test_id("history").locator("li")).to_have_text(
        [re.compile(re.escape(t)) for t in expected]
    )
    v.reload()  # the widget keeps the chat for the tab, notices in their places
    expect(v.get_by_test_id("widget-history").locator("li")).to_have_text(
        [re.compile(re.escape(t)) for t in expected]
    )
