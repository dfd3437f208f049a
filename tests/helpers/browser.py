"""A real Chromium for the console's browser tests (Debian's or Playwright's, with the flags every Chromium here
needs), and where their screenshots go. Fixtures: `chromium` (a browser), `browser_page` (a context at 1400 px)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from cedula.registry.browser import CHROMIUM_ARGS, BrowserConfig

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def chromium(monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True)
        yield browser
        browser.close()
        connections.close_all()


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20_000)
        yield context
        browser.close()
        connections.close_all()  # see tests/public/conftest.py: the connection the test opened under Playwright


# The console is looked at on a desk and on a phone.
WIDTHS = {"1440": (1440, 1000), "390": (390, 844)}


def chromium_path() -> str | None:
    """The Chromium the deployment's own client launches (None: Playwright's download), for a person's browser."""
    return BrowserConfig.from_settings().executable
