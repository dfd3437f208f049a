"""Operators steering bulk work: a batch's buttons and the changelist's actions on a whole filter.

Every write here is a set-based UPDATE over a queryset (the batch's rows, or the changelist's filter): 100,000 rows
are one statement each, never read into Python. Rows held by a worker right now are never touched: the worker records
its answer and the row follows the rules from there.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import structlog
from django.db import transaction
from django.db.models import Case, F, Max, Min, Q, QuerySet, Value, When
from django.utils import timezone

from cedula.models import BatchEvent, CedulaInfo, ImportBatch, Priority, Status
from cedula.querysets import HELD, IDLE, UNCLAIMED, WAITING
from cedula.services.dispatch import lookups_dispatch
from cedula.services.outcomes import result_values

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    # Whoever pressed the button: the request's user (admin views pass it as it is), or nobody (a script).
    Actor = AbstractBaseUser | AnonymousUser | None


def _actor_id(by: Actor) -> Any:
    return by.pk if by is not None and by.is_authenticated else None


logger = structlog.get_logger(__name__)

QUEUED = WAITING  # what the batch actions call queued: waiting, not held by a worker


def rows_touched(*, rows: QuerySet[CedulaInfo], action: str, now: dt.datetime | None = None) -> QuerySet[CedulaInfo]:
    """The rows an action will change: what its confirmation counts is exactly what its UPDATE writes."""
    now = now or timezone.now()
    wanted = {
        "queue_now": IDLE | (QUEUED & Q(priority__lt=Priority.STAFF)),
        "retry_failed": IDLE & Q(status=Status.ERROR),
        "reset_pending": UNCLAIMED,
        "cancel_pending": QUEUED | HELD,
        BatchEvent.Action.RETRY_ERRORS: IDLE & Q(status=Status.ERROR),
        BatchEvent.Action.CANCEL: QUEUED | HELD,
        BatchEvent.Action.PAUSE: QUEUED,
        BatchEvent.Action.RESUME: HELD,
        BatchEvent.Action.MOVE_AHEAD: QUEUED & Q(priority=Priority.BULK, next_attempt_at__lte=now),
        BatchEvent.Action.MOVE_BEHIND: QUEUED & Q(priority=Priority.BULK, next_attempt_at__lte=now),
    }[action]
    return _rows(rows).filter(wanted)


def _dispatch() -> None:
    lookups_dispatch()


def _unwithdrawn() -> Case:
    # A row cancelled before its first answer is pending again once it is queued.
    return Case(When(status=Status.WITHDRAWN, then=Value(Status.PENDING)), default=F("status"))


def _rows(rows: QuerySet[CedulaInfo]) -> QuerySet[CedulaInfo]:
    # The changelist's queryset carries an ordering and select_related; an UPDATE needs neither.
    return rows.order_by().select_related(None)


# --- actions on any set of rows (the changelist's whole filter, a batch) ---------------------------------------------


def cedulas_queue_matching(*, rows: QuerySet[CedulaInfo], priority: int = Priority.STAFF) -> int:
    """ "Consultar ahora" on a set: idle rows start a fresh cycle, queued rows of lower priority move up."""
    now = timezone.now()
    with transaction.atomic():
        base = _rows(rows)
        idle = base.filter(IDLE).update(
            next_attempt_at=now, attempts=0, priority=priority, held=False, status=_unwithdrawn(), updated_at=now
        )
        moved = base.filter(QUEUED, priority__lt=priority).update(
            priority=priority, next_attempt_at=now, updated_at=now
        )
        transaction.on_commit(_dispatch)
    logger.info("lookups_queued", count=idle + moved, priority=int(priority), set_based=True)
    return idle + moved


def cedulas_retry_failed_matching(*, rows: QuerySet[CedulaInfo]) -> int:
    """ "Reintentar las fallidas" on a set: rows that ended as `error` get a fresh cycle at staff priority."""
    now = timezone.now()
    with transaction.atomic():
        count = rows_touched(rows=rows, action="retry_failed").update(
            next_attempt_at=now, attempts=0, priority=Priority.STAFF, held=False, updated_at=now
        )
        transaction.on_commit(_dispatch)
    logger.info("lookups_retry_failed", count=count, set_based=True)
    return count


def cedulas_reset_matching(*, rows: QuerySet[CedulaInfo]) -> int:
    """ "Reiniciar a pendiente" on a set: forget the answers and queue the rows again (held rows left alone)."""
    now = timezone.now()
    with transaction.atomic():
        count = rows_touched(rows=rows, action="reset_pending").update(
            status=Status.PENDING,
            **result_values(None),
            last_error="",
            error_kind="",
            attempts=0,
            held=False,
            next_attempt_at=now,
            priority=Priority.STAFF,
            updated_at=now,
        )
        transaction.on_commit(_dispatch)
    logger.info("lookups_reset", count=count, set_based=True)
    return count


def cedulas_cancel_pending(*, rows: QuerySet[CedulaInfo]) -> int:
    """ "Cancelar pendientes": take queued (and paused) rows out of the queue. A row keeps its last answer; one never
    answered becomes `withdrawn` ("sin consultar (cancelada por el operador)"), which nothing counts as pending."""
    now = timezone.now()
    with transaction.atomic():
        count = rows_touched(rows=rows, action="cancel_pending").update(
            status=Case(When(status=Status.PENDING, then=Value(Status.WITHDRAWN)), default=F("status")),
            next_attempt_at=None,
            attempts=0,
            held=False,
            updated_at=now,
        )
    logger.info("lookups_cancelled", count=count)
    return count


# --- a batch's buttons -----------------------------------------------------------------------------------------------


def _batch_rows(batch: ImportBatch) -> QuerySet[CedulaInfo]:
    return CedulaInfo.objects.filter(import_batch=batch)


def _record(batch: ImportBatch, *, action: str, rows: int, by: Actor) -> None:
    BatchEvent.objects.create(batch=batch, action=action, rows=rows, by_id=_actor_id(by))
    logger.info("batch_action", batch_id=batch.pk, action=str(action), rows=rows, user_id=_actor_id(by))


def batch_retry_errors(*, batch: ImportBatch, by: Actor) -> int:
    with transaction.atomic():
        count = cedulas_retry_failed_matching(rows=_batch_rows(batch))
        _record(batch, action=BatchEvent.Action.RETRY_ERRORS, rows=count, by=by)
    return count


def batch_cancel_pending(*, batch: ImportBatch, by: Actor) -> int:
    with transaction.atomic():
        count = cedulas_cancel_pending(rows=_batch_rows(batch))
        ImportBatch.objects.filter(pk=batch.pk).update(paused_at=None, paused_by_id=None)
        _record(batch, action=BatchEvent.Action.CANCEL, rows=count, by=by)
    return count


def batch_pause(*, batch: ImportBatch, by: Actor) -> int:
    """Take the batch's queued rows out of the queue (held); a row a worker holds now finishes first."""
    now = timezone.now()
    with transaction.atomic():
        count = rows_touched(rows=_batch_rows(batch), action=BatchEvent.Action.PAUSE).update(
            held=True, next_attempt_at=None, updated_at=now
        )
        ImportBatch.objects.filter(pk=batch.pk).update(paused_at=now, paused_by_id=_actor_id(by))
        _record(batch, action=BatchEvent.Action.PAUSE, rows=count, by=by)
    return count


