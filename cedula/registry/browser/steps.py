"""What every step of a lookup shares: the classified failure raised inside a lookup, the budget each step draws
from, and small helpers for closing and reading pages quietly."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
import urllib.parse
from dataclasses import dataclass

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from cedula.registry.browser.config import CLOSE_TIMEOUT_S
from cedula.registry.failures import Cause
from cedula.registry.parser import LookupResult


class Failure(Exception):
    """A classified registry problem raised inside a lookup and turned into a LookupResult at its edge."""

    def __init__(self, kind: str, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.cause = cause  # a failures.Cause when the system, not the row, failed


def error_result(kind: str, message: str, cause: str = "") -> LookupResult:
    return LookupResult(status="error", error_kind=kind, message=message, cause=cause)


_NET_ERROR = re.compile(r"net::ERR_[A-Z_]+")


def classify_playwright_error(exc: PlaywrightError) -> Failure:
    text = str(exc)
    net = _NET_ERROR.search(text)
    if net:
        kind = "timeout" if net.group(0) in ("net::ERR_TIMED_OUT", "net::ERR_CONNECTION_TIMED_OUT") else "network"
        return Failure(kind, f"Error de red: {net.group(0)}")
    return Failure("browser", f"El navegador falló: {text.splitlines()[0][:160] if text else type(exc).__name__}")


def page_load_failure(failure: Failure) -> Failure:
    """The page itself could not be loaded (refused, reset, empty, DNS, timeout, 5xx): the registry is down for every
    row, not for this one. A browser fault stays the worker's own."""
    if failure.kind in ("network", "timeout", "server_error"):
        failure.cause = Cause.REGISTRY_DOWN
    return failure


def check_status(status: int) -> None:
    if status == 429:
        raise Failure("rate_limited", "El registro respondió 429 (demasiadas peticiones).")
    if status >= 500:
        raise Failure("server_error", f"El registro respondió HTTP {status}.")


@dataclass
class Budget:
    deadline: float
    total_s: float

    def step(self, limit_s: float) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0.05:
            raise Failure("timeout", f"Se agotó el presupuesto de {self.total_s:g} s de la consulta.")
        return min(limit_s, remaining)

    def ms(self, limit_s: float) -> float:
        return self.step(limit_s) * 1000


def noted(result: LookupResult, note: str) -> LookupResult:
    return dataclasses.replace(result, message=f"{result.message} [{note}]".strip())


def url_path(url: str) -> str:
    return urllib.parse.urlsplit(url).path.rstrip("/")


async def close_quietly(context: BrowserContext) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(context.close(), CLOSE_TIMEOUT_S)


async def content(page: Page) -> str:
    with contextlib.suppress(PlaywrightError):
        return await page.content()
    return ""
