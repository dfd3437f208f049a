"""The form and its finders: every element the client needs is found through its source's ordered list of ways
(Source.selectors: id, then name, then label or button text); a fallback is logged (registry_selector_fallback) and
reported (LookupReport.selector_fallbacks) so staff see the page drifting before it breaks. No form at all is
unexpected_page with the page kept for a snapshot. `open_form` loads the source's page (through any interstitial) and
finds the form."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, Locator, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from cedula.registry.browser.config import BrowserConfig
from cedula.registry.browser.steps import (
    Budget,
    Failure,
    check_status,
    classify_playwright_error,
    close_quietly,
    content,
    error_result,
    page_load_failure,
)
from cedula.registry.failures import Cause
from cedula.registry.parser import LookupResult, parse_result
from cedula.registry.sources import Source

BLOCK_TEXT = re.compile(r"requested URL was rejected", re.I)


@dataclass
class Form:
    """A page with the form found (or what stood in its place), ready for one lookup."""

    context: BrowserContext
    page: Page
    opened_at: float
    source: Source
    elements: dict[str, Locator] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    result: LookupResult | None = None  # set when the page was no form (block page, unknown page)
    html: str = ""
    failure: BaseException | None = None  # opening failed (a spare is then opened again, on the lookup's path)
    # The document type (or election) is already chosen (done while the page waited for its lookup).
    type_chosen: bool = False


async def wait_for_form(page: Page, source: Source, timeout_s: float) -> None:
    """Wait until the form (or the block page) is shown, across the reloads of an interstitial; quietly give up at
    the bound (what the page then holds decides: block page, form, or unexpected page)."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            await page.wait_for_function(source.ready_js, polling="raf", timeout=remaining * 1000)
            return
        except PlaywrightTimeoutError:
            return
        except PlaywrightError:
            # The page navigated (an interstitial reloading) while we were checking: check the new document.
            with contextlib.suppress(PlaywrightError):
                await page.wait_for_load_state("domcontentloaded", timeout=max(remaining, 0.05) * 1000)


async def find(page: Page, source: Source, element: str) -> tuple[Locator, str] | None:
    """The element by the first of its ways that matches now, and that way's name; None when none does."""
    for way, finder in source.selectors[element]:
        locator = finder(page)
        with contextlib.suppress(PlaywrightError):
            if await locator.count():
                return locator.first, way
    return None


async def open_form(
    new_context: Callable[[], Awaitable[BrowserContext]],
    config: BrowserConfig,
    source: Source,
    *,
    budget: Budget | None,
) -> Form:
    """A fresh context and page, the source's page loaded and its form found. Never raises but on cancellation:
    a failure is kept in `.failure` (for a page opened ahead, nobody is waiting yet)."""
    own = budget or Budget(
        deadline=time.monotonic() + config.nav_timeout_s + config.form_timeout_s,
        total_s=config.nav_timeout_s + config.form_timeout_s,
    )
    context = await new_context()
    try:
        page = await context.new_page()
        form = Form(context=context, page=page, opened_at=time.monotonic(), source=source)
        try:
            await _load_form(form, config, own)
        except Failure as exc:
            form.failure = exc
        except PlaywrightError as exc:
            form.failure = page_load_failure(classify_playwright_error(exc))
        form.opened_at = time.monotonic()
        return form
    except BaseException:
        await close_quietly(context)
        raise


async def _load_form(form: Form, cfg: BrowserConfig, budget: Budget) -> None:
    page, source = form.page, form.source
    # A first visit may be a challenge that sets a cookie and reloads, and the form may show up late: we wait for
    # a visible number input, found any of its ways, or the block page.
    try:
        response = await page.goto(
            cfg.url_for(source.name), wait_until="domcontentloaded", timeout=budget.ms(cfg.nav_timeout_s)
        )
    except PlaywrightTimeoutError as exc:
        raise Failure("timeout", "La página del registro no cargó a tiempo.", Cause.REGISTRY_DOWN) from exc
    except PlaywrightError as exc:
        raise page_load_failure(classify_playwright_error(exc)) from exc
    if response is not None:
        try:
            check_status(response.status)
        except Failure as failure:
            raise page_load_failure(failure) from None
    await wait_for_form(page, source, budget.step(cfg.form_timeout_s))
    blocked = page.get_by_text(BLOCK_TEXT)
    missing = [source.number]
    if not await blocked.count():
        missing = []
        for element in (source.number, source.choice, source.submit):
            found = await find(page, source, element)
            if found is None:
                missing.append(element)
                continue
            form.elements[element], way = found
            if way != source.selectors[element][0][0]:
                form.fallbacks.append(f"{element}:{way}")
        if not missing:
            # The type does not depend on the cedula: a page opened ahead has it chosen before its lookup comes,
            # as a person picks "Cédula de ciudadanía" first. A failure here is retried on the lookup's path.
            with contextlib.suppress(PlaywrightError):
                await form.elements[source.choice].select_option(
                    source.choice_value, timeout=budget.ms(cfg.form_timeout_s)
                )
                form.type_chosen = True
            return
    form.html = await content(page)
    result = parse_result(form.html)
    if result.error_kind == "blocked":
        result = dataclasses.replace(result, cause=Cause.BLOCKED)
    else:
        what = (
            "el formulario de consulta"
            if source.number in missing
            else "parte del formulario (" + ", ".join(missing) + ")"
        )
        result = error_result("unexpected_page", f"La página del registro ({source.name}) no tiene {what}.")
    form.result = result
