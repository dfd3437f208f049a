"""The registry client: one Chromium per client, reused; a fresh context (no cookies, new session) per lookup; the
browser restarted after BROWSER_RESTART_AFTER lookups or when it crashed. Every step has its own bound and the whole
attempt runs under REGISTRY_LOOKUP_BUDGET_S, so a hung page ends as error/timeout, never as a stuck worker.

One lookup: a page (opened ahead, or now), the form filled, a captcha token (solved ahead by the pipeline, or now),
then the throttle slot, taken through the caller's `take_slot` right before the POST leaves, so no two requests reach
the registry closer than the gap whatever the page load or the solve took; then the answer (answer.py). A token the
page refuses is reported and replaced once, on a fresh page, with one more slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright_stealth import Stealth

from cedula.normalize import mask_cedula, scrub_text
from cedula.registry.browser.ahead import Opener, PagesAhead
from cedula.registry.browser.answer import Seen, read_answer, submit
from cedula.registry.browser.config import (
    CHROMIUM_ARGS,
    CLOSE_TIMEOUT_S,
    LEAN_ARGS,
    STEALTH_ARGS,
    BrowserConfig,
    desktop_user_agent,
)
from cedula.registry.browser.form import Form, open_form
from cedula.registry.browser.slot import SlotKeeper, SlotTaker
from cedula.registry.browser.steps import Budget, Failure, classify_playwright_error, close_quietly, error_result
from cedula.registry.captcha import CaptchaError, CaptchaPipeline, Manners, PipelineConfig, Solved, make_solver
from cedula.registry.failures import Cause, solver_cause
from cedula.registry.parser import CaptchaSpend, LookupReport, LookupResult
from cedula.registry.sources import DEFAULT_SOURCE, Source, source_named

logger = structlog.get_logger(__name__)


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
    pipeline: CaptchaPipeline | None = field(default=None, repr=False)
    _ahead: PagesAhead = field(default_factory=PagesAhead, repr=False)
    _closing: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _slots: SlotKeeper = field(default_factory=SlotKeeper, repr=False)

    def __post_init__(self) -> None:
        cfg = self.config
        manners = Manners(
            first_poll_s=cfg.captcha_first_poll_s,
            poll_s=cfg.captcha_poll_s,
            no_slot_wait_s=cfg.captcha_no_slot_wait_s,
            zero_balance_wait_s=cfg.captcha_zero_balance_wait_s,
        )
        solver = make_solver(
            kind=cfg.captcha_solver, api_url=cfg.captcha_api_url, api_key=cfg.captcha_api_key, manners=manners
        )
        if solver is not None:
            self.pipeline = CaptchaPipeline(
                solver,
                PipelineConfig(
                    ahead=cfg.captcha_ahead,
                    ahead_max=cfg.captcha_ahead_max,
                    safe_age_s=cfg.captcha_safe_age_s,
                    gap_s=cfg.min_gap_s,
                    timeout_s=cfg.captcha_timeout_s,
                    initial_solve_s=cfg.captcha_first_poll_s + cfg.captcha_poll_s,
                ),
            )

    @property
    def user_agent(self) -> str:
        return self._user_agent

    async def lookup(
        self,
        cedula: str,
        *,
        take_slot: SlotTaker | None = None,
        due_after: int | None = None,
        on_step: Callable[[str], object] | None = None,
        source: str = DEFAULT_SOURCE,
    ) -> LookupReport:
        """One lookup on `source` (cedula.registry.sources). `take_slot` reserves the throttle slot right before the
        POST (None: no throttle, for one-shot commands); `due_after` is how many more lookups are due (None: unknown,
        pages are kept ahead as configured); `on_step` hears each step as it starts ("page", "captcha", "slot",
        "answer") for the console's live view."""
        started = time.monotonic()
        seen = Seen(on_step=on_step)
        try:
            result = await asyncio.wait_for(
                self._attempt(cedula, source_named(source), seen, started, take_slot, due_after),
                timeout=self.config.budget_s,
            )
        except TimeoutError:
            result = error_result("timeout", f"Se agotó el presupuesto de {self.config.budget_s:g} s de la consulta.")
        except Failure as failure:
            result = error_result(failure.kind, failure.message, failure.cause)
        except PlaywrightTimeoutError:
            result = error_result("timeout", "Un paso de la consulta no terminó a tiempo.")
        except PlaywrightError as exc:
            classified = classify_playwright_error(exc)
            result = error_result(classified.kind, classified.message)
        except Exception as exc:  # the contract: classify, never raise for registry trouble
            logger.exception("registry_lookup_crashed")
            result = error_result("browser", f"Fallo inesperado del cliente: {type(exc).__name__}")
        if result.status == "error":
            # Messages come partly from Playwright's exception text: never let a cedula-shaped number through.
            result = dataclasses.replace(result, message=scrub_text(result.message))
        if result.error_kind == "browser":
            await self._close_browser()  # a broken browser is not reused
        duration_ms = int((time.monotonic() - started) * 1000)
        for fallback in seen.fallbacks:
            element, way = fallback.split(":", 1)
            logger.warning("registry_selector_fallback", cedula=mask_cedula(cedula), element=element, way=way)
        spend = self.pipeline.spend() if self.pipeline is not None else CaptchaSpend()
        logger.info(
            "registry_lookup_done",
            cedula=mask_cedula(cedula),
            source=source,
            status=result.status,
            error_kind=result.error_kind,
            duration_ms=duration_ms,
            captcha_solved=spend.solved,
            captcha_wasted=spend.wasted,
        )
        return LookupReport(
            result=result,
            html=seen.html,
            duration_ms=duration_ms,
            selector_fallbacks=tuple(seen.fallbacks),
            captcha=spend,
            wait_ms=int(seen.wait_s * 1000),
            source=source_named(source).name,
        )

    async def probe_page(self, source: str = DEFAULT_SOURCE) -> LookupResult | None:
        """The cheap probe (the gate's, or a source's before moving back to it): the source's page in a fresh context
        and its form found; no captcha solve, no POST. None when the form is there, else the error result (with its
        cause)."""
        cfg = self.config
        try:
            browser = await self._ensure_browser()
            budget = Budget(
                deadline=time.monotonic() + cfg.nav_timeout_s + cfg.form_timeout_s,
                total_s=cfg.nav_timeout_s + cfg.form_timeout_s,
            )
            form = await open_form(lambda: self.new_context(browser), cfg, source_named(source), budget=budget)
        except Failure as failure:
            return error_result(failure.kind, failure.message, failure.cause)
        except PlaywrightError as exc:
            classified = classify_playwright_error(exc)
            return error_result(classified.kind, classified.message)
        try:
            if isinstance(form.failure, Failure):
                return error_result(form.failure.kind, form.failure.message, form.failure.cause)
            if form.failure is not None:
                return error_result("browser", f"Fallo inesperado del cliente: {type(form.failure).__name__}")
            return form.result
        finally:
            await close_quietly(form.context)

    async def close(self) -> None:
        if self.pipeline is not None:
            await self.pipeline.close()
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
            raise Failure("browser", f"No se pudo iniciar Chromium: {str(exc).splitlines()[0][:160]}") from exc
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
        await self._ahead.close_all()
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=CLOSE_TIMEOUT_S)
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_S)

    # --- one lookup -------------------------------------------------------------------------------------------------

    async def _attempt(
        self,
        cedula: str,
        source: Source,
        seen: Seen,
        started: float,
        take_slot: SlotTaker | None,
        due_after: int | None,
    ) -> LookupResult:
        budget = Budget(deadline=started + self.config.budget_s, total_s=self.config.budget_s)
        if self.pipeline is not None:
            # The plan first: solves for this lookup and the due ones start before any page is opened.
            self.pipeline.plan(due_after=due_after or 0)
        browser = await self._ensure_browser()
        self._lookups_on_browser += 1
        forms: list[Form] = []
        try:
            seen.step("page")
            form = await self._take_form(browser, source, budget, due_after)
            forms.append(form)
            result, solved = await self._drive(form, cedula, budget, seen, take_slot)
            if solved is not None and result.error_kind == "captcha" and self.pipeline is not None:
                # The page refused the token: reported, and the lookup tries once more with a fresh token on a fresh
                # page (the form's own token was spent by the POST), taking one more slot.
                await self.pipeline.refused(solved)
                form = await self._fresh_form(browser, source, budget)
                forms.append(form)
                seen.html = ""
                result, solved = await self._drive(form, cedula, budget, seen, take_slot)
                if solved is not None and result.error_kind == "captcha":
                    await self.pipeline.refused(solved)
            return result
        finally:
            for opened in forms:
                # Closing is not on the lookup's path: the report goes back while Chromium tears the context down.
                task = asyncio.create_task(close_quietly(opened.context))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            if self._lookups_on_browser >= self.config.restart_after:
                logger.info("registry_browser_recycled", lookups=self._lookups_on_browser)
                await self._close_browser()

    def _opener(self, browser: Browser, source: Source) -> Opener:
        return lambda budget: open_form(lambda: self.new_context(browser), self.config, source, budget=budget)

    async def _take_form(self, browser: Browser, source: Source, budget: Budget, due_after: int | None) -> Form:
        """This lookup's page: the oldest one opened ahead, else a new one; then the pages ahead topped up to the
        plan (pages_ahead.py): one GET and one POST per lookup, the GETs of due lookups merely happen early. Pages
        ahead belong to one source: when the worker moves to another, the old ones are closed unused."""
        cfg = self.config
        if self._ahead.source != source.name:
            await self._ahead.close_all()
            self._ahead.source = source.name
        opener = self._opener(browser, source)
        form = await self._ahead.take(
            opener=opener,
            budget=budget,
            wait_s=cfg.nav_timeout_s,
            max_age_s=cfg.page_max_age_s,
            usable=browser.is_connected,
        )
        if cfg.prewarm:
            wanted = min(cfg.prewarm_pages, cfg.restart_after - self._lookups_on_browser)
            self._ahead.top_up(opener=opener, wanted=wanted if due_after is None else min(wanted, due_after))
        return form if form is not None else await self._fresh_form(browser, source, budget)

    async def _fresh_form(self, browser: Browser, source: Source, budget: Budget) -> Form:
        form = await self._opener(browser, source)(budget)
        if form.failure is not None:
            await close_quietly(form.context)
            raise form.failure
        return form

    async def _drive(
        self, form: Form, cedula: str, budget: Budget, seen: Seen, take_slot: SlotTaker | None
    ) -> tuple[LookupResult, Solved | None]:
        cfg = self.config
        page, source = form.page, form.source
        seen.fallbacks.extend(form.fallbacks)
        if form.result is not None:
            seen.html = form.html
            return form.result, None

        # The form, like a person would fill it.
        if not form.type_chosen:
            await form.elements[source.choice].select_option(source.choice_value, timeout=budget.ms(cfg.form_timeout_s))
        await form.elements[source.number].fill(cedula, timeout=budget.ms(cfg.form_timeout_s))
        solved = await self._token(page, budget, seen)
        sent = False
        try:
            await self._slots.take(take_slot, budget, seen)
            if solved is not None and self.pipeline is not None and not self.pipeline.fresh(solved):
                # The slot came later than the token could wait: a fresh one, and the next slot.
                solved = await self._token(page, budget, seen)
                await self._slots.take(take_slot, budget, seen)
            if solved is not None and self.pipeline is not None:
                self.pipeline.sent(solved)
            sent = True
            seen.step("answer")
            await submit(
                page,
                source,
                form.elements[source.submit],
                cfg,
                budget,
                seen,
                on_sent=self._slots.sent_marker(take_slot),
            )
        finally:
            if solved is not None and not sent and self.pipeline is not None:
                self.pipeline.unused(solved)
        return await read_answer(page, source, cedula, seen, budget, cfg), solved

    async def _token(self, page: Page, budget: Budget, seen: Seen) -> Solved | None:
        """The captcha answer for this page, put where the page's script reads it; None when it asks for none."""
        widget = await page.query_selector(".g-recaptcha[data-sitekey]")
        if widget is None:
            return None
        seen.step("captcha")
        if self.pipeline is None:
            # A POST without an answer is refused for certain: the registry is not asked in vain.
            raise Failure("captcha", "La página pide captcha y no hay resolvedor configurado.", Cause.NO_SOLVER)
        site_key = await widget.get_attribute("data-sitekey") or ""
        try:
            while True:
                solved = await self.pipeline.take(
                    site_key=site_key, page_url=page.url, timeout_s=budget.step(self.config.captcha_timeout_s)
                )
                if self.pipeline.fresh(solved):
                    break
        except CaptchaError as exc:
            raise Failure("captcha", str(exc), solver_cause(exc.code) or "") from exc
        await page.evaluate(
            "token => { const el = document.getElementById('g-recaptcha-response'); if (el) { el.value = token; } }",
            solved.token,
        )
        return solved
