"""The Playwright driver: the only module that touches Playwright. It knows nothing about the database.

One Chromium per process, reused; a fresh context (no cookies, new session) per lookup; the browser is restarted
after BROWSER_RESTART_AFTER lookups or when it crashed. Every step has its own bound and the whole attempt runs
under REGISTRY_LOOKUP_BUDGET_S, so a hung page ends as error/timeout, never as a stuck worker.

Why Chromium dies with us: Playwright's driver (node) is our child, reading commands from a pipe. When this process
dies, even by SIGKILL, the pipe closes and the driver closes every browser it launched before exiting
(tests/registry/test_browser.py::test_chromium_does_not_outlive_a_killed_worker checks it).

What counts as the answer (docs/registry.md, "Reading the answer"): the JSON that the page's own POST receives is
authoritative. The rendered answer area only corroborates, and only once it holds a recognisable answer (the parser
says anything but unexpected_page, or it shows the JSON's own message): a placeholder, a spinner or a skeleton is
never an answer. The wait for rendering is bounded (render_wait_s). When the two disagree the JSON wins, always:
the DOM never changes the outcome; the disagreement is logged (registry_answer_mismatch) and noted in the result's
message. HTML where JSON belongs is `blocked`.

Every element the client needs is found through an ordered list of ways (SELECTORS: id, then name, then label or
button text); a fallback is logged (registry_selector_fallback) and reported (LookupReport.selector_fallbacks) so
staff see the page drifting before it breaks. No form at all is unexpected_page with the page kept for a snapshot.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from playwright.async_api import Browser, BrowserContext, Locator, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright_stealth import Stealth

from cedula.normalize import mask_cedula, scrub_text
from cedula.registry.captcha import CaptchaError, CaptchaSolver, make_solver
from cedula.registry.failures import Cause, solver_cause
from cedula.registry.parser import (
    CaptchaSpend,
    LookupReport,
    LookupResult,
    answer_text,
    describe,
    is_recognisable,
    parse_result,
    same_answer,
)

logger = structlog.get_logger(__name__)

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
# A page opened ahead of its lookup (the spare) older than this is not used: its token or session may have expired.
SPARE_MAX_AGE_S = 60.0
# While the rendered answer area does not hold an answer yet, the page itself tells us when anything in the document
# changed (a MutationObserver, resolved at once when the area already differs or was replaced), so the next read
# follows the render within a frame instead of at the next poll. Every wait is bounded by the JS timer as well.
_AREA_CHANGED_JS = r"""(el, [prev, ms]) => new Promise(resolve => {
  const changed = () => !el.isConnected || el.innerHTML !== prev;
  if (changed()) { resolve(true); return; }
  let timer = null;
  const obs = new MutationObserver(() => { if (changed()) { obs.disconnect(); clearTimeout(timer); resolve(true); } });
  obs.observe(document, {childList: true, subtree: true, characterData: true, attributes: true});
  timer = setTimeout(() => { obs.disconnect(); resolve(false); }, ms);
})"""

# The type select's value for "Cédula de ciudadanía" on the census form.
CEDULA_TYPE = "-1"

_BLOCK_TEXT = re.compile(r"requested URL was rejected", re.I)

# The ways to find each element the client needs, in order: id, then name, then label or button text. The first that
# matches wins; any but the first is a fallback (the page is drifting). Names are what logs and attempts record.
Finder = Callable[[Page], Locator]
SELECTORS: dict[str, tuple[tuple[str, Finder], ...]] = {
    "nuip": (
        ("id", lambda page: page.locator("#nuip")),
        ("name", lambda page: page.locator("input[name='nuip']")),
        ("label", lambda page: page.get_by_label(re.compile(r"n[uú]mero de (documento|c[eé]dula)|nuip", re.I))),
    ),
    "tipo": (
        ("id", lambda page: page.locator("select#tipo")),
        ("name", lambda page: page.locator("select[name='tipo']")),
        ("label", lambda page: page.get_by_label(re.compile(r"tipo de consulta", re.I))),
    ),
    "enviar": (
        ("id", lambda page: page.locator("#enviar")),
        ("name", lambda page: page.locator("[name='enviar']")),
        ("text", lambda page: page.get_by_role("button", name=re.compile(r"^\s*(consultar|buscar)\s*$", re.I))),
    ),
    # The answer area has no name or label: after its id, the ids other versions of the page used, then the live
    # region a screen reader would announce.
    "success": (
        ("id", lambda page: page.locator("#success")),
        ("alt-id", lambda page: page.locator("#resultado, #respuesta, #resultados")),
        ("aria-live", lambda page: page.locator("[aria-live]")),
    ),
}


@dataclass(frozen=True)
class BrowserConfig:
    registry_url: str
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
    # How many pages are kept open ahead. Two, so that a page slower to open (an interstitial, a late form) than a
    # lookup is to run still never waits on the lookup's path when lookups follow back to back.
    prewarm_pages: int = 2

    @classmethod
    def from_settings(cls, **overrides: Any) -> BrowserConfig:
        """The one place that reads django.conf.settings for the browser."""
        from django.conf import settings

        values: dict[str, Any] = {
            "registry_url": settings.REGISTRY_URL,
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


def chromium_executable() -> str | None:
    """The Chromium this deployment uses, resolved from settings (also for tests that drive a person's browser)."""
    from django.conf import settings

    return resolve_chromium_executable(
        settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE, Path(settings.BASE_DIR) / "var" / ".chromium"
    )


def desktop_user_agent(browser_version: str) -> tuple[str, str]:
    """(User-Agent, navigator.platform) of desktop Chrome on this OS, in Chrome's reduced UA form."""
    major = browser_version.split(".", 1)[0] or "120"
    return (
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36",
        "Linux x86_64",
    )


class _Failure(Exception):
    """A classified registry problem raised inside a lookup and turned into a LookupResult at its edge."""

    def __init__(self, kind: str, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.cause = cause  # a failures.Cause when the system, not the row, failed


def _error(kind: str, message: str, cause: str = "") -> LookupResult:
    return LookupResult(status="error", error_kind=kind, message=message, cause=cause)


_NET_ERROR = re.compile(r"net::ERR_[A-Z_]+")


def _classify_playwright_error(exc: PlaywrightError) -> _Failure:
    text = str(exc)
    net = _NET_ERROR.search(text)
    if net:
        kind = "timeout" if net.group(0) in ("net::ERR_TIMED_OUT", "net::ERR_CONNECTION_TIMED_OUT") else "network"
        return _Failure(kind, f"Error de red: {net.group(0)}")
    return _Failure("browser", f"El navegador falló: {text.splitlines()[0][:160] if text else type(exc).__name__}")


@dataclass
class _Seen:
    html: str = ""
    fallbacks: list[str] = field(default_factory=list)
    captcha: CaptchaSpend = CaptchaSpend()  # i24b: the inline solve's spend (issue 24's pipeline replaces this)


@dataclass
class _Form:
    """A page with the form found (or what stood in its place), ready for one lookup."""

    context: BrowserContext
    page: Page
    opened_at: float
    elements: dict[str, Locator] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    result: LookupResult | None = None  # set when the page was no form (block page, unknown page)
    html: str = ""
    failure: BaseException | None = None  # opening failed (a spare is then opened again, on the lookup's path)
    type_chosen: bool = False  # the document type is already selected (done while the page waited for its lookup)


@dataclass
class _Budget:
    deadline: float
    total_s: float

    def step(self, limit_s: float) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0.05:
            raise _Failure("timeout", f"Se agotó el presupuesto de {self.total_s:g} s de la consulta.")
        return min(limit_s, remaining)

    def ms(self, limit_s: float) -> float:
        return self.step(limit_s) * 1000


@dataclass
class RegistryClient:
    """Async: one browser per client, reused; a fresh context per lookup. `lookup` never raises for registry trouble."""

    config: BrowserConfig
    launches: int = 0
    _playwright: Playwright | None = field(default=None, repr=False)
    _browser: Browser | None = field(default=None, repr=False)
    _stealth: Stealth | None = field(default=None, repr=False)
    _user_agent: str = ""
    _lookups_on_browser: int = 0
    _solver: CaptchaSolver | None = field(default=None, repr=False)
    _spares: collections.deque[asyncio.Task[_Form]] = field(default_factory=collections.deque, repr=False)
    _closing: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._solver = make_solver(
            kind=self.config.captcha_solver, api_url=self.config.captcha_api_url, api_key=self.config.captcha_api_key
        )

    @property
    def user_agent(self) -> str:
        return self._user_agent

    async def lookup(self, cedula: str) -> LookupReport:
        started = time.monotonic()
        seen = _Seen()
        try:
            result = await asyncio.wait_for(self._attempt(cedula, seen, started), timeout=self.config.budget_s)
        except TimeoutError:
            result = _error("timeout", f"Se agotó el presupuesto de {self.config.budget_s:g} s de la consulta.")
        except _Failure as failure:
            result = _error(failure.kind, failure.message, failure.cause)
        except PlaywrightTimeoutError:
            result = _error("timeout", "Un paso de la consulta no terminó a tiempo.")
        except PlaywrightError as exc:
            classified = _classify_playwright_error(exc)
            result = _error(classified.kind, classified.message)
        except Exception as exc:  # the contract: classify, never raise for registry trouble
            logger.exception("registry_lookup_crashed")
            result = _error("browser", f"Fallo inesperado del cliente: {type(exc).__name__}")
        if result.status == "error":
            # Messages come partly from Playwright's exception text: never let a cedula-shaped number through.
            result = dataclasses.replace(result, message=scrub_text(result.message))
        if result.error_kind == "browser":
            await self._close_browser()  # a broken browser is not reused
        duration_ms = int((time.monotonic() - started) * 1000)
        for fallback in seen.fallbacks:
            element, way = fallback.split(":", 1)
            logger.warning("registry_selector_fallback", cedula=mask_cedula(cedula), element=element, way=way)
        logger.info(
            "registry_lookup_done",
            cedula=mask_cedula(cedula),
            status=result.status,
            error_kind=result.error_kind,
            duration_ms=duration_ms,
        )
        spend = seen.captcha
        if spend.used and result.error_kind == "captcha":  # i24b: the page refused the token we sent
            spend = dataclasses.replace(spend, refused=spend.used)
        elif spend.solved > spend.used:  # i24b: paid for, and the lookup ended before its POST left
            spend = dataclasses.replace(spend, wasted=spend.solved - spend.used)
        return LookupReport(
            result=result,
            html=seen.html,
            duration_ms=duration_ms,
            selector_fallbacks=tuple(seen.fallbacks),
            captcha=spend,
        )

    async def probe_page(self) -> LookupResult | None:
        """The open gate's cheap probe (issue 23): the registry page in a fresh context, the form found; no captcha
        solve, no POST. None when the form is there, else the error result (with its cause)."""
        try:
            browser = await self._ensure_browser()
            form = await asyncio.wait_for(self._open_form(browser, budget=None), self.config.budget_s)
        except (_Failure, PlaywrightError, TimeoutError) as exc:
            failure = exc if isinstance(exc, _Failure) else _Failure("browser", type(exc).__name__)
            return _error(failure.kind, scrub_text(failure.message), failure.cause)
        try:
            if isinstance(form.failure, _Failure):
                return _error(form.failure.kind, scrub_text(form.failure.message), form.failure.cause)
            return form.result
        finally:
            await _close_quietly(form.context)

    async def close(self) -> None:
        await self._close_browser()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._playwright.stop(), CLOSE_TIMEOUT_S)
            self._playwright = None

    # --- the browser ------------------------------------------------------------------------------------------------

    async def _ensure_browser(self) -> Browser:
        if self._browser is not None and not self._browser.is_connected():
            logger.warning("registry_browser_lost")
            await self._close_browser()
        if self._browser is not None:
            return self._browser
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.config.executable,
                headless=self.config.headless,
                args=[*CHROMIUM_ARGS, *LEAN_ARGS, *(STEALTH_ARGS if self.config.stealth else ())],
                timeout=30_000,
            )
        except PlaywrightError as exc:
            raise _Failure("browser", f"No se pudo iniciar Chromium: {str(exc).splitlines()[0][:160]}") from exc
        self.launches += 1
        self._lookups_on_browser = 0
        self._user_agent, platform = desktop_user_agent(self._browser.version)
        self._stealth = Stealth(
            navigator_platform_override=platform,
            navigator_user_agent_override=self._user_agent,
            navigator_languages_override=("es-CO", "es"),
        )
        logger.info("registry_browser_started", version=self._browser.version, executable=self.config.executable)
        return self._browser

    async def new_context(self, browser: Browser | None = None) -> BrowserContext:
        """A fresh context (no cookies, no storage) dressed as desktop Chrome: used once per lookup, then closed."""
        browser = browser or await self._ensure_browser()
        if not self.config.stealth:
            return await browser.new_context()
        assert self._stealth is not None
        context = await browser.new_context(
            # Set here, not only in script: the request header must lose "HeadlessChrome" too.
            user_agent=self._user_agent,
            locale="es-CO",
            timezone_id="America/Bogota",
            viewport={"width": 1366, "height": 768},
            extra_http_headers={"Accept-Language": "es-CO,es;q=0.9"},
        )
        await self._stealth.apply_stealth_async(context)
        return context

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        spares, self._spares = list(self._spares), collections.deque()
        for spare in spares:
            spare.cancel()
            with contextlib.suppress(BaseException):
                await _close_quietly((await spare).context)
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=CLOSE_TIMEOUT_S)
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_S)

    # --- one lookup -------------------------------------------------------------------------------------------------

    async def _attempt(self, cedula: str, seen: _Seen, started: float) -> LookupResult:
        budget = _Budget(deadline=started + self.config.budget_s, total_s=self.config.budget_s)
        browser = await self._ensure_browser()
        self._lookups_on_browser += 1
        form = None
        try:
            form = await self._take_form(browser, budget)
            return await self._drive(form, cedula, budget, seen)
        finally:
            if form is not None:
                # Closing is not on the lookup's path: the report goes back while Chromium tears the context down.
                task = asyncio.create_task(_close_quietly(form.context))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            if self._lookups_on_browser >= self.config.restart_after:
                logger.info("registry_browser_recycled", lookups=self._lookups_on_browser)
                await self._close_browser()

    async def _take_form(self, browser: Browser, budget: _Budget) -> _Form:
        """This lookup's fresh context with the form open: the oldest one opened ahead, else a new one.

        Either way the next ones (up to prewarm_pages) start opening now (context, page, navigation through any
        interstitial, the form found), overlapping this lookup's waits on the network and, in the worker, the
        throttle gap. One GET and one POST per lookup, as before: the GETs of the next lookups merely happen early.
        A spare that failed to open, or is older than SPARE_MAX_AGE_S (its token may have expired), is closed and
        the page opened again here.
        """
        spare = self._spares.popleft() if self._spares else None
        form = None
        if spare is not None:
            with contextlib.suppress(Exception):
                form = await asyncio.wait_for(asyncio.shield(spare), budget.step(self.config.nav_timeout_s))
            if form is None:
                spare.cancel()
                spare.add_done_callback(_close_spare)
            elif (
                form.failure is not None
                or not browser.is_connected()
                or time.monotonic() - form.opened_at > SPARE_MAX_AGE_S
            ):
                await _close_quietly(form.context)
                form = None
        if self.config.prewarm:
            # Never more pages ahead than lookups left on this browser before it is recycled.
            wanted = min(self.config.prewarm_pages, self.config.restart_after - self._lookups_on_browser)
            while len(self._spares) < wanted:
                task = asyncio.create_task(self._open_form(browser, budget=None))
                task.add_done_callback(_consume_exception)
                self._spares.append(task)
        if form is None:
            form = await self._open_form(browser, budget=budget)
            if form.failure is not None:
                await _close_quietly(form.context)
                raise form.failure
        return form

    async def _open_form(self, browser: Browser, *, budget: _Budget | None) -> _Form:
        """A fresh context and page, the registry page loaded and its form found. Never raises but on cancellation:
        a failure is kept in `.failure` (for a spare, nobody is waiting yet)."""
        cfg = self.config
        own = budget or _Budget(
            deadline=time.monotonic() + cfg.nav_timeout_s + cfg.form_timeout_s,
            total_s=cfg.nav_timeout_s + cfg.form_timeout_s,
        )
        context = await self.new_context(browser)
        try:
            page = await context.new_page()
            form = _Form(context=context, page=page, opened_at=time.monotonic())
            try:
                await self._load_form(form, own)
            except _Failure as exc:
                form.failure = exc
            except PlaywrightError as exc:
                form.failure = _page_load_failure(_classify_playwright_error(exc))
            form.opened_at = time.monotonic()
            return form
        except BaseException:
            await _close_quietly(context)
            raise

    async def _load_form(self, form: _Form, budget: _Budget) -> None:
        cfg = self.config
        page = form.page
        # A first visit may be a challenge that sets a cookie and reloads, and the form may show up late: we wait for
        # a visible number input, found any of its ways, or the block page.
        try:
            response = await page.goto(
                cfg.registry_url, wait_until="domcontentloaded", timeout=budget.ms(cfg.nav_timeout_s)
            )
        except PlaywrightTimeoutError as exc:
            raise _Failure("timeout", "La página del registro no cargó a tiempo.", Cause.REGISTRY_DOWN) from exc
        except PlaywrightError as exc:
            raise _page_load_failure(_classify_playwright_error(exc)) from exc
        if response is not None:
            try:
                self._check_status(response.status)
            except _Failure as failure:
                raise _page_load_failure(failure) from None
        await _wait_for_form(page, budget.step(cfg.form_timeout_s))
        blocked = page.get_by_text(_BLOCK_TEXT)
        missing = ["nuip"]
        if not await blocked.count():
            missing = []
            for element in ("nuip", "tipo", "enviar"):
                found = await _find(page, element)
                if found is None:
                    missing.append(element)
                    continue
                form.elements[element], way = found
                if way != SELECTORS[element][0][0]:
                    form.fallbacks.append(f"{element}:{way}")
            if not missing:
                # The type does not depend on the cedula: a page opened ahead has it chosen before its lookup comes,
                # as a person picks "Cédula de ciudadanía" first. A failure here is retried on the lookup's path.
                with contextlib.suppress(PlaywrightError):
                    await form.elements["tipo"].select_option(CEDULA_TYPE, timeout=budget.ms(cfg.form_timeout_s))
                    form.type_chosen = True
                return
        form.html = await _content(page)
        result = parse_result(form.html)
        if result.error_kind == "blocked":
            result = dataclasses.replace(result, cause=Cause.BLOCKED)
        else:
            what = (
                "el formulario de consulta"
                if "nuip" in missing
                else "parte del formulario (" + ", ".join(missing) + ")"
            )
            result = _error("unexpected_page", f"La página del registro no tiene {what}.")
        form.result = result

    async def _drive(self, form: _Form, cedula: str, budget: _Budget, seen: _Seen) -> LookupResult:
        cfg = self.config
        page = form.page
        seen.fallbacks.extend(form.fallbacks)
        if form.result is not None:
            seen.html = form.html
            return form.result

        # The form, like a person would fill it.
        if not form.type_chosen:
            await form.elements["tipo"].select_option(CEDULA_TYPE, timeout=budget.ms(cfg.form_timeout_s))
        await form.elements["nuip"].fill(cedula, timeout=budget.ms(cfg.form_timeout_s))
        await self._solve_captcha(page, budget, seen)

        # Submit and wait for the page's own POST to its own URL to finish (or fail): its body is the answer.
        answered: asyncio.Future[tuple[PlaywrightRequest, str | None]] = asyncio.get_running_loop().create_future()
        form_path = _path(page.url)

        def on_done(request: PlaywrightRequest, failure: str | None) -> None:
            if request.method == "POST" and _path(request.url) == form_path and not answered.done():
                answered.set_result((request, failure))

        page.on("requestfinished", lambda request: on_done(request, None))
        page.on("requestfailed", lambda request: on_done(request, request.failure or "net::ERR_FAILED"))
        await form.elements["enviar"].click(timeout=budget.ms(cfg.form_timeout_s))
        if seen.captcha.solved:  # i24b: the token left with the POST
            seen.captcha = dataclasses.replace(seen.captcha, used=1)
        try:
            request, failure = await asyncio.wait_for(answered, budget.step(cfg.answer_timeout_s))
        except TimeoutError as exc:
            raise _Failure("timeout", "El registro no respondió a tiempo.") from exc
        if failure:
            kind = "timeout" if "TIMED_OUT" in failure else "network"
            raise _Failure(kind, f"La respuesta del registro se cortó: {failure[:80]}")
        response = await request.response()
        if response is None:
            raise _Failure("network", "El registro no devolvió respuesta.")
        seen.html = await asyncio.wait_for(response.text(), budget.step(cfg.answer_timeout_s))
        self._check_status(response.status)
        return await self._read_answer(page, cedula, seen, budget)

    async def _solve_captcha(self, page: Page, budget: _Budget, seen: _Seen) -> None:
        widget = await page.query_selector(".g-recaptcha[data-sitekey]")
        if widget is None:
            return
        if self._solver is None:
            # A POST without an answer is refused for certain: the registry is not asked in vain.
            raise _Failure("captcha", "La página pide captcha y no hay resolvedor configurado.", Cause.NO_SOLVER)
        site_key = await widget.get_attribute("data-sitekey") or ""
        try:
            token = await self._solver.solve_recaptcha_v2(
                site_key=site_key, page_url=page.url, timeout_s=budget.step(self.config.captcha_timeout_s)
            )
        except CaptchaError as exc:
            raise _Failure("captcha", str(exc), solver_cause(exc.code) or "") from exc
        seen.captcha = CaptchaSpend(solved=1)  # i24b: paid for from here, used once the POST leaves
        await page.evaluate(
            "token => { const el = document.getElementById('g-recaptcha-response'); if (el) { el.value = token; } }",
            token,
        )

    @staticmethod
    def _check_status(status: int) -> None:
        if status == 429:
            raise _Failure("rate_limited", "El registro respondió 429 (demasiadas peticiones).")
        if status >= 500:
            raise _Failure("server_error", f"El registro respondió HTTP {status}.")

    async def _read_answer(self, page: Page, cedula: str, seen: _Seen, budget: _Budget) -> LookupResult:
        """The JSON's answer (authoritative), corroborated by the rendered answer area."""
        try:
            data = json.loads(seen.html)
        except ValueError:
            result = parse_result(seen.html)
            # The registry answers its bot defence with an HTML page where JSON belongs: "not JSON" means blocked.
            if result.error_kind == "unexpected_page":
                return _error(
                    "blocked", "El registro respondió HTML en lugar de JSON (bloqueo probable).", Cause.BLOCKED
                )
            if result.error_kind == "blocked":
                return dataclasses.replace(result, cause=Cause.BLOCKED)
            return result
        if not isinstance(data, dict):
            return _error("unexpected_page", "Respuesta JSON sin la forma esperada.")
        message = (data.get("data") or {}).get("message") if isinstance(data.get("data"), dict) else None
        if data.get("reload"):
            answer = _error("expired", "El token o la sesión del formulario venció (reload).")
        elif not isinstance(message, str) or not message.strip():
            return _error("unexpected_page", "Respuesta JSON sin mensaje.")
        else:
            answer = parse_result(message)
        seen.html = message if isinstance(message, str) else ""
        return await self._corroborate(page, cedula, answer, seen, budget)

    async def _corroborate(
        self, page: Page, cedula: str, answer: LookupResult, seen: _Seen, budget: _Budget
    ) -> LookupResult:
        """Read what the page rendered, within render_wait_s, and compare it with the JSON's answer.

        The rule (docs/registry.md): the DOM counts only once it holds a recognisable answer (the parser says anything
        but unexpected_page) or shows the JSON's own message text; until then it is still rendering (a placeholder,
        a spinner, a skeleton) and we keep reading. Agreement ends the wait. When the wait ends without agreement the
        JSON's answer stands, always; a DOM that showed a different answer is a mismatch (logged, and noted in the
        message staff see), a DOM that showed nothing readable is noted as not corroborated.
        """
        found = await _find(page, "success")
        if found is None:
            logger.warning("registry_answer_unconfirmed", cedula=mask_cedula(cedula), reason="no_answer_area")
            return _noted(answer, "no se encontró el área de respuesta en la página")
        area, way = found
        if way != SELECTORS["success"][0][0]:
            seen.fallbacks.append(f"success:{way}")
        expected_text = answer_text(seen.html)
        # The JSON is in hand: corroborating may use what is left of the budget, never turn the answer into a timeout.
        deadline = min(time.monotonic() + self.config.render_wait_s, budget.deadline - 0.1)
        shown: tuple[str, LookupResult] | None = None
        html: str | None = None
        while True:
            with contextlib.suppress(PlaywrightError):
                html = await area.inner_html(timeout=max(1.0, (deadline - time.monotonic()) * 1000))
                dom = parse_result(html)
                rendered = bool(expected_text) and expected_text in answer_text(html)
                if is_recognisable(dom) or rendered:
                    shown = (html, dom)
                    if same_answer(dom, answer):
                        seen.html = html
                        return answer
            remaining = deadline - time.monotonic()
            if remaining <= 0.01:
                break
            await self._until_area_changes(area, html, remaining)

        if shown is None:
            logger.warning("registry_answer_unconfirmed", cedula=mask_cedula(cedula), reason="not_rendered")
            return _noted(answer, "la página no mostró la respuesta a tiempo")
        seen.html, dom = shown
        logger.warning(
            "registry_answer_mismatch",
            cedula=mask_cedula(cedula),
            json_answer=describe(answer),
            dom_answer=describe(dom),
            recorded=describe(answer),
        )
        return _noted(answer, f"la página mostró otra respuesta ({describe(dom)}); vale la del JSON")

    @staticmethod
    async def _until_area_changes(area: Locator, html: str | None, remaining: float) -> None:
        """Return once the document changed so that the area may read differently, or `remaining` has passed."""
        if html is None:  # the area could not be read: try again shortly
            await asyncio.sleep(min(0.05, remaining))
            return
        try:
            await asyncio.wait_for(
                area.evaluate(_AREA_CHANGED_JS, [html, int(remaining * 1000)], timeout=remaining * 1000),
                remaining + 0.5,
            )
        except (PlaywrightError, TimeoutError):
            # Navigated away, closed, or replaced mid-wait: the next read finds out.
            await asyncio.sleep(min(0.05, max(remaining, 0)))


