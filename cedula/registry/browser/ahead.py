"""Pages kept ahead: the next lookups' pages open (context, page, navigation through any interstitial, the form
found) while this lookup runs, overlapping its waits on the network and, in the worker, the throttle gap.

They follow the plan the worker hands in (`due_after`: how many more lookups are due now): a page is opened early
only for a lookup that is due, never more than `prewarm_pages`, never more than lookups left on this browser before
it is recycled. A worker with nothing due opens nothing; a lone lookup costs one page visit and one POST. A page that
failed to open, or is older than `page_max_age_s` (its session may have expired), is closed and opened again on the
lookup's path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from cedula.registry.browser.form import Form
from cedula.registry.browser.steps import Budget, close_quietly

Opener = Callable[[Budget | None], Coroutine[Any, Any, Form]]


class PagesAhead:
    def __init__(self) -> None:
        self._spares: collections.deque[asyncio.Task[Form]] = collections.deque()
        self.source = ""  # the source the pages were opened for (cedula.registry.sources)

    def __len__(self) -> int:
        return len(self._spares)

    async def take(
        self, *, opener: Opener, budget: Budget, wait_s: float, max_age_s: float, usable: Callable[[], bool]
    ) -> Form | None:
        """The oldest page opened ahead, if one opened well and is still fresh; else None (the caller opens one)."""
        spare = self._spares.popleft() if self._spares else None
        if spare is None:
            return None
        form = None
        with contextlib.suppress(Exception):
            form = await asyncio.wait_for(asyncio.shield(spare), budget.step(wait_s))
        if form is None:
            spare.cancel()
            spare.add_done_callback(_close_spare)
            return None
        if form.failure is not None or not usable() or time.monotonic() - form.opened_at > max_age_s:
            await close_quietly(form.context)
            return None
        return form

    def top_up(self, *, opener: Opener, wanted: int) -> None:
        """Start opening pages until `wanted` are kept ahead. Surplus pages (the plan shrank) are dropped."""
        while len(self._spares) > max(wanted, 0):
            spare = self._spares.pop()
            spare.cancel()
            spare.add_done_callback(_close_spare)
        while len(self._spares) < wanted:
            task = asyncio.create_task(opener(None))
            task.add_done_callback(_consume_exception)
            self._spares.append(task)

    async def close_all(self) -> None:
        spares, self._spares = list(self._spares), collections.deque()
        for spare in spares:
            spare.cancel()
            with contextlib.suppress(BaseException):
                await close_quietly((await spare).context)


def _close_spare(task: asyncio.Task[Form]) -> None:
    # A page abandoned while still opening: once it settles, its context goes.
    if task.cancelled() or task.exception() is not None:
        return
    asyncio.ensure_future(close_quietly(task.result().context))


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # A page that failed to open is simply not used (the lookup opens its own); do not warn about it.
    if not task.cancelled():
        task.exception()
