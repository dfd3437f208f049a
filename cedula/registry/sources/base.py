"""What a source is: one public page of the registry that answers the census question, behind one interface.

A source names its page's elements and the ways to find each (id, then name, then label or text: the first that
matches wins, any other is a fallback the console shows as drift), says what its form needs before the POST (the
election or document type chosen), which request carries the answer, and reads that answer into the same
LookupResult every source yields. Reading is pure (the `*_answer` modules); finding runs in the browser
(cedula.registry.browser), which is the only code that touches Playwright: finders here only call the page they are
handed.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cedula.registry.failures import Cause
from cedula.registry.parser import LookupResult, parse_result

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

    Finder = Callable[[Page], Locator]
else:
    Finder = Callable[[Any], Any]


@dataclass(frozen=True)
class Read:
    """A source's answer as read from the response body: the result, the text kept for the snapshot and compared
    with the page (the answer's HTML for the census page, the JSON itself for an API), and whether the rendered
    answer area is worth corroborating against."""

    result: LookupResult
    shown: str
    corroborate: bool = False


@dataclass(frozen=True)
class Source:
    name: str  # what settings, attempts, logs and /metrics say (REGISTRY_SOURCES)
    label: str  # what staff read
    # The roles the client needs, each the name of an element in `selectors`.
    number: str  # the document number input
    choice: str  # the select that must hold `choice_value` (document type, election)
    submit: str  # the button
    area: str | None  # where the page renders the answer (None: nothing to corroborate)
    choice_value: str
    selectors: dict[str, tuple[tuple[str, Finder], ...]]
    # Checked every animation frame until true: a number input is shown, or the block page is.
    ready_js: str
    # The request that carries the answer, as a path relative to the page's address ("" = the page itself).
    answer_path: str
    read: Callable[[str], Read]

    def answers_at(self, page_url: str, request_url: str) -> bool:
        """Whether a POST to `request_url` is this source's lookup, for a form loaded from `page_url`."""
        target = urllib.parse.urljoin(page_url, self.answer_path) if self.answer_path else page_url
        return _path(request_url) == _path(target)


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path.rstrip("/")


def error(kind: str, message: str, cause: str = "") -> LookupResult:
    return LookupResult(status="error", error_kind=kind, message=message, cause=cause)


def read_json(text: str) -> tuple[Any, Read | None]:
    """The body as JSON, or the Read that HTML where JSON belongs means: the registry answers its bot defence with a
    page, so "not JSON" is `blocked` (docs/registry.md, "Reading the answer")."""
    try:
        return json.loads(text), None
    except ValueError:
        pass
    result = parse_result(text)
    if result.error_kind in ("unexpected_page", "blocked"):
        message = (
            result.message
            if result.error_kind == "blocked"
            else "El registro respondió HTML en lugar de JSON (bloqueo probable)."
        )
        result = error("blocked", message, Cause.BLOCKED)
    return None, Read(result=result, shown=text)