def _page_load_failure(failure: _Failure) -> _Failure:
    """The page itself could not be loaded (refused, reset, empty, DNS, timeout, 5xx): the registry is down for every
    row, not for this one. A browser fault stays the worker's own."""
    if failure.kind in ("network", "timeout", "server_error"):
        failure.cause = Cause.REGISTRY_DOWN
    return failure


def _noted(result: LookupResult, note: str) -> LookupResult:
    return dataclasses.replace(result, message=f"{result.message} [{note}]".strip())


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path.rstrip("/")


# True once a number input is visible (any of SELECTORS["nuip"]'s ways, mirrored here) or the block page is shown.
# Checked every animation frame: Playwright's own locator wait backs off to 500 ms between checks, which a form shown
# late, after an interstitial's reload, pays on every lookup.
_FORM_READY_JS = r"""() => {
  const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  if (/requested URL was rejected/i.test(document.body ? document.body.textContent : '')) { return true; }
  const labelled = Array.from(document.querySelectorAll('label'))
    .filter(l => /n[uú]mero de (documento|c[eé]dula)|nuip/i.test(l.textContent || ''))
    .map(l => l.control);
  return [document.querySelector('#nuip'), document.querySelector("input[name='nuip']"), ...labelled].some(shown);
}"""


async def _wait_for_form(page: Page, timeout_s: float) -> None:
    """Wait until the form (or the block page) is shown, across the reloads of an interstitial; quietly give up at
    the bound (what the page then holds decides: block page, form, or unexpected page)."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            await page.wait_for_function(_FORM_READY_JS, polling="raf", timeout=remaining * 1000)
            return
        except PlaywrightTimeoutError:
            return
        except PlaywrightError:
            # The page navigated (an interstitial reloading) while we were checking: check the new document.
            with contextlib.suppress(PlaywrightError):
                await page.wait_for_load_state("domcontentloaded", timeout=max(remaining, 0.05) * 1000)


async def _find(page: Page, element: str) -> tuple[Locator, str] | None:
    """The element by the first of its ways that matches now, and that way's name; None when none does."""
    for way, finder in SELECTORS[element]:
        locator = finder(page)
        with contextlib.suppress(PlaywrightError):
            if await locator.count():
                return locator.first, way
    return None