def batch_resume(*, batch: ImportBatch, by: Actor) -> int:
    """Queue exactly the rows the pause held, in file order at their priority."""
    now = timezone.now()
    with transaction.atomic():
        count = rows_touched(rows=_batch_rows(batch), action=BatchEvent.Action.RESUME).update(
            held=False, next_attempt_at=now, updated_at=now
        )
        ImportBatch.objects.filter(pk=batch.pk).update(paused_at=None, paused_by_id=None)
        _record(batch, action=BatchEvent.Action.RESUME, rows=count, by=by)
        transaction.on_commit(_dispatch)
    return count


def batch_move(*, batch: ImportBatch, ahead: bool, by: Actor) -> int:
    """Put the batch's due bulk rows ahead of (or behind) every other due bulk row.

    Priorities keep their meaning: only the order inside the bulk priority changes, which is the order of
    next_attempt_at (then id, so the file order inside the batch stays). Retries waiting for their backoff keep it.
    """
    now = timezone.now()
    with transaction.atomic():
        mine = rows_touched(rows=_batch_rows(batch), action=BatchEvent.Action.MOVE_AHEAD, now=now)
        others = (
            CedulaInfo.objects.filter(QUEUED, priority=Priority.BULK, next_attempt_at__lte=now)
            .exclude(import_batch=batch)
            .aggregate(first=Min("next_attempt_at"), last=Max("next_attempt_at"))
        )
        if ahead:
            first = others["first"]
            target = (first if first is not None else now) - dt.timedelta(seconds=1)
        else:
            last = others["last"]
            target = (last if last is not None else now) + dt.timedelta(milliseconds=1)
        count = mine.update(next_attempt_at=target, updated_at=now)
        action = BatchEvent.Action.MOVE_AHEAD if ahead else BatchEvent.Action.MOVE_BEHIND
        _record(batch, action=action, rows=count, by=by)
        transaction.on_commit(_dispatch)
    return count


def batch_record_export(*, batch: ImportBatch, rows: int, by: Actor) -> None:
    _record(batch, action=BatchEvent.Action.EXPORT, rows=rows, by=by)


BATCH_ACTIONS: dict[str, Any] = {
    BatchEvent.Action.RETRY_ERRORS: batch_retry_errors,
    BatchEvent.Action.CANCEL: batch_cancel_pending,
    BatchEvent.Action.PAUSE: batch_pause,
    BatchEvent.Action.RESUME: batch_resume,
    BatchEvent.Action.MOVE_AHEAD: lambda *, batch, by: batch_move(batch=batch, ahead=True, by=by),
    BatchEvent.Action.MOVE_BEHIND: lambda *, batch, by: batch_move(batch=batch, ahead=False, by=by),
}
