"""Fixtures of the console tests: staff in each role, and rows the console shows (defined in tests/helpers/console.py,
which tests/security shares)."""

from __future__ import annotations

from tests.helpers.browser import browser_page, chromium  # noqa: F401
from tests.helpers.console import _console_settings, attempt_factory, batch_factory, staff_in  # noqa: F401