def _close_spare(task: asyncio.Task[_Form]) -> None:
    # A spare abandoned while still opening: once it settles, its context goes.
    if task.cancelled() or task.exception() is not None:
        return
    asyncio.ensure_future(_close_quietly(task.result().context))


async def _close_quietly(context: BrowserContext) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(context.close(), CLOSE_TIMEOUT_S)


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # A spare that failed is simply not used (the lookup makes its own); do not warn about it.
    if not task.cancelled():
        task.exception()


async def _content(page: Page) -> str:
    with contextlib.suppress(PlaywrightError):
        return await page.content()
    return ""


class BrowserRunner:
    """A sync facade for the Django-Q2 worker: a private event loop in its own thread, one RegistryClient."""

    def __init__(self, config: BrowserConfig | None = None) -> None:
        self.config = config or BrowserConfig.from_settings()
        self.client = RegistryClient(self.config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="registry-browser", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()  # one lookup at a time per process
        self._closed = False

    def lookup(self, cedula: str) -> LookupReport:
        with self._lock:
            if self._closed:
                raise RuntimeError("BrowserRunner is closed")
            started = time.monotonic()
            future = asyncio.run_coroutine_threadsafe(self.client.lookup(cedula), self._loop)
            try:
                # The client enforces the budget itself; this only guards against a wedged event loop, and still
                # ends well inside Django-Q2's 120 s task timeout with the default 90 s budget.
                return future.result(timeout=self.config.budget_s + 15)
            except concurrent.futures.TimeoutError:
                future.cancel()
                logger.error("registry_runner_wedged", cedula=mask_cedula(cedula))
                return LookupReport(
                    result=_error("timeout", "El navegador no terminó dentro de su presupuesto."),
                    html="",
                    duration_ms=int((time.monotonic() - started) * 1000),
                )

    def probe_page(self) -> LookupResult | None:
        """RegistryClient.probe_page, from the worker's thread."""
        with self._lock:
            if self._closed:
                raise RuntimeError("BrowserRunner is closed")
            future = asyncio.run_coroutine_threadsafe(self.client.probe_page(), self._loop)
            return future.result(timeout=self.config.budget_s + 15)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.client.close(), self._loop).result(timeout=15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()


_runner: BrowserRunner | None = None
_runner_pid: int | None = None
_runner_lock = threading.Lock()


def get_runner() -> BrowserRunner:
    """This process's runner. A forked child gets its own: the parent's loop thread and browser did not come along."""
    global _runner, _runner_pid
    with _runner_lock:
        if _runner is None or _runner_pid != os.getpid():
            _runner = BrowserRunner()
            _runner_pid = os.getpid()
        return _runner


def _close_runner_at_exit() -> None:
    if _runner is not None and _runner_pid == os.getpid():
        with contextlib.suppress(Exception):
            _runner.close()


atexit.register(_close_runner_at_exit)
