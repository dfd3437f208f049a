"""The Playwright driver, a package by concern: the only code that touches Playwright. It knows nothing about the
database.

    config.py   the settings read in one place (BrowserConfig), the Chromium binary and its flags
    steps.py    what every step shares: the classified failure, the lookup's budget
    form.py     the form and its finders (each source's selectors), opening its page through any interstitial
    answer.py   submitting and reading the answer (the POST's JSON is authoritative, the DOM corroborates)
    ahead.py    pages kept ahead, for the lookups that are due
    client.py   RegistryClient: one lookup on a source (cedula.registry.sources), the captcha pipeline
    slot.py     the throttle slot, taken as the POST leaves
    runner.py   BrowserRunner and get_runner: the worker's sync facade

Why Chromium dies with us: Playwright's driver (node) is our child, reading commands from a pipe. When this process
dies, even by SIGKILL, the pipe closes and the driver closes every browser it launched before exiting
(tests/registry/test_browser.py::test_chromium_does_not_outlive_a_killed_worker checks it).
"""

from __future__ import annotations

from cedula.registry.browser.client import RegistryClient
from cedula.registry.browser.config import CHROMIUM_ARGS, BrowserConfig, desktop_user_agent
from cedula.registry.browser.runner import BrowserRunner, get_runner
from cedula.registry.browser.slot import SlotTaker
from cedula.registry.parser import LookupReport

__all__ = [
    "CHROMIUM_ARGS",
    "BrowserConfig",
    "BrowserRunner",
    "LookupReport",
    "RegistryClient",
    "SlotTaker",
    "desktop_user_agent",
    "get_runner",
]
