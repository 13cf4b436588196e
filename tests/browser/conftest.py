"""Browser tests: the reference server in a thread of its own, Chromium via Playwright.

Playwright's Python API runs on asyncio (its sync API hides that), and the server
runs on trio, so the server gets a thread with its own trio loop and the tests
drive the browser with the sync API.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from server.app import ServerConfig
from server.serve import RunningServer, open_server

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

if shutil.which(CHROMIUM) is None:
    if os.environ.get("CI"):  # CI installs it: a missing browser must fail, not skip
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run should have installed it")
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@contextmanager
def in_trio_thread(open_cm: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """Enter an async context manager in a background thread's trio loop; yield its value."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = trio.Event()
        box["token"], box["stop"] = trio.lowlevel.current_trio_token(), stop
        async with open_cm() as value:
            box["value"] = value
            started.set()
            await stop.wait()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    assert started.wait(30), "did not start"
    try:
        yield box["value"]
    finally:
        trio.from_thread.run_sync(box["stop"].set, trio_token=box["token"])
        thread.join(10)


def running_server(config: ServerConfig | None = None) -> AbstractContextManager[RunningServer]:
    """A reference server on a free loopback port, served from a background thread."""
    return in_trio_thread(lambda: open_server(config))


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator:
    """Pages in fresh contexts (separate storage: separate people)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    errors: list[str] = []
    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where a test saves its screenshots."""
    out = Path("test-output") / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    return out
