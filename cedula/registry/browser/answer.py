"""Reading the answer (docs/registry.md, "Reading the answer").

The JSON that the page's own POST receives is authoritative. The rendered answer area only corroborates, and only
once it holds a recognisable answer (the parser says anything but unexpected_page, or it shows the JSON's own
message): a placeholder, a spinner or a skeleton is never an answer. The wait for rendering is bounded
(render_wait_s). When the two disagree the JSON wins, always: the DOM never changes the outcome; the disagreement is
logged (registry_answer_mismatch) and noted in the result's message. HTML where JSON belongs is `blocked`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page
from playwright.async_api import Request as PlaywrightRequest

from cedula.normalize import mask_cedula
from cedula.registry.browser.config import BrowserConfig
from cedula.registry.browser.form import find
from cedula.registry.browser.steps import Budget, Failure, check_status, noted
from cedula.registry.parser import LookupResult, answer_text, describe, is_recognisable, parse_result, same_answer
from cedula.registry.sources import Source

logger = structlog.get_logger(__name__)

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


@dataclass
class Seen:
    html: str = ""
    fallbacks: list[str] = field(default_factory=list)
    wait_s: float = 0.0  # time spent waiting for the throttle's request slot (not the lookup's own time)
    on_step: Callable[[str], object] | None = None  # told "page", "captcha", "slot", "answer" as the lookup moves

    def step(self, name: str) -> None:
        if self.on_step is not None:
            with contextlib.suppress(Exception):  # what the console shows never breaks a lookup
                self.on_step(name)


async def submit(
    page: Page,
    source: Source,
    button: Locator,
    config: BrowserConfig,
    budget: Budget,
    seen: Seen,
    *,
    on_sent: Callable[[float], Awaitable[object]] | None = None,
) -> None:
    """Press the button and wait for the page's own POST (to the source's answer address) to finish (or fail):
    its body, kept in `seen.html`, is the answer. `on_sent(at)` is awaited with the wall-clock time the browser
    reported the POST on its way (the moment the throttle's gap counts from)."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[tuple[PlaywrightRequest, str | None]] = loop.create_future()
    left: asyncio.Future[float] = loop.create_future()
    page_url = page.url

    def on_request(request: PlaywrightRequest) -> None:
        if request.method == "POST" and source.answers_at(page_url, request.url) and not left.done():
            left.set_result(time.time())

    def on_done(request: PlaywrightRequest, failure: str | None) -> None:
        if request.method == "POST" and source.answers_at(page_url, request.url) and not answered.done():
            answered.set_result((request, failure))

    page.on("request", on_request)
    page.on("requestfinished", lambda request: on_done(request, None))
    page.on("requestfailed", lambda request: on_done(request, request.failure or "net::ERR_FAILED"))
    await button.click(timeout=budget.ms(config.form_timeout_s))
    if on_sent is not None:
        sent_at = time.time()  # no request seen within the bound: count from now, the later the safer
        with contextlib.suppress(TimeoutError):
            sent_at = await asyncio.wait_for(asyncio.shield(left), budget.step(config.form_timeout_s))
        await on_sent(sent_at)
    try:
        request, failure = await asyncio.wait_for(answered, budget.step(config.answer_timeout_s))
    except TimeoutError as exc:
        raise Failure("timeout", "El registro no respondió a tiempo.") from exc
    if failure:
        kind = "timeout" if "TIMED_OUT" in failure else "network"
        raise Failure(kind, f"La respuesta del registro se cortó: {failure[:80]}")
    response = await request.response()
    if response is None:
        raise Failure("network", "El registro no devolvió respuesta.")
    seen.html = await asyncio.wait_for(response.text(), budget.step(config.answer_timeout_s))
    check_status(response.status)


async def read_answer(
    page: Page, source: Source, cedula: str, seen: Seen, budget: Budget, config: BrowserConfig
) -> LookupResult:
    """The answer the source's reader finds in the POST's body (authoritative), corroborated by the rendered answer
    area where the source has one."""
    read = source.read(seen.html)
    seen.html = read.shown
    if not read.corroborate or source.area is None:
        return read.result
    return await _corroborate(page, source, cedula, read.result, seen, budget, config)


async def _corroborate(
    page: Page, source: Source, cedula: str, answer: LookupResult, seen: Seen, budget: Budget, config: BrowserConfig
) -> LookupResult:
    """Read what the page rendered, within render_wait_s, and compare it with the JSON's answer.

    The rule (docs/registry.md): the DOM counts only once it holds a recognisable answer (the parser says anything
    but unexpected_page) or shows the JSON's own message text; until then it is still rendering (a placeholder,
    a spinner, a skeleton) and we keep reading. Agreement ends the wait. When the wait ends without agreement the
    JSON's answer stands, always; a DOM that showed a different answer is a mismatch (logged, and noted in the
    message staff see), a DOM that showed nothing readable is noted as not corroborated.
    """
    assert source.area is not None
    found = await find(page, source, source.area)
    if found is None:
        logger.warning("registry_answer_unconfirmed", cedula=mask_cedula(cedula), reason="no_answer_area")
        return noted(answer, "no se encontró el área de respuesta en la página")
    area, way = found
    if way != source.selectors[source.area][0][0]:
        seen.fallbacks.append(f"{source.area}:{way}")
    expected_text = answer_text(seen.html)
    # The JSON is in hand: corroborating may use what is left of the budget, never turn the answer into a timeout.
    deadline = min(time.monotonic() + config.render_wait_s, budget.deadline - 0.1)
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
        await _until_area_changes(area, html, remaining)

    if shown is None:
        logger.warning("registry_answer_unconfirmed", cedula=mask_cedula(cedula), reason="not_rendered")
        return noted(answer, "la página no mostró la respuesta a tiempo")
    seen.html, dom = shown
    logger.warning(
        "registry_answer_mismatch",
        cedula=mask_cedula(cedula),
        json_answer=describe(answer),
        dom_answer=describe(dom),
        recorded=describe(answer),
    )
    return noted(answer, f"la página mostró otra respuesta ({describe(dom)}); vale la del JSON")


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
