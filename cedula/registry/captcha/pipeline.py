"""The pipeline that solves ahead of the throttle, for the lookups that are due (docs/registry.md, "Solving ahead").

A reCAPTCHA v2 token is bound to the site key and the host, not to one page load, and lives two minutes: it can be
solved before its page is opened. The worker tells the pipeline, at each lookup, how many more lookups are due
(`plan(due_after=...)`, counted in the database by the task layer); the pipeline keeps

    ahead = min( ceil(S / G) + 1,  due_after,  floor(A / G),  CAPTCHA_AHEAD_MAX )

solves in flight or ready besides the current lookup's own, where S is the measured solve time (a moving average),
G the throttle gap (REGISTRY_MIN_GAP_S) and A the safe age (CAPTCHA_SAFE_AGE_S). At one lookup per gap, a solve
started now is needed about ceil(S/G)+1 gaps from now, so it is ready when the slot opens, and no older than about
two gaps when sent. Nothing due, nothing solved: with due_after = 0 the pipeline starts nothing but the current
lookup's own solve, and an idle worker, which calls nothing, spends nothing.

A token is handed out once (`take`), never older than the safe age; a token the page refused is reported to the
service where its API allows (`refused`). Every solve is accounted in CaptchaSpend (solved, used, refused, wasted),
accounted when its token is settled and drained into that lookup's report (`spend`): the lookup that sends a token
carries its solve; a token that expired unused lands, solve and waste, on the report after it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
import urllib.parse
from dataclasses import dataclass

import structlog

from cedula.registry.captcha.base import CaptchaError, CaptchaSolver, Solved, solver_error
from cedula.registry.failures import solver_cause
from cedula.registry.parser import CaptchaSpend

logger = structlog.get_logger(__name__)

# Until a solve was measured, the pipeline plans with the services' documented first poll plus one poll interval.
_SMOOTHING = 0.3  # weight of the newest solve in the moving average


@dataclass(frozen=True)
class PipelineConfig:
    ahead: bool = True  # off: one solve on each lookup's path, started when its page asks (the inline baseline)
    ahead_max: int = 8
    safe_age_s: float = 100.0
    gap_s: float = 5.0
    timeout_s: float = 45.0
    initial_solve_s: float = 20.0


def pipeline_size(*, solve_s: float, gap_s: float, due_after: int, safe_age_s: float, ahead_max: int) -> int:
    """How many solves to keep in flight or ready besides the current lookup's own (the formula above)."""
    if due_after <= 0 or ahead_max <= 0:
        return 0
    gap = max(gap_s, 0.1)
    return max(0, min(math.ceil(solve_s / gap) + 1, due_after, max(1, math.floor(safe_age_s / gap)), ahead_max))


