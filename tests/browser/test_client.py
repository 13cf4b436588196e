"""client.js on its own: request ids that never repeat across page loads, and the one
table of plain words for the server's error codes."""

import re


def first_id(page):
    return page.evaluate(
        """async () => {
            const { Client } = await import("/static/js/client.js");
            const client = new Client("ws://127.0.0.1:9/ws/visitor", () => ({}), () => {});
            const request = client.request({ type: "call" });  // not connected: just pending
            return request.id;
        }"""
    )


def test_request_ids_do_not_repeat_across_page_loads(server, new_page):
    # A resumed session answers a repeated id with its old answer, without applying it:
    # the next page's first request must not look like the previous page's.
    page = new_page()
    page.goto(f"{server.url}/demo")
    ids = [first_id(page)]
    page.reload()
    ids.append(first_id(page))
    assert all(re.fullmatch(r"r[0-9a-f]{12}\.1", i) for i in ids), ids
    assert ids[0] != ids[1]


WORDS = [
    (
        {"code": "rate_limited", "retry_after": 2.2},
        {"type": "send"},
        "you are sending too fast; try again in 3 s",
    ),
    (
        {"code": "server_busy", "retry_after": 0.5},
        {"type": "accept"},
        "the server is busy; try again in 1 s",
    ),
    (
        {"code": "not_found", "message": "no call 'call_x'"},
        {"type": "accept"},
        "this call no longer exists",
    ),
    (
        {"code": "illegal_state", "message": "operator cannot 'accept' a call in state 'accepted'"},
        {"type": "accept"},
        "another operator took this call",
    ),
    (
        {"code": "illegal_state", "message": "operator cannot 'accept' a call in state 'missed'"},
        {"type": "accept"},
        "this call has already ended",
    ),
    (
        {"code": "forbidden", "message": "call 'c' is not ringing"},
        {"type": "accept"},
        "this call is not ringing at your console",
    ),
    (
        {"code": "forbidden", "message": "not your room"},
        {"type": "send"},
        "you are not in this chat",
    ),
    (
        {"code": "not_found", "message": "no room 'r'"},
        {"type": "join"},
        "this chat no longer exists",
    ),
    (
        {"code": "limit_reached", "message": "you already have 5 chats (max 5)"},
        {"type": "join"},
        "you already have 5 chats (max 5)",
    ),
    (
        {"code": "too_large", "message": "frame is 70000 bytes"},
        {"type": "send", "text": "é" * 20000},
        "too long: 20,000 characters; the limit is 4,000",
    ),
]


def test_error_codes_are_said_in_plain_words(server, new_page):
    page = new_page()
    page.goto(f"{server.url}/demo")
    got = page.evaluate(
        """async (cases) => {
            const { describeError } = await import("/static/js/client.js");
            return cases.map(([error, frame]) => describeError({ type: "error", ...error }, frame));
        }""",
        [[error, frame] for error, frame, _ in WORDS],
    )
    assert got == [words for _, _, words in WORDS]
