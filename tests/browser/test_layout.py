"""The pages' layout where it used to break: long words and URLs, the outage banner, a long
page title in the sidebar, the Ring policy and Settings fields, and a phone's width."""

from playwright.sync_api import expect

from tests.browser.harness import RECONNECT
from tests.browser.links import Via, plug, proxied, unplug
from tests.browser.people import alice, chatting, control, say, tab, visitor

PHONE = {"width": 375, "height": 667}
#: One word, no hyphen or slash to break at after the host: the worst case for wrapping.
LONG_URL = "https://shop.example/" + "x" * 400
LONG_WORD = "Parasol" * 60


def overflow(locator):
    """How far the element's content sticks out sideways (0 when it fits)."""
    return locator.evaluate("(el) => el.scrollWidth - el.clientWidth")


def inside(inner, outer):
    a, b = inner.bounding_box(), outer.bounding_box()
    return (
        a["x"] >= b["x"] - 0.5
        and a["y"] >= b["y"] - 0.5
        and a["x"] + a["width"] <= b["x"] + b["width"] + 0.5
        and a["y"] + a["height"] <= b["y"] + b["height"] + 0.5
    )


def overlap(one, other):
    a, b = one.bounding_box(), other.bounding_box()
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_long_words_and_urls_wrap_in_the_widget_and_the_console(server, new_page):
    a, v = chatting(new_page, server)
    v.set_viewport_size(PHONE)
    window = v.get_by_test_id("widget-window")
    width = window.bounding_box()["width"]
    say(v, LONG_URL)
    a.get_by_test_id("input").fill(LONG_WORD)
    a.get_by_test_id("input").press("Enter")
    history = v.get_by_test_id("widget-history")
    expect(history.locator(".text")).to_have_text([LONG_URL, LONG_WORD])
    assert window.bounding_box()["width"] == width  # the window did not widen
    assert window.bounding_box()["x"] >= 0  # nor leave the phone's screen
    assert overflow(history) <= 0
    assert v.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    expect(a.get_by_test_id("history").locator(".text")).to_have_text([LONG_URL, LONG_WORD])
    assert overflow(a.locator("#chat")) <= 0
    assert overflow(a.get_by_test_id("history")) <= 0
    assert a.evaluate("document.documentElement.scrollWidth") <= a.viewport_size["width"]


def test_the_outage_banner_covers_nothing(server, new_page):
    with proxied(server, "") as proxy:
        a = alice(new_page, Via(proxy))
        visitor(new_page, server).get_by_test_id("chat-button").click()
        expect(tab(a, "ringing")).to_have_count(1)
        unplug(proxy)
        banner = a.get_by_test_id("connection")
        expect(banner).to_have_text("Connection lost — reconnecting…")
        for size in (a.viewport_size, PHONE):
            a.set_viewport_size(size)
            for part in ("me-name", "status", "tabs", "tab-x", "accept"):
                assert not overlap(banner, a.get_by_test_id(part)), (size, part)
            for part in ("tab-x", "accept"):  # and the clicks land on them
                box = a.get_by_test_id(part).bounding_box()
                hit = a.evaluate(
                    "([x, y]) => document.elementFromPoint(x, y).closest('[data-testid]')"
                    ".dataset.testid",
                    [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
                )
                assert hit == part, (size, part, hit)
        plug(proxy)
        expect(banner).to_be_hidden(timeout=RECONNECT)


def test_the_sidebar_keeps_invite_in_view_and_the_ring_policy_readable(server, new_page):
    a = alice(new_page, server)
    v = new_page()
    long_title = "Demo Shop - The garden parasol with a tilting arm, three metres, in sand"

    # The page's title is set before its scripts run (readyState "interactive" comes
    # before deferred and module scripts), so the widget's hello carries it.
    v.add_init_script(
        "document.addEventListener('readystatechange', () => {"
        f" if (document.readyState === 'interactive') document.title = {long_title!r}; }});"
    )
    v.goto(f"{server.url}/demo")
    expect(v).to_have_title(long_title)
    row = a.get_by_test_id("visitor")
    expect(row.get_by_test_id("visitor-page")).to_have_text(long_title)  # whole, in its title
    sidebar = a.locator("aside")
    assert inside(row.get_by_test_id("invite-visitor"), sidebar)
    assert overflow(row) <= 0
    assert overflow(sidebar) <= 0

    policy = a.get_by_test_id("policy")
    assert inside(policy, sidebar)
    for value in ("confirm", "optimistic"):
        policy.select_option(value)
        room = policy.evaluate(
            """(select) => {
                const style = getComputedStyle(select);
                const ctx = document.createElement("canvas").getContext("2d");
                ctx.font = `${style.fontSize} ${style.fontFamily}`;
                const text = ctx.measureText(select.selectedOptions[0].text).width;
                // the text box: the width less padding and the drop-down arrow (about 20 px)
                const box = select.clientWidth - parseFloat(style.paddingLeft)
                  - parseFloat(style.paddingRight) - 20;
                return box - text;
            }"""
        )
        assert room >= 0, f"{value}: the option's text is {-room:.0f} px too wide"
    expect(a.get_by_test_id("policy-hint")).to_have_text(
        "The ring stops as soon as you click Accept."
    )


def test_the_settings_fields_stay_inside_their_card(server, new_page):
    panel = control(new_page, server)
    panel.get_by_test_id("nav-settings").click()
    card = panel.get_by_test_id("settings")
    expect(card.locator("select[name=binding]")).to_be_visible()
    for field in card.locator("input, select, button").all():
        assert inside(field, card), field
    panel.set_viewport_size(PHONE)
    for field in card.locator("input, select, button").all():
        assert inside(field, card), field
    assert panel.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_on_a_phone_the_chat_gets_the_width_and_the_sidebar_folds(server, new_page):
    a, v = chatting(new_page, server)
    a.set_viewport_size(PHONE)
    chat = a.locator("#chat")
    expect(a.get_by_test_id("menu")).to_be_visible()
    assert chat.bounding_box()["width"] >= PHONE["width"] - 1
    assert a.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(a.get_by_test_id("visitors")).to_be_hidden()  # folded under its button
    a.get_by_test_id("menu").click()
    expect(a.get_by_test_id("menu")).to_have_attribute("aria-expanded", "true")
    expect(a.get_by_test_id("visitors")).to_be_visible()
    a.get_by_test_id("menu").click()
    expect(a.get_by_test_id("visitors")).to_be_hidden()
    a.get_by_test_id("input").fill("Hello from a phone")
    a.get_by_test_id("input").press("Enter")
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(["Hello from a phone"])
    assert inside(a.get_by_test_id("input"), a.locator("#compose"))
