"""The solve loop both protocols share, with the services' manners (base.Manners): submit (after "no slot", wait
and submit again), the first poll only after `first_poll_s`, then at least `poll_s` between polls; after "zero
balance" no call at all for `zero_balance_wait_s`: the lookups in between fail at once with the same code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from cedula.registry.captcha.base import CaptchaError, CaptchaSolver, Manners, Solved, solver_error

logger = structlog.get_logger(__name__)

NO_SLOT = "ERROR_NO_SLOT_AVAILABLE"
ZERO_BALANCE = "ERROR_ZERO_BALANCE"
T = TypeVar("T")

# The silence after "zero balance" belongs to the account, not to one client object: every solver of this process for
# the same service and key keeps it (the pipeline's and the gate's probe alike), and a balance read that finds funds
# ends it, so the lookups do not go on refusing themselves after the account was refilled.
_QUIET_UNTIL: dict[tuple[str, str], float] = {}


@dataclass
class PoliteSolver(CaptchaSolver):
    api_url: str
    api_key: str
    manners: Manners = field(default_factory=Manners)

    @property
    def _account(self) -> tuple[str, str]:
        return self.api_url, self.api_key

    def _heard_balance(self, balance: float) -> float:
        """A balance read: with funds, the silence after "zero balance" is over."""
        if balance > 0:
            _QUIET_UNTIL.pop(self._account, None)
        return balance

    async def solve(self, *, site_key: str, page_url: str, timeout_s: float) -> Solved:
        self._may_call()
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            try:
                task_id = await self._noted(self._submit(site_key=site_key, page_url=page_url, deadline=deadline))
                break
            except CaptchaError as exc:
                if exc.code != NO_SLOT or deadline - time.monotonic() <= self.manners.no_slot_wait_s:
                    raise
                logger.info("captcha_no_slot", solver=self.name, wait_s=self.manners.no_slot_wait_s)
                await asyncio.sleep(self.manners.no_slot_wait_s)
        wait = self.manners.first_poll_s
        while True:
            if deadline - time.monotonic() <= wait:
                raise solver_error("timeout", f"{timeout_s:g} s")
            await asyncio.sleep(wait)
            wait = self.manners.poll_s
            token = await self._noted(self._result(task_id=task_id, deadline=deadline))
            if token is not None:
                now = time.monotonic()
                logger.info("captcha_solved", solver=self.name, task_id=task_id, solve_ms=int((now - started) * 1000))
                return Solved(token=token, task_id=task_id, solved_at=now, solve_s=now - started)

    def _may_call(self) -> None:
        if not self.api_key:
            raise solver_error("ERROR_WRONG_USER_KEY")
        if time.monotonic() < _QUIET_UNTIL.get(self._account, 0.0):
            raise solver_error(ZERO_BALANCE, "en espera antes de volver a preguntar")

    async def _noted(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except CaptchaError as exc:
            if exc.code == ZERO_BALANCE:
                _QUIET_UNTIL[self._account] = time.monotonic() + self.manners.zero_balance_wait_s
            if exc.code not in (NO_SLOT,):
                logger.warning("captcha_refused", solver=self.name, code=exc.code)
            raise

    def _remaining(self, deadline: float) -> float:
        return max(0.1, min(self.manners.request_timeout_s, deadline - time.monotonic()))

    async def _submit(self, *, site_key: str, page_url: str, deadline: float) -> str:
        raise NotImplementedError

    async def _result(self, *, task_id: str, deadline: float) -> str | None:
        """The token, or None while the service is still solving."""
        raise NotImplementedError
