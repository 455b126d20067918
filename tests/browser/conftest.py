"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The browser is never downloaded: CHROMIUM_PATH or /usr/bin/chromium (scripts/test installs it).
Every page records its console so a test can assert that no Content Security Policy was violated.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    executable = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(f"The browser tests need Chromium at {executable}: apt-get install chromium, or set CHROMIUM_PATH.")
    # Playwright's sync API keeps an event loop in this thread; Django's ORM refuses to run beside one
    # unless told that this is a test process where nothing else runs concurrently.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


class ConsoleLog(list):
    def csp_violations(self) -> list[str]:
        return [text for text in self if "Content Security Policy" in text or "Content-Security-Policy" in text]


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_log = ConsoleLog()
    page.on("console", lambda message: page.console_log.append(f"{message.type}: {message.text}"))
    yield page
    context.close()


@pytest.fixture
def sign_in():
    def sign_in(page, username: str) -> None:
        page.goto("/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")

    return sign_in


@pytest.fixture
def screenshot():
    def screenshot(page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return screenshot
