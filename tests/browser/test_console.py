"""The Operator Console and the visitor widget in Chromium, against the real server."""

import json
from pathlib import Path

import httpx
from playwright.sync_api import expect

from server.app import ServerConfig
from server.limits import Limits
from tests.browser.harness import running_server
from tests.browser.people import alice, bob, chatting, tab, visitor

VECTORS = Path(__file__).parent.parent / "vectors" / "console_tabs.json"


def test_tab_state_vectors_pass_in_the_js_module(server, new_page):
    page = new_page()
    page.goto(f"{server.url}/demo")
    cases = json.loads(VECTORS.read_text())["cases"]
    failures = page.evaluate(
        """async (cases) => {
            const { step } = await import("/static/js/tabstate.js");
            return cases.map((c) => ({ c, got: step(c.policy, c.state, c.event) }))
              .filter(({ c, got }) => got.state !== c.next
                || JSON.stringify(got.effects) !== JSON.stringify(c.effects));
        }""",
        cases,
    )
    assert len(cases) > 50
    assert failures == []


def test_call_rings_both_one_accepts_the_other_tab_says_taken(server, new_page, shots):
    a, b = alice(new_page, server), bob(new_page, server)
    v = visitor(new_page, server)
    v.get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    expect(tab(b, "ringing")).to_have_count(1)
    expect(a.locator(".tab.ringing")).to_have_count(1)  # flashing
    a.screenshot(path=shots / "console-ringing.png")
    b.get_by_test_id("accept").click()
    expect(tab(b, "active")).to_have_count(1)
    expect(b.locator(".tab.ringing")).to_have_count(0)
    expect(a.get_by_test_id("notice")).to_have_text("Taken by another operator")
    expect(a.locator(".tab.ringing")).to_have_count(0)
    expect(a.get_by_test_id("tab")).to_have_count(0, timeout=8000)  # closes by itself
    for i in range(3):
        v.get_by_test_id("widget-input").fill(f"visitor {i}")
        if i == 0:
            expect(b.locator(".typing")).to_have_text("Visitor is typing…")
        v.get_by_test_id("widget-send").click()
        expect(b.get_by_test_id("history").locator("li")).to_have_count(2 * i + 1)
        b.get_by_test_id("input").fill(f"operator {i}")
        b.get_by_test_id("send").click()
        expect(v.get_by_test_id("widget-history").locator("li")).to_have_count(2 * i + 2)
    expected = [x for i in range(3) for x in (f"Visitor: visitor {i}", f"Bob: operator {i}")]
    expect(b.get_by_test_id("history").locator("li")).to_have_text(expected)
    b.screenshot(path=shots / "console-chat.png")  # the README's: docs_screenshots.py
    b.get_by_test_id("tab-x").click()
    expect(v.get_by_test_id("widget-ended")).to_be_visible()
    expect(b.get_by_test_id("tab")).to_have_count(0)


def test_away_operator_does_not_ring_until_back_online(server, new_page):
    a, b = alice(new_page, server), bob(new_page, server)
    a.get_by_test_id("status").click()
    expect(a.get_by_test_id("status")).to_have_attribute("data-status", "away")
    v = visitor(new_page, server)
    v.get_by_test_id("chat-button").click()
    expect(tab(b, "ringing")).to_have_count(1)
    a.wait_for_timeout(500)
    expect(a.get_by_test_id("tab")).to_have_count(0)
    a.get_by_test_id("status").click()
    expect(a.get_by_test_id("status")).to_have_attribute("data-status", "online")
    expect(tab(a, "ringing")).to_have_count(1)


def test_declining_on_one_console_leaves_the_other_ringing(server, new_page):
    a, b = alice(new_page, server), bob(new_page, server)
    v = visitor(new_page, server)
    v.get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    expect(tab(b, "ringing")).to_have_count(1)
    a.get_by_test_id("tab-x").click()
    expect(a.get_by_test_id("tab")).to_have_count(0)
    b.wait_for_timeout(500)
    expect(tab(b, "ringing")).to_have_count(1)
    expect(b.locator(".tab.ringing")).to_have_count(1)


def test_hostile_text_is_shown_as_text(server, new_page):
    a, v = chatting(new_page, server)
    hostile = ['<img src=x onerror="window.pwned=1">', "<script>window.pwned=2</script>"]
    for text in hostile:
        v.get_by_test_id("widget-input").fill(text)
        v.get_by_test_id("widget-send").click()
    texts = a.get_by_test_id("history").locator(".text")
    expect(texts).to_have_text(hostile)
    a.get_by_test_id("input").fill(hostile[0])
    a.get_by_test_id("send").click()
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_count(3)
    assert a.evaluate("window.pwned") is None and v.evaluate("window.pwned") is None
    assert a.locator("[data-testid=history] img").count() == 0


def press(page, locator):
    """Hold the mouse button down on the element (a click is press and release)."""
    box = locator.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()


