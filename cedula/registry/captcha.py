"""Captcha solvers: none (the default) or a 2captcha-compatible HTTP API (in.php / res.php).

No Django and no Playwright here: browser.py hands in the configuration it read from settings. The HTTP calls are
plain urllib run in a worker thread, so the browser's event loop keeps running while we wait for a solution.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import structlog

logger = structlog.get_logger(__name__)


class CaptchaError(Exception):
    """The solver could not produce a token (bad key, refused task, no answer in time, unreachable).

    `code` is the solver's own error code (ERROR_ZERO_BALANCE, ...) or ours ("unreachable", "no_solver", "timeout"):
    cedula.registry.failures.solver_cause tells from it whether the system, not this solve, failed."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class CaptchaSolver:
    """No solver: a page that asks for a captcha ends the lookup as error/captcha."""

    name = "none"

    async def solve_recaptcha_v2(self, *, site_key: str, page_url: str, timeout_s: float) -> str:
        raise CaptchaError("No hay un resolvedor de captcha configurado.", "no_solver")

    async def get_balance(self) -> float:
        """The account's balance in USD: a free call, used by the probe and the balance schedule."""
        raise CaptchaError("No hay un resolvedor de captcha configurado.", "no_solver")


@dataclass
class TwoCaptchaSolver(CaptchaSolver):
    api_url: str
    api_key: str
    request_timeout_s: float = 15.0
    first_poll_s: float = 0.5
    max_poll_s: float = 5.0

    name = "2captcha"

    async def solve_recaptcha_v2(self, *, site_key: str, page_url: str, timeout_s: float) -> str:
        if not self.api_key:
            raise CaptchaError("CAPTCHA_API_KEY está vacío.", "ERROR_WRONG_USER_KEY")
        deadline = time.monotonic() + timeout_s
        task_id = await self._call(
            "in.php",
            {"key": self.api_key, "method": "userrecaptcha", "googlekey": site_key, "pageurl": page_url, "json": "1"},
            deadline,
        )
        # Poll gently: a short first wait suits quick solvers, the doubling keeps a slow one from being hammered.
        wait = self.first_poll_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= wait:
                raise CaptchaError("El resolvedor no respondió a tiempo.", "timeout")
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.max_poll_s)
            try:
                token = await self._call(
                    "res.php", {"key": self.api_key, "action": "get", "id": task_id, "json": "1"}, deadline
                )
            except _NotReady:
                continue
            logger.info("captcha_solved", solver=self.name, task_id=task_id)
            return token

    async def get_balance(self) -> float:
        if not self.api_key:
            raise CaptchaError("CAPTCHA_API_KEY está vacío.", "ERROR_WRONG_USER_KEY")
        deadline = time.monotonic() + self.request_timeout_s
        value = await self._call("res.php", {"key": self.api_key, "action": "getbalance", "json": "1"}, deadline)
        try:
            return float(value)
        except ValueError as exc:
            raise CaptchaError("El resolvedor devolvió un saldo ilegible.", "unreachable") from exc

    async def _call(self, endpoint: str, params: dict[str, str], deadline: float) -> str:
        timeout = max(0.1, min(self.request_timeout_s, deadline - time.monotonic()))
        url = f"{self.api_url.rstrip('/')}/{endpoint}?{urllib.parse.urlencode(params)}"
        try:
            body = await asyncio.to_thread(_get, url, timeout)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise CaptchaError(f"El resolvedor no responde ({type(exc).__name__}).", "unreachable") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise CaptchaError("Respuesta del resolvedor no es JSON.", "unreachable") from exc
        if data.get("status") == 1:
            return str(data.get("request", ""))
        code = str(data.get("request", ""))
        if code == "CAPCHA_NOT_READY":
            raise _NotReady
        logger.warning("captcha_refused", solver=self.name, code=code)
        raise CaptchaError(f"El resolvedor respondió {code}.", code)


class _NotReady(Exception):
    pass


def _get(url: str, timeout: float) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the URL comes from settings
        body: bytes = response.read()
        return body.decode("utf-8", "replace")


def make_solver(*, kind: str, api_url: str, api_key: str) -> CaptchaSolver | None:
    """None when no solver is configured (the default)."""
    if kind == "2captcha":
        return TwoCaptchaSolver(api_url=api_url, api_key=api_key)
    return None
