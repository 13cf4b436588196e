"""Browser tests: the reference server in a thread of its own, Chromium via Playwright.

The fixtures: a server (``server``, or ``restartable`` on a fixed port and database), the
browser (one for the session), fresh pages (``new_page``) and a folder for screenshots
(``shots``). What tests import (timings, Chromium, ``running_server``, ``Observed``) is in
harness.py; the people and the links they use are in people.py and links.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.serve import RunningServer
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, Restartable, running_server

if shutil.which(CHROMIUM) is None:
    if os.environ.get("CI"):  # CI installs it: a missing browser must fail, not skip
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run should have installed it")
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    server = Restartable(tmp_path / "ringlab.db")
    server.start()
    yield server
    server.stop()


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