def test_accept_pressed_as_another_call_rings_in_is_not_lost(server, new_page):
    # A redraw that swapped the button between press and release lost the click.
    a = alice(new_page, server)
    visitor(new_page, server).get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    press(a, a.get_by_test_id("accept"))
    visitor(new_page, server).get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(2)
    a.mouse.up()
    expect(tab(a, "active")).to_have_count(1)


def test_send_pressed_as_a_message_arrives_is_not_lost(server, new_page):
    a, v = chatting(new_page, server)
    v.get_by_test_id("widget-input").fill("hello")
    press(v, v.get_by_test_id("widget-send"))
    a.get_by_test_id("input").fill("welcome")
    a.get_by_test_id("send").click()
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(["welcome"])
    v.mouse.up()
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(["welcome", "hello"])


def test_a_refused_message_is_said_and_its_text_given_back(new_page):
    # Three request frames: the call, a typing notice, the first message.
    with running_server(ServerConfig(limits=Limits(frame_rate=0.001, frame_burst=3))) as server:
        a, v = chatting(new_page, server)
        for text in ("first", "second"):
            v.get_by_test_id("widget-input").fill(text)
            v.get_by_test_id("widget-input").press("Enter")
        expect(v.get_by_test_id("widget-history")).to_contain_text(
            "Not sent: you are sending too fast; try again in"
        )
        expect(v.get_by_test_id("widget-input")).to_have_value("second")
        expect(a.get_by_test_id("history").locator(".text")).to_have_text(["first"])


def test_invitation_accepted_in_the_widget_and_operator_joins_with_history(server, new_page):
    a, b = alice(new_page, server), bob(new_page, server)
    v = visitor(new_page, server)
    a.get_by_test_id("invite-visitor").first.click()
    v.get_by_test_id("invitation-accept").click()
    expect(tab(a, "active")).to_have_count(1)
    v.get_by_test_id("widget-input").fill("I need help with a parasol")
    v.get_by_test_id("widget-send").click()
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(
        ["I need help with a parasol"]
    )
    a.locator("[data-testid=operator][data-name=Bob]").get_by_test_id("invite-operator").click()
    expect(tab(b, "invited")).to_have_count(1)
    b.get_by_test_id("accept").click()
    expect(tab(b, "active")).to_have_count(1)
    expect(b.get_by_test_id("history").locator(".text")).to_have_text(
        ["I need help with a parasol"]
    )
    expect(v.get_by_test_id("widget-history")).to_contain_text("Bob joined the chat")


def put_settings(server, **settings):
    token = httpx.post(
        f"{server.url}/api/login", json={"login": "alice", "password": "alice-demo"}
    ).json()["token"]
    response = httpx.put(
        f"{server.url}/api/settings", json=settings, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_pinned_code_merges_visitors_in_legacy_and_not_in_strict(server, new_page):
    a = alice(new_page, server)
    first, second = (
        visitor(new_page, server, "/demo/pinned"),
        visitor(new_page, server, "/demo/pinned"),
    )
    assert first.get_by_test_id("widget").get_attribute("data-visitor") == second.get_by_test_id(
        "widget"
    ).get_attribute("data-visitor")
    first.get_by_test_id("chat-button").click()
    a.get_by_test_id("accept").click()
    expect(tab(a, "active")).to_have_count(1)
    first.get_by_test_id("widget-input").fill("I am the first visitor")
    first.get_by_test_id("widget-send").click()
    second.get_by_test_id("chat-button").click()  # the same visitor id: the same room
    second.get_by_test_id("widget-input").fill("I am someone else")
    second.get_by_test_id("widget-send").click()
    expect(a.get_by_test_id("tab")).to_have_count(1)
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(
        ["I am the first visitor", "I am someone else"]
    )
    expect(a.get_by_test_id("pages")).to_contain_text("2 pages share this visitor id")

    put_settings(server, binding="strict")
    third, fourth = (
        visitor(new_page, server, "/demo/pinned"),
        visitor(new_page, server, "/demo/pinned"),
    )
    assert third.get_by_test_id("widget").get_attribute("data-visitor") != fourth.get_by_test_id(
        "widget"
    ).get_attribute("data-visitor")
    third.get_by_test_id("chat-button").click()
    fourth.get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(2)  # two visitors, two tabs


def test_demo_page_embeds_the_snippet_it_shows(server, new_page):
    page = new_page()
    page.goto(f"{server.url}/demo")
    shown = page.get_by_test_id("snippet").inner_text()
    src = page.locator("script[type=module][src*='widget.js']").get_attribute("src")
    assert f'src="{src}"' in shown and "visitor=" not in src
    pinned = new_page()
    pinned.goto(f"{server.url}/demo/pinned")
    assert "visitor=" in pinned.locator("script[src*='widget.js']").get_attribute("src")
