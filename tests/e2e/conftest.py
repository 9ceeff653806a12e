"""Browser fixtures: the test app served on a free loopback port, one Chromium, a page per test.

Everything under ``tests/e2e`` is marked ``browser``. Without Playwright or Chromium these tests
skip, saying why; with ``PORTAL_REQUIRE_BROWSER=1`` (set by CI) they fail instead, so a broken
browser setup cannot pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.e2e.browser import CHROMIUM_ARGS, DEFAULT_CHROMIUM, TIMEOUT_MS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only the ones collected from this folder.
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.browser)


def browser_required() -> bool:
    return os.environ.get("PORTAL_REQUIRE_BROWSER", "").strip() == "1"


def browser_unavailable(reason: str, details: str = "") -> NoReturn:
    """Skip (a developer's machine without a browser) or fail (CI, which must run these)."""
    if browser_required():
        message = f"{reason} (PORTAL_REQUIRE_BROWSER=1, so this is an error)"
        pytest.fail(f"{message}\n{details}".rstrip(), pytrace=False)
    pytest.skip(f"{reason}; set PORTAL_REQUIRE_BROWSER=1 to make this an error")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        browser_unavailable(f"Playwright is not installed ({error}); pip install -e '.[browser]'")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    from playwright.sync_api import Error as PlaywrightError

    executable = os.environ.get("PORTAL_CHROMIUM") or DEFAULT_CHROMIUM
    if not Path(executable).is_file():
        browser_unavailable(f"Chromium not found at {executable} (set PORTAL_CHROMIUM)")
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except PlaywrightError as error:
        first_line = error.message.strip().splitlines()[0] if error.message.strip() else ""
        browser_unavailable(f"Chromium at {executable} did not start: {first_line}", error.message)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context (no cookies); keyword arguments go to ``new_context``."""
    contexts: list[BrowserContext] = []

    def open_page(**options: Any) -> Page:
        context = browser.new_context(**{"base_url": live_server, "locale": "en-US", **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def expect(browser: Browser) -> Any:
    """Playwright's ``expect``, imported only once the browser is known to be there."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return expect


@pytest.fixture
def assert_accessible() -> Callable[[Page], None]:
    """Run axe-core in the page and fail with each violation's rule and nodes."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError as error:
        browser_unavailable(f"axe-playwright-python is not installed ({error})")

    axe = Axe()

    def check(page: Page) -> None:
        violations = axe.run(page).response["violations"]
        assert not violations, f"axe found {len(violations)} violation(s) on {page.url}:\n" + (
            "\n".join(
                f"- {v['id']} ({v['impact']}): {v['help']}\n"
                + "\n".join(
                    f"    {node['target']}: {node['html']}\n      {node.get('failureSummary', '')}"
                    for node in v["nodes"]
                )
                for v in violations
            )
        )

    return check
