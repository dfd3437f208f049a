"""Fixtures of the public-site tests."""

from __future__ import annotations

import pytest
from django.db import connections


@pytest.fixture(autouse=True)
def _public_site_settings(settings, tmp_path):
    # Pages link their CSS/JS through {% static %}: without collectstatic there is no manifest, so tests use the
    # plain storage (the live server serves the files from the app directories).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A private cache: the registration throttle must not see other test runs' counters in var/cache.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    settings.REFRESH_MAX_PER_HOUR = 1
    settings.REFRESH_MAX_PER_DAY = 5
    # Registration and login hash passwords; the production hasher costs ~0.5 s a time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(user_factory):
    """A registered person; registering queued a lookup of their cedula (status pending)."""
    return user_factory(cedula="52123456", email="ana@example.com")


# --- A person's browser (real Chromium through Playwright) --------------------------------------------------------

from cedula.registry.browser import CHROMIUM_ARGS as BROWSER_FLAGS  # noqa: E402
from tests.helpers.browser import chromium_path  # noqa: E402

# The flags every Chromium here needs (without them it floods the closed network).
CHROMIUM_ARGS = list(BROWSER_FLAGS)


@pytest.fixture
def phone(monkeypatch):
    """A phone-sized Chromium page for the person using the public site."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(locale="es-CO", viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # ORM calls made while Playwright's loop runs open a connection of their own (another context of this
            # thread): close it, or PostgreSQL refuses to drop the test database at the end of the run.
            connections.close_all()
