"""Take the README's pictures again: docs/console.png (the Operator Console during a chat,
another call ringing) and docs/widget.png (the visitor's chat window on a phone).

    .venv/bin/python -m tests.browser.docs_screenshots [OUT_DIR]

A reference server of its own, Debian's Chromium (no browser download), the same people as
the browser tests. Not a test (pytest collects test_*.py only); every wait is an expect().
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, running_server
from tests.browser.people import alice, bob, say, tab, visitor

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 720}


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with running_server() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def new_page(viewport: dict[str, int] = DESKTOP) -> Page:
            context = browser.new_context(viewport=viewport)
            context.set_default_timeout(15_000)
            return context.new_page()

        a = alice(new_page, server)
        bob(new_page, server)
        v = visitor(lambda: new_page(PHONE), server, "/demo?page=chairs")
        visitor(new_page, server, "/demo?page=tables")
        v.get_by_test_id("chat-button").click()
        a.get_by_test_id("accept").click()
        expect(tab(a, "active")).to_have_count(1)
        say(v, "Hello! Does the folding chair come in other colours?")
        a.get_by_test_id("input").fill("Hello! Yes: beech, white and sage green.")
        a.get_by_test_id("input").press("Enter")
        say(v, "Is sage green in stock? https://shop.example/chairs/folding-chair?colour=sage")
        a.get_by_test_id("input").fill("It is, and it ships tomorrow.")
        a.get_by_test_id("input").press("Enter")
        expect(v.get_by_test_id("widget-history").locator(".text")).to_have_count(4)
        visitor(new_page, server, "/demo?page=parasols").get_by_test_id("chat-button").click()
        expect(tab(a, "ringing")).to_have_count(1)
        v.get_by_test_id("widget-input").fill("Great, I'll")  # the console: "is typing…"
        expect(a.get_by_test_id("typing")).to_be_visible()
        a.get_by_test_id("input").fill("Anything else I can help with?")  # a draft
        expect(v.get_by_test_id("widget-typing")).to_be_visible()

        console_png, widget_png = out / "console.png", out / "widget.png"
        a.screenshot(path=console_png)
        v.screenshot(path=widget_png)
        browser.close()
    return [console_png, widget_png]


if __name__ == "__main__":
    for path in take(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS):
        print(path)
