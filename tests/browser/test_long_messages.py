"""A message over the 4,000-character limit: the console and the widget say so in words and
keep the text; the server's own refusal is put in the same words (client.js)."""

from playwright.sync_api import expect

from server.protocol import MAX_TEXT_CHARS
from tests.browser.people import chatting

TOO_LONG = "Too long: 4,312 characters; the limit is 4,000"


def long_text(length):
    return ("Where is my parasol? " * (length // 21 + 1))[:length]


def test_console_says_a_message_is_too_long_and_keeps_it(server, new_page):
    a, v = chatting(new_page, server)
    text = long_text(4312)
    a.get_by_test_id("input").fill(text)
    a.get_by_test_id("send").click()
    expect(a.get_by_test_id("compose-error")).to_have_text(TOO_LONG)
    expect(a.get_by_test_id("input")).to_have_value(text)
    expect(a.get_by_test_id("pending")).to_have_count(0)  # nothing sent
    a.get_by_test_id("input").fill(text[:MAX_TEXT_CHARS])  # shortened: it goes
    expect(a.get_by_test_id("compose-error")).to_be_hidden()
    a.get_by_test_id("send").click()
    expect(v.get_by_test_id("widget-history").locator(".text")).to_have_text(
        [text[:MAX_TEXT_CHARS].strip()]
    )
    expect(a.get_by_test_id("input")).to_have_value("")


def test_widget_says_a_message_is_too_long_and_keeps_it(server, new_page):
    a, v = chatting(new_page, server)
    text = long_text(4312)
    v.get_by_test_id("widget-input").fill(text)
    v.get_by_test_id("widget-send").click()
    expect(v.get_by_test_id("widget-error")).to_have_text(TOO_LONG)
    expect(v.get_by_test_id("widget-input")).to_have_value(text)
    expect(v.get_by_test_id("widget-pending")).to_have_count(0)
    v.get_by_test_id("widget-input").fill(text[:MAX_TEXT_CHARS])
    expect(v.get_by_test_id("widget-error")).to_have_count(0)
    v.get_by_test_id("widget-send").click()
    expect(a.get_by_test_id("history").locator(".text")).to_have_text(
        [text[:MAX_TEXT_CHARS].strip()]
    )


def test_the_servers_refusal_of_a_long_text_is_put_in_words(server, new_page):
    # Past the page's own check (another client, or a server with a lower limit): the
    # server's raw validation message becomes the same words.
    page = new_page()
    page.goto(f"{server.url}/demo")
    got = page.evaluate(
        """async (text) => {
            const { describeError } = await import("/static/js/client.js");
            const ws = new WebSocket(`ws://${location.host}/ws/visitor`);
            await new Promise((resolve) => { ws.onopen = resolve; });
            const frame = { type: "send", id: "probe-1", room: "room_probe", text };
            const error = await new Promise((resolve) => {
              ws.onmessage = (m) => {
                const event = JSON.parse(m.data);
                if (event.type === "welcome") ws.send(JSON.stringify(frame));
                if (event.type === "error") resolve(event);
              };
              ws.send(JSON.stringify({ type: "hello", account: "demo", button: "btn_main",
                                       page_instance: "pg_probe", url: location.href }));
            });
            ws.close();
            return { raw: error.message, seq: error.seq || 0, words: describeError(error, frame) };
        }""",
        long_text(4312),
    )
    assert "length <= 4000" in got["raw"] and got["seq"] == 0  # not taken: no seq
    assert got["words"] == TOO_LONG[0].lower() + TOO_LONG[1:]
