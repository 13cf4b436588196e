"""The visitor's chat lives as long as the browser tab stays on the site: it goes on across
reloads and pages of the site, and a message sent while the link is down waits, visibly,
until the server has it: it is never lost, never swallowed and never shown twice."""

from playwright.sync_api import expect

from server.app import ServerConfig
from tests.browser.harness import AT_ONCE, RECONNECT, Observed, running_server
from tests.browser.links import Cable, Via, cut, plug, proxied, unplug
from tests.browser.people import alice, chatting, say, tab, visitor


def test_the_chat_goes_on_across_a_reload_and_another_page_of_the_site(server, new_page):
    a, v = chatting(new_page, server)
    expect(tab(a, "active")).to_have_count(1)
    said = v.get_by_test_id("widget-history").locator(".text")
    heard = a.get_by_test_id("history").locator(".text")
    say(v, "Hello from the home page")
    a.get_by_test_id("input").fill("Welcome!")
    a.get_by_test_id("send").click()
    expect(said).to_have_text(["Hello from the home page", "Welcome!"])

    v.reload()
    expect(said).to_have_text(["Hello from the home page", "Welcome!"])
    say(v, "Still me, after a reload")

    v.get_by_test_id("page-chairs").click()
    expect(v.get_by_test_id("page-title")).to_have_text("Chairs")
    expect(said).to_have_text(["Hello from the home page", "Welcome!", "Still me, after a reload"])
    # the operator's tab stays and shows the visitor's new page: a move, not a departure
    expect(a.locator("[data-testid=tab] .label")).to_have_text("Demo Shop - Chairs")
    expect(a.get_by_test_id("visitor-info")).to_contain_text("/demo?page=chairs")
    a.get_by_test_id("input").fill("Those are in stock")
    a.get_by_test_id("send").click()
    everything = [
        "Hello from the home page",
        "Welcome!",
        "Still me, after a reload",
        "Those are in stock",
    ]
    expect(said).to_have_text(everything)
    expect(heard).to_have_text(everything)
    expect(tab(a, "active")).to_have_count(1)
    expect(a.get_by_test_id("notice")).to_have_count(0)  # no "The visitor left"
    expect(a.get_by_test_id("visitor")).to_have_count(1)  # one visitor, on its latest page


def test_a_message_written_while_the_link_is_down_waits_then_goes_once(server, new_page):
    with proxied(server, "") as proxy:
        a = alice(new_page, server)
        v = visitor(new_page, Via(proxy))
        v.get_by_test_id("chat-button").click()
        a.get_by_test_id("accept").click()
        expect(v.get_by_test_id("widget-input")).to_be_visible()
        cut(proxy, 60_000)  # silent: the next frame goes into the link and stays there
        v.get_by_test_id("widget-input").fill("Are you still there?")
        v.get_by_test_id("widget-input").press("Enter")
        pending = v.get_by_test_id("widget-pending")
        expect(pending).to_have_text("You: Are you still there? Sending…")
        unplug(proxy)  # the connection drops, with the frame, and reconnecting fails
        expect(v.get_by_test_id("widget-connection")).to_have_text(
            "Connection lost — reconnecting…"
        )
        expect(pending).to_have_count(1)
        plug(proxy)
        heard = a.get_by_test_id("history").locator(".text")
        expect(heard).to_have_text(["Are you still there?"], timeout=RECONNECT)
        expect(pending).to_have_count(0)
        expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(
            ["Are you still there?"]
        )
        expect(v.get_by_test_id("widget-connection")).to_have_count(0)
        expect(heard).to_have_text(["Are you still there?"])


def test_a_message_whose_answer_was_lost_is_sent_again_by_the_next_page_and_shown_once(
    new_page,
):
    seen = Observed()
    with running_server(ServerConfig(observer=seen)) as server:
        a = alice(new_page, server)
        v = new_page()
        cable = Cable(v)
        v.goto(f"{server.url}/demo")
        expect(v.get_by_test_id("chat-button")).to_have_attribute("data-online", "true")
        v.get_by_test_id("chat-button").click()
        a.get_by_test_id("accept").click()
        expect(v.get_by_test_id("widget-input")).to_be_visible()
        cable.deafen()  # the server takes what the page sends; its answers never arrive
        text = "Do you deliver on Saturdays?"
        v.get_by_test_id("widget-input").fill(text)
        v.get_by_test_id("widget-input").press("Enter")
        heard = a.get_by_test_id("history").locator(".text")
        expect(heard).to_have_text([text])  # the server has it
        expect(v.get_by_test_id("widget-pending")).to_contain_text("Sending…")  # no ok yet
        v.get_by_test_id("page-parasols").click()
        expect(v.get_by_test_id("page-title")).to_have_text("Parasols")
        said = v.get_by_test_id("widget-history").locator(".text")
        expect(said).to_have_text([text])
        expect(v.get_by_test_id("widget-pending")).to_have_count(0)
        expect(heard).to_have_text([text])
        # sent again by the new page with its id: answered, not applied twice
        sends = seen.wait_for(
            v,
            "frame_received",
            AT_ONCE,
            count=2,
            where=lambda f: getattr(f["message"], "text", None) == text,
        )
        assert len(sends) == 2 and sends[0]["message"].id == sends[1]["message"].id


def test_after_a_chat_ended_the_button_starts_a_new_one_also_on_the_next_page(server, new_page):
    a, v = chatting(new_page, server)
    say(v, "Thanks, that was all")
    a.get_by_test_id("tab-x").click()
    expect(v.get_by_test_id("widget-ended")).to_be_visible()
    v.reload()  # the ended chat is kept for the tab, with its history
    expect(v.get_by_test_id("widget-ended")).to_be_visible()
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(
        ["Thanks, that was all"]
    )
    v.get_by_test_id("chat-button").click()
    expect(tab(a, "ringing")).to_have_count(1)
    expect(v.get_by_test_id("widget-waiting")).to_be_visible()
