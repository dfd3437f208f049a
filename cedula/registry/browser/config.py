"""The browser's configuration: every setting the registry client uses, read from django.conf.settings in one place
(BrowserConfig.from_settings), and where the Chromium binary is."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Without these Chromium phones home (updates, sync, QUIC probes) and floods the closed network. Always passed.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# One site, one renderer: without it every fresh context also spawns a spare renderer process it never uses.
LEAN_ARGS = ("--disable-site-isolation-trials",)
# navigator.webdriver stays false without a script patch (what playwright-stealth does when it hooks launch).
STEALTH_ARGS = ("--disable-blink-features=AutomationControlled", "--accept-lang=es-CO,es")
# Debian's builds of the same Chromium: the headless shell (what Playwright itself runs headless; about twice as
# fast per lookup as the full browser in headless mode), then the full browser.
# Debian's /usr/bin/chromium-headless-shell is a shell wrapper that does not exec: the binary itself is launched, so
# the process Playwright watches (and kills) is Chromium, not a shell in front of it.
SYSTEM_CHROMIUMS = (
    Path("/usr/lib/chromium/chromium-headless-shell"),
    Path("/usr/bin/chromium-headless-shell"),
    Path("/usr/bin/chromium"),
)
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class BrowserConfig:
    registry_url: str  # the first source's page (wsp): REGISTRY_URL
    consultacenso_url: str = "https://consultacenso.registraduria.gov.co/"  # REGISTRY_CONSULTACENSO_URL
    nav_timeout_s: float = 20.0
    form_timeout_s: float = 10.0
    answer_timeout_s: float = 20.0
    budget_s: float = 90.0
    restart_after: int = 200
    headless: bool = True
    executable: str | None = None
    captcha_solver: str = "none"
    captcha_api_url: str = ""
    captcha_api_key: str = ""
    captcha_timeout_s: float = 45.0
    render_wait_s: float = 3.0  # how long the rendered answer area may take to corroborate the JSON
    stealth: bool = True  # off only to show, in tests, what the stand-in does to a plain Playwright browser
    prewarm: bool = True  # open the next lookups' pages while this one runs (off for one-shot commands)
    # How many pages are kept open ahead, at most (never more than the lookups due after this one). Two, so that a
    # page slower to open (an interstitial, a late form) than a lookup is to run still never waits on the lookup's
    # path when lookups follow back to back.
    prewarm_pages: int = 2
    # A page opened ahead older than this is not used: its token or session may have expired.
    page_max_age_s: float = 60.0
    # The captcha pipeline (captcha/pipeline.py): solves ahead of the throttle for the lookups that are due.
    captcha_ahead: bool = True  # off: the inline solve, one solve on each lookup's path (the bench's baseline)
    captcha_ahead_max: int = 8  # never more solves in flight or ready than this
    captcha_safe_age_s: float = 100.0  # a token older than this is never sent (Google's limit is 120 s)
    captcha_first_poll_s: float = 15.0  # the solver's manners (docs/registry.md, "Solver manners")
    captcha_poll_s: float = 5.0
    captcha_no_slot_wait_s: float = 5.0
    captcha_zero_balance_wait_s: float = 60.0
    min_gap_s: float = 5.0  # REGISTRY_MIN_GAP_S: the pace the pipeline plans for (the throttle itself is the DB's)

    def url_for(self, source: str) -> str:
        """The page address of a source (cedula.registry.sources)."""
        return self.consultacenso_url if source == "consultacenso" else self.registry_url

    @classmethod
    def from_settings(cls, **overrides: Any) -> BrowserConfig:
        """The one place that reads django.conf.settings for the browser."""
        from django.conf import settings

        values: dict[str, Any] = {
            "registry_url": settings.REGISTRY_URL,
            "consultacenso_url": settings.REGISTRY_CONSULTACENSO_URL,
            "nav_timeout_s": settings.REGISTRY_NAV_TIMEOUT_S,
            "form_timeout_s": settings.REGISTRY_FORM_TIMEOUT_S,
            "answer_timeout_s": settings.REGISTRY_ANSWER_TIMEOUT_S,
            "budget_s": settings.REGISTRY_LOOKUP_BUDGET_S,
            "restart_after": settings.BROWSER_RESTART_AFTER,
            "headless": settings.BROWSER_HEADLESS,
            "executable": resolve_chromium_executable(
                settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE,
                Path(settings.BASE_DIR) / "var" / ".chromium",
                headless=settings.BROWSER_HEADLESS,
            ),
            "captcha_solver": settings.CAPTCHA_SOLVER,
            "captcha_api_url": settings.CAPTCHA_API_URL,
            "captcha_api_key": settings.CAPTCHA_API_KEY,
            "captcha_timeout_s": settings.CAPTCHA_TIMEOUT_S,
            "prewarm_pages": settings.REGISTRY_PAGES_AHEAD,
            "captcha_ahead": settings.CAPTCHA_AHEAD,
            "captcha_ahead_max": settings.CAPTCHA_AHEAD_MAX,
            "captcha_safe_age_s": settings.CAPTCHA_SAFE_AGE_S,
            "captcha_first_poll_s": settings.CAPTCHA_FIRST_POLL_S,
            "captcha_poll_s": settings.CAPTCHA_POLL_S,
            "captcha_no_slot_wait_s": settings.CAPTCHA_NO_SLOT_WAIT_S,
            "captcha_zero_balance_wait_s": settings.CAPTCHA_ZERO_BALANCE_WAIT_S,
            "min_gap_s": settings.REGISTRY_MIN_GAP_S,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


def resolve_chromium_executable(configured: str, stamp: Path, *, headless: bool = True) -> str | None:
    """The setting, else the path `make chromium` wrote, else Debian's Chromium; None means Playwright's own."""
    if configured:
        return configured
    with contextlib.suppress(OSError):
        found = stamp.read_text().strip()
        if found and found != "playwright" and Path(found).exists():
            if headless or "headless-shell" not in found:
                return found
    for candidate in SYSTEM_CHROMIUMS:
        if candidate.exists() and (headless or "headless-shell" not in candidate.name):
            return str(candidate)
    return None


def desktop_user_agent(browser_version: str) -> tuple[str, str]:
    """(User-Agent, navigator.platform) of desktop Chrome on this OS, in Chrome's reduced UA form."""
    major = browser_version.split(".", 1)[0] or "120"
    return (
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36",
        "Linux x86_64",
    )
