"""Writes of the freshness concern: scheduled re-validation and the history of what changed (docs/revalidation.md).

Lives here until cedula/services.py becomes a package; then it moves to cedula/services/revalidation.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cedula import selectors
from cedula.changes import Answer, detect_change
from cedula.models import (
    FINAL_STATUSES,
    CedulaChange,
    CedulaInfo,
    LookupAttempt,
    Priority,
    RevalidationRun,
    Status,
)
from cedula.normalize import mask_cedula

if TYPE_CHECKING:
    from ops.accounts.models import User

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
        queued += CedulaInfo.objects.filter(
            pk__in=ids[start : start + _CHUNK],
            next_attempt_at__isnull=True,
            claimed_at__isnull=True,
            status__in=FINAL_STATUSES,
            # Due since its last answer: among re-validations the dispatcher then runs the oldest answer first.
        ).update(
            next_attempt_at=Coalesce(F("last_checked"), Value(now, output_field=DateTimeField())),
            attempts=0,
            priority=Priority.REVALIDATION,
            updated_at=now,
        )
    return queued


def _record_run(*, trigger: str, requested_by: str, queued: int, now: dt.datetime) -> None:
    RevalidationRun.objects.create(ran_at=now, trigger=trigger, requested_by=requested_by[:254], queued=queued)


def _dispatch_on_commit(queued: int) -> None:
    if queued:
        from cedula.services import lookups_dispatch

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
    return max(0, settings.REVALIDATE_MAX_PER_DAY - selectors.revalidations_queued_today(now=now))


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


# --- Change history ----------------------------------------------------------------------------------------------


def previous_final_answer(info: CedulaInfo) -> Answer | None:
    """The row's last final answer, read before a new one overwrites it. A row in error still holds the fields of
    its last final answer (errors never touch them); its status then comes from the last final attempt."""
    if info.status in FINAL_STATUSES:
        return Answer.of(info)
    if info.status == Status.ERROR:
        outcome = (
            LookupAttempt.objects.filter(cedula_id=info.pk, outcome__in=FINAL_STATUSES)
            .order_by("-started_at", "-id")
            .values_list("outcome", flat=True)
            .first()
        )
        if outcome is not None:
            return Answer.of(info, status=outcome)
    return None  # never answered, or reset by staff (which forgets the answer)


def change_record(
    *, info: CedulaInfo, previous: Answer | None, new: Answer, attempt: LookupAttempt | None, now: dt.datetime
) -> CedulaChange | None:
    """One CedulaChange when `new` differs from `previous` (call inside the outcome's transaction)."""
    change = detect_change(previous, new)
    if change is None:
        return None
    row = CedulaChange.objects.create(
        cedula=info,
        changed_at=now,
        attempt=attempt,
        import_batch_id=info.import_batch_id,
        kind=change.kind,
        old_status=change.old_status,
        new_status=change.new_status,
        old_values=change.old_values,
        new_values=change.new_values,
    )
    logger.info(
        "cedula_changed",
        cedula=mask_cedula(info.cedula),
        cedula_id=info.pk,
        kind=change.kind,
        fields=list(change.changed_fields),
        old_status=change.old_status,
        new_status=change.new_status,
    )
    return row


# --- Public side ---------------------------------------------------------------------------------------------------


def cedula_owner_visit(*, user: User, now: dt.datetime | None = None) -> CedulaChange | None:
    """The person opened their page: the newest change of their voting place since their previous visit (None when
    there is none), and this visit is remembered."""
    now = now or timezone.now()
    info = selectors.cedula_for_user(user=user)
    if info is None:
        return None
    since = info.owner_seen_at or user.date_joined
    change = selectors.place_change_since(info=info, since=since)
    CedulaInfo.objects.filter(pk=info.pk).update(owner_seen_at=now)
    return change