class CaptchaPipeline:
    def __init__(self, solver: CaptchaSolver, config: PipelineConfig) -> None:
        self.solver = solver
        self.config = config
        self.solve_s = config.initial_solve_s
        self._site: tuple[str, str] | None = None  # (site key, page URL) of the last captcha page seen
        self._ready: collections.deque[Solved] = collections.deque()
        self._in_flight: set[asyncio.Task[None]] = set()
        # Solves that failed, with when (monotonic): a lookup hears only of failures during its own wait, so a burst of
        # refusals from before (an empty account, since refilled) is not charged to the lookups that come after it.
        self._failures: collections.deque[tuple[float, CaptchaError]] = collections.deque()
        self._changed: asyncio.Event | None = None
        self._due_after = 0
        self._spend = {"solved": 0, "used": 0, "refused": 0, "wasted": 0}

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def ready(self) -> int:
        return len(self._ready)

    def plan(self, *, due_after: int, current: bool = True) -> int:
        """The worker's word on what is due: start solves so that the current lookup's token (`current`) and
        `ahead` more are ready or on their way. Returns how many it started."""
        self._due_after = max(0, due_after)
        if self._site is None:
            return 0  # no captcha page seen yet: nothing to solve for
        wanted = int(current) + self._ahead()
        started = 0
        while len(self._ready) + len(self._in_flight) < wanted:
            self._start(*self._site)
            started += 1
        return started

    def _ahead(self) -> int:
        if not self.config.ahead:
            return 0
        return pipeline_size(
            solve_s=self.solve_s,
            gap_s=self.config.gap_s,
            due_after=self._due_after,
            safe_age_s=self.config.safe_age_s,
            ahead_max=self.config.ahead_max,
        )

    async def take(self, *, site_key: str, page_url: str, timeout_s: float) -> Solved:
        """A fresh token for this lookup: the oldest ready one still within the safe age, else the next to arrive
        (starting its solve when none is on its way). Raises CaptchaError when the solves fail."""
        if self._site != (site_key, page_url):
            # A token is bound to the site key and the host: another source (cedula.registry.sources) needs its own.
            if self._site is not None and _bound_to(*self._site) != _bound_to(site_key, page_url):
                self._drop_ready("site_changed")
            self._site = (site_key, page_url)
            self.plan(due_after=self._due_after)
        asked = time.monotonic()
        deadline = asked + timeout_s
        while True:
            self._drop_stale()
            if self._ready:
                return self._ready.popleft()
            while self._failures and self._failures[0][0] < asked:
                self._failures.popleft()
            if self._failures and (not self._in_flight or self._system(self._failures[0][1])):
                raise self._failures.popleft()[1]
            if not self._in_flight:
                self._start(site_key, page_url)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise solver_error("timeout", f"{timeout_s:g} s")
            changed = self._event()
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def fresh(self, solved: Solved) -> bool:
        """Whether this token may still be sent (younger than the safe age); one too old is counted as wasted."""
        if solved.age() <= self.config.safe_age_s:
            return True
        self._settle("wasted")
        logger.info("captcha_token_expired", task_id=solved.task_id, age_s=round(solved.age(), 1))
        return False

    def sent(self, solved: Solved) -> None:
        self._settle("used")

    def unused(self, solved: Solved) -> None:
        """A token taken but never sent (the lookup ended before its POST): it cannot be trusted to be unused."""
        self._settle("wasted")

    async def refused(self, solved: Solved) -> None:
        """The page refused this token: say so to the service (where its API allows), count it."""
        self._spend["refused"] += 1
        told = await self.solver.report_bad(solved)
        logger.warning("captcha_token_refused", solver=self.solver.name, task_id=solved.task_id, reported=told)

    def spend(self) -> CaptchaSpend:
        """What happened since the last call (drained): the next lookup's report carries it."""
        spend, self._spend = self._spend, dict.fromkeys(self._spend, 0)
        return CaptchaSpend(**spend)

    async def close(self) -> None:
        tasks, self._in_flight = list(self._in_flight), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._drop_ready("closed")

    # --- inside -----------------------------------------------------------------------------------------------------

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _start(self, site_key: str, page_url: str) -> None:
        task = asyncio.create_task(self._solve(site_key, page_url))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _solve(self, site_key: str, page_url: str) -> None:
        try:
            solved = await self.solver.solve(site_key=site_key, page_url=page_url, timeout_s=self.config.timeout_s)
        except CaptchaError as exc:
            self._failures.append((time.monotonic(), exc))
            while len(self._failures) > 4:
                self._failures.popleft()
        else:
            self.solve_s += _SMOOTHING * (solved.solve_s - self.solve_s)
            if self._site is not None and _bound_to(*self._site) != _bound_to(site_key, page_url):
                self._settle("wasted")  # solved for a source the worker has left meanwhile
                logger.info("captcha_tokens_dropped", count=1, reason="site_changed")
            else:
                self._ready.append(solved)
        finally:
            # This task is still in _in_flight until its done callback: waiters re-check after this wakes them.
            asyncio.get_running_loop().call_soon(self._event().set)

    def _drop_stale(self) -> None:
        while self._ready and self._ready[0].age() > self.config.safe_age_s:
            old = self._ready.popleft()
            self._settle("wasted")
            logger.info("captcha_token_expired", task_id=old.task_id, age_s=round(old.age(), 1))

    def _drop_ready(self, reason: str) -> None:
        if self._ready:
            logger.info("captcha_tokens_dropped", count=len(self._ready), reason=reason)
        self._settle("wasted", len(self._ready))
        self._ready.clear()

    def _settle(self, how: str, count: int = 1) -> None:
        # A solve is paid for when it is made, but accounted when its token is settled (sent, or wasted): so the
        # lookup that sends a token solved ahead carries its cost, not the lookup that happened to run meanwhile.
        self._spend["solved"] += count
        self._spend[how] += count

    @staticmethod
    def _system(exc: CaptchaError) -> bool:
        return solver_cause(exc.code) is not None


def _bound_to(site_key: str, page_url: str) -> tuple[str, str]:
    """What a reCAPTCHA token is bound to: its site key and the page's host."""
    return site_key, urllib.parse.urlsplit(page_url).netloc
