"""Scheduled re-validation: rows whose last final answer is old go back in the queue, below bulk work, within a daily
budget (docs/revalidation.md). The change history they produce is written by cedula.services.history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cedula import selectors
from cedula.models import (
    FINAL_STATUSES,
    CedulaInfo,
    Priority,
    RevalidationRun,
)
from cedula.services.dispatch import lookups_dispatch

logger = structlog.get_logger(__name__)

# Rows re-queued per UPDATE (well under every backend's parameter limit).
_CHUNK = 500


# --- Re-validation -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevalidationReport:
    queued: int
    eligible: int | None  # rows old enough (before the limit); None when not counted (the scheduled job)
    dry_run: bool = False


def _requeue(ids: list[int], *, now: dt.datetime) -> int:
    """Idle rows with a final answer go back in the queue at re-validation priority; anything else is left alone
    (a queued row keeps its place, a row in error waits for a staff retry)."""
    queued = 0
    for start in range(0, len(ids), _CHUNK):
        queued += (
            CedulaInfo.objects.idle()
            .filter(
                pk__in=ids[start : start + _CHUNK],
                status__in=FINAL_STATUSES,
                # Due since its last answer: among re-validations the dispatcher then runs the oldest answer first.
            )
            .update(
                next_attempt_at=Coalesce(F("last_checked"), Value(now, output_field=DateTimeField())),
                attempts=0,
                priority=Priority.REVALIDATION,
                updated_at=now,
            )
        )
    return queued


def _record_run(*, trigger: str, requested_by: str, queued: int, now: dt.datetime) -> None:
    RevalidationRun.objects.create(ran_at=now, trigger=trigger, requested_by=requested_by[:254], queued=queued)


def _dispatch_on_commit(queued: int) -> None:
    if queued:
        transaction.on_commit(lookups_dispatch)


def cedulas_revalidate_due(
    *,
    older_than_days: int,
    limit: int,
    batch_id: int | None = None,
    trigger: str = RevalidationRun.Trigger.COMMAND,
    requested_by: str = "",
    dry_run: bool = False,
    count_eligible: bool = True,
    now: dt.datetime | None = None,
) -> RevalidationReport:
    """Re-queue up to `limit` idle rows whose last final answer is older than `older_than_days` (0: any age),
    oldest answer first, at Priority.REVALIDATION. `dry_run` writes nothing."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=older_than_days)
    eligible = selectors.revalidation_eligible_count(older_than=cutoff, batch_id=batch_id) if count_eligible else None
    if dry_run:
        picked = len(selectors.revalidation_candidates(older_than=cutoff, limit=limit, batch_id=batch_id))
        logger.info("revalidation_dry_run", would_queue=picked, eligible=eligible, trigger=trigger)
        return RevalidationReport(queued=picked, eligible=eligible, dry_run=True)
    with transaction.atomic():
        ids = selectors.revalidation_candidates(older_than=cutoff, limit=limit, batch_id=batch_id)
        queued = _requeue(ids, now=now)
        _record_run(trigger=trigger, requested_by=requested_by, queued=queued, now=now)
        _dispatch_on_commit(queued)
    logger.info(
        "revalidation_queued",
        queued=queued,
        eligible=eligible,
        trigger=trigger,
        older_than_days=older_than_days,
        limit=limit,
        batch_id=batch_id,
    )
    return RevalidationReport(queued=queued, eligible=eligible)


def revalidation_budget_left(*, now: dt.datetime | None = None) -> int:
    return max(0, int(settings.REVALIDATE_MAX_PER_DAY) - selectors.revalidations_queued_today(now=now))


def revalidation_run_scheduled(*, now: dt.datetime | None = None) -> RevalidationReport:
    """The scheduled job: rows older than REVALIDATE_AFTER_DAYS, oldest first, within what is left of today's
    REVALIDATE_MAX_PER_DAY. Off when REVALIDATE_AFTER_DAYS is 0."""
    now = now or timezone.now()
    if settings.REVALIDATE_AFTER_DAYS <= 0:
        logger.info("revalidation_off")
        return RevalidationReport(queued=0, eligible=None)
    budget = revalidation_budget_left(now=now)
    if budget <= 0:
        logger.info("revalidation_budget_spent", max_per_day=settings.REVALIDATE_MAX_PER_DAY)
        return RevalidationReport(queued=0, eligible=None)
    return cedulas_revalidate_due(
        older_than_days=settings.REVALIDATE_AFTER_DAYS,
        limit=budget,
        trigger=RevalidationRun.Trigger.SCHEDULE,
        count_eligible=False,
        now=now,
    )


def cedulas_revalidate(*, ids: Iterable[int], requested_by: str, now: dt.datetime | None = None) -> int:
    """Staff asked (console "Revalidar"): the given rows, whatever their age, at re-validation priority.
    Rows in error, never answered, or already queued are skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        queued = _requeue(list(ids), now=now)
        _record_run(trigger=RevalidationRun.Trigger.CONSOLE, requested_by=requested_by, queued=queued, now=now)
        _dispatch_on_commit(queued)
    logger.info("revalidation_queued", queued=queued, trigger=RevalidationRun.Trigger.CONSOLE)
    return queued


def batches_revalidate(*, batch_ids: Iterable[int], requested_by: str, now: dt.datetime | None = None) -> int:
    """Every answered row of the given import batches (console "Revalidar" on batches)."""
    ids = list(
        CedulaInfo.objects.filter(import_batch_id__in=list(batch_ids), status__in=FINAL_STATUSES).values_list(
            "pk", flat=True
        )
    )
    return cedulas_revalidate(ids=ids, requested_by=requested_by, now=now)
