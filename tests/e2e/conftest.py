"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's
live_server. No browser is downloaded: tests/services.sh installs the `chromium` package.

Every test under tests/e2e/ is marked `e2e` (deselect them with `-m "not e2e"`).

live_server makes a test transactional: every table is emptied after it, rows that data
migrations made (the role groups, the process catalogue) included. A transactional test that
needs such rows creates them itself (role_user creates a missing group); don't count on
them, nor on `serialized_rollback`, which collides with the content types that the flush
after an earlier transactional test re-creates.

    def test_login(page, live_server, owner_user, role_user_password, browser_login):
        browser_login(page, owner_user.username, role_user_password)
        page.goto("/")   # relative to live_server.url
"""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

# Chromium as root in a container, with no network beyond 127.0.0.1: no sandbox, no GPU, and
# none of the background connections to Google's services.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    raise pytest.UsageError(
        "Chromium not found: install Debian's chromium package (make test does)."
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Hooks in a conftest see every collected item, not only this folder's.
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One Chromium per test module; stopped with the module, so its event loop is gone
    before the tests of other modules run."""
    from playwright.sync_api import sync_playwright

    # While the browser is open, Playwright's sync API keeps an event loop in this thread, and
    # Django refuses ORM calls (the tests', pytest-django's, live_server's) from a thread with
    # a running loop unless told it is safe. It is: the loop is Playwright's, and the tests
    # are plain synchronous code. Set only meanwhile, so that no other test, and no
    # subprocess started by one (`check --deploy` refuses it), inherits it.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh browser context (no cookies) and page; relative URLs go to live_server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """Errors the page logs from now on, CSP violations among them.

    The browser's own request for /favicon.ico is left out: no page asks for it.
    """
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def browser_login() -> Callable:
    """browser_login(page, username, password): log in through the login page."""

    def login(page, username: str, password: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    return login
