"""The throttle slot as the client takes it: reserved right before the POST leaves, marked when the browser reports
it on its way, so no two requests reach the registry closer than the gap whatever the page load or the solve took."""

from __future__ import annotations

import collections
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from cedula.registry.browser.answer import Seen
from cedula.registry.browser.steps import Budget, Failure


class SlotTaker(Protocol):
    """Reserve the throttle slot for a request leaving within `max_wait_s` (True once reserved, False when no slot
    came), for a request that leaves `lead_s` after the reservation; with `sent_at` (wall-clock seconds), mark when
    the request left: the gap counts from then."""

    def __call__(self, max_wait_s: float, sent_at: float | None = None, lead_s: float = 0.0) -> Awaitable[bool]: ...


class SlotKeeper:
    def __init__(self) -> None:
        # How long recent POSTs took to leave after their slot was reserved (the click): the least of them is reserved
        # ahead, so the click's own time is not added to every gap.
        self._leads: collections.deque[float] = collections.deque(maxlen=10)
        self._reserved_at = 0.0

    def lead(self) -> float:
        """How far ahead to reserve: 0.8 of the quickest of the last 10 clicks, once 5 were seen (the first clicks of
        a fresh browser are slow: reserving by them would bring the next request closer than the gap)."""
        if len(self._leads) < 5:
            return 0.0
        return 0.8 * min(self._leads)

    def sent_marker(self, take_slot: SlotTaker | None) -> Callable[[float], Awaitable[object]] | None:
        if take_slot is None:
            return None

        def mark(at: float) -> Awaitable[object]:
            if self._reserved_at:
                self._leads.append(max(0.0, at - self._reserved_at))
            return take_slot(0.0, sent_at=at)

        return mark

    async def take(self, take_slot: SlotTaker | None, budget: Budget, seen: Seen) -> None:
        if take_slot is None:
            return
        seen.step("slot")
        waiting = time.monotonic()
        try:
            if not await take_slot(budget.step(budget.total_s), lead_s=self.lead()):
                raise Failure("timeout", "No hubo turno libre para consultar el registro dentro del presupuesto.")
        finally:
            seen.wait_s += time.monotonic() - waiting
        self._reserved_at = time.time()
