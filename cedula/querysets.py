"""Where a row stands in the queue, said once: every reader and writer filters with these predicates.

A row is *waiting* when it is queued (next_attempt_at set) and nobody holds it; *due* when it is waiting and its time
has come; *in flight* while a worker holds it (claimed_at set); *idle* when it is neither queued nor held; *held*
(out of the queue) while its batch is paused. The partial indexes of CedulaInfo (cedula.models) are built on the
same conditions, which is what keeps the counts cheap.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:  # types only: models imports this module
    from cedula.models import CedulaInfo  # noqa: F401 (named in the QuerySet's type argument)

# In the queue: a next attempt is set (a worker may be holding the row too).
IN_QUEUE = Q(next_attempt_at__isnull=False)
WAITING = Q(next_attempt_at__isnull=False, claimed_at__isnull=True)
IN_FLIGHT = Q(claimed_at__isnull=False)
UNCLAIMED = Q(claimed_at__isnull=True)
IDLE = Q(next_attempt_at__isnull=True, claimed_at__isnull=True)
# Queued in the wide sense: waiting, in a retry backoff, or held by a worker (CedulaInfo.is_queued).
QUEUED = IN_QUEUE | IN_FLIGHT
HELD = Q(held=True, claimed_at__isnull=True)


class CedulaInfoQuerySet(models.QuerySet["CedulaInfo"]):
    def in_queue(self) -> Self:
        """A next attempt is set, held by a worker or not."""
        return self.filter(IN_QUEUE)

    def waiting(self) -> Self:
        """Queued, not claimed (due now or later)."""
        return self.filter(WAITING)

    def due(self, *, now: dt.datetime) -> Self:
        """Waiting, and its time has come."""
        return self.filter(WAITING, next_attempt_at__lte=now)

    def in_flight(self) -> Self:
        """Held by a worker right now."""
        return self.filter(IN_FLIGHT)

    def unclaimed(self) -> Self:
        """Not held by a worker (a write that must not race the worker's claim filters on this)."""
        return self.filter(UNCLAIMED)

    def idle(self) -> Self:
        """Neither queued nor held by a worker."""
        return self.filter(IDLE)

    def held(self) -> Self:
        """Out of the queue while its batch is paused."""
        return self.filter(HELD)
