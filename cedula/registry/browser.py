"""The Playwright driver: the only module that touches Playwright. It knows nothing about the database.

One Chromium per process, reused; a fresh context (no cookies, new session) per lookup; the browser is restarted
after BROWSER_RESTART_AFTER lookups or when it crashed. Every step has its own bound and the whole attempt runs
under REGISTRY_LOOKUP_BUDGET_S, so a hung page ends as error/timeout, never as a stuck worker.

Why Chromium dies with us: Playwright's driver (node) is our child, reading commands from a pipe. When this process
dies, even by SIGKILL, the pipe closes and the driver closes every browser it launched before exiting
(tests/registry/test_browser.py::test_chromium_does_not_outlive_a_killed_worker checks it).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright_stealth import Stealth

from cedula.normalize import mask_cedula, scrub_text
from cedula.registry.captcha import CaptchaError, CaptchaSolver, make_solver
from cedula.registry.parser import LookupReport, LookupResult, parse_result

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
    stealth: bool = True  # off only to show, in tests, what the stand-in does to a plain Playwright browser
    prewarm: bool = True  # prepare the next lookup's context while this one runs (off for one-shot commands)

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

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _error(kind: str, message: str) -> LookupResult:
    return LookupResult(status="error", error_kind=kind, message=message)


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
    _spare: asyncio.Task[tuple[BrowserContext, Page]] | None = field(default=None, repr=False)
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
            result = _error(failure.kind, failure.message)
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
        logger.info(
            "registry_lookup_done",
            cedula=mask_cedula(cedula),
            status=result.status,
            error_kind=result.error_kind,
            duration_ms=duration_ms,
        )
        return LookupReport(result=result, html=seen.html, duration_ms=duration_ms)

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
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.cancel()
            with contextlib.suppress(BaseException):
                context, _page = await spare
                await _close_quietly(context)
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
        context = None
        try:
            context, page = await self._take_page(browser)
            return await self._drive(page, cedula, budget, seen)
        finally:
            if context is not None:
                # Closing is not on the lookup's path: the report goes back while Chromium tears the context down.
                task = asyncio.create_task(_close_quietly(context))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            if self._lookups_on_browser >= self.config.restart_after:
                logger.info("registry_browser_recycled", lookups=self._lookups_on_browser)
                await self._close_browser()

    async def _take_page(self, browser: Browser) -> tuple[BrowserContext, Page]:
        """This lookup's fresh context and page: the one warmed during the previous lookup, else a new one.

        Either way the next one starts warming now, overlapping this lookup's waits on the network (and, in the
        worker, the throttle gap), so a context's set-up is rarely on a lookup's path.
        """
        spare, self._spare = self._spare, None
        prepared = None
        if spare is not None:
            with contextlib.suppress(Exception):
                prepared = await spare
            if prepared is not None and not browser.is_connected():
                await _close_quietly(prepared[0])
                prepared = None
        if prepared is None:
            prepared = await self._prepare_page(browser)
        if self.config.prewarm and self._lookups_on_browser < self.config.restart_after:
            self._spare = asyncio.create_task(self._prepare_page(browser))
            self._spare.add_done_callback(_consume_exception)
        return prepared

    async def _prepare_page(self, browser: Browser) -> tuple[BrowserContext, Page]:
        context = await self.new_context(browser)
        try:
            return context, await context.new_page()
        except BaseException:
            await _close_quietly(context)
            raise

    async def _drive(self, page: Page, cedula: str, budget: _Budget, seen: _Seen) -> LookupResult:
        cfg = self.config
        # 1. The page. A first visit may be a challenge that sets a cookie and reloads: we wait for the form itself.
        try:
            response = await page.goto(
                cfg.registry_url, wait_until="domcontentloaded", timeout=budget.ms(cfg.nav_timeout_s)
            )
        except PlaywrightTimeoutError as exc:
            raise _Failure("timeout", "La página del registro no cargó a tiempo.") from exc
        except PlaywrightError as exc:
            raise _classify_playwright_error(exc) from exc
        if response is not None:
            self._check_status(response.status)
        form = page.locator("#nuip")
        blocked = page.get_by_text(re.compile(r"requested URL was rejected", re.I))
        try:
            await form.or_(blocked).first.wait_for(state="attached", timeout=budget.ms(cfg.form_timeout_s))
        except PlaywrightTimeoutError as exc:
            seen.html = await _content(page)
            result = parse_result(seen.html)
            if result.error_kind == "blocked":
                return result
            raise _Failure("timeout", "El formulario no apareció a tiempo.") from exc
        if not await form.count():
            seen.html = await _content(page)
            return parse_result(seen.html)

        # 2. The form, like a person would fill it.
        await page.fill("#nuip", cedula, timeout=budget.ms(cfg.form_timeout_s))
        await page.select_option("#tipo", "-1", timeout=budget.ms(cfg.form_timeout_s))
        await self._solve_captcha(page, budget)

        # 3. Submit and wait for the page's own POST to finish (or fail).
        answered: asyncio.Future[tuple[PlaywrightRequest, str | None]] = asyncio.get_running_loop().create_future()

        def on_done(request: PlaywrightRequest, failure: str | None) -> None:
            if request.method == "POST" and not answered.done():
                answered.set_result((request, failure))

        page.on("requestfinished", lambda request: on_done(request, None))
        page.on("requestfailed", lambda request: on_done(request, request.failure or "net::ERR_FAILED"))
        await page.click("#enviar", timeout=budget.ms(cfg.form_timeout_s))
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
        return await self._read_answer(page, seen, budget)

    async def _solve_captcha(self, page: Page, budget: _Budget) -> None:
        widget = await page.query_selector(".g-recaptcha[data-sitekey]")
        if widget is None or self._solver is None:
            return  # without a solver the registry refuses and the parser says error/captcha
        site_key = await widget.get_attribute("data-sitekey") or ""
        try:
            token = await self._solver.solve_recaptcha_v2(
                site_key=site_key, page_url=page.url, timeout_s=budget.step(self.config.captcha_timeout_s)
            )
        except CaptchaError as exc:
            raise _Failure("captcha", str(exc)) from exc
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

    async def _read_answer(self, page: Page, seen: _Seen, budget: _Budget) -> LookupResult:
        try:
            data = json.loads(seen.html)
        except ValueError:
            result = parse_result(seen.html)
            # The registry answers its bot defence with an HTML page where JSON belongs: "not JSON" means blocked.
            if result.error_kind == "unexpected_page":
                return _error("blocked", "El registro respondió HTML en lugar de JSON (bloqueo probable).")
            return result
        if not isinstance(data, dict):
            return _error("unexpected_page", "Respuesta JSON sin la forma esperada.")
        if data.get("reload"):
            return _error("expired", "El token o la sesión del formulario venció (reload).")
        message = (data.get("data") or {}).get("message") if isinstance(data.get("data"), dict) else None
        if not isinstance(message, str) or not message.strip():
            return _error("unexpected_page", "Respuesta JSON sin mensaje.")
        # What the person would see: the page's script renders the message into #success.
        with contextlib.suppress(PlaywrightError):
            await page.wait_for_function(
                "() => { const el = document.querySelector('#success'); return el && el.innerHTML.trim() !== ''; }",
                timeout=budget.ms(min(5.0, self.config.answer_timeout_s)),
            )
            seen.html = await page.inner_html("#success", timeout=budget.ms(5.0))
            return parse_result(seen.html)
        seen.html = message
        return parse_result(message)


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
