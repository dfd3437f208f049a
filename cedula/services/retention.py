"""Retention: personal data goes away on its own (docs/security.md, "Retention").

The purge runs daily (setup_schedules "retention-purge"). It deletes lookup attempts older than
RETENTION_ATTEMPTS_DAYS and blanks failure snapshots older than RETENTION_SNAPSHOTS_DAYS (the accounts app purges its
own refresh requests: ops.accounts.services.refresh_requests_purge, schedule "accounts-refresh-requests-purge").
Every statement touches at most RETENTION_BATCH_SIZE rows by primary key and commits on its own: the worker's writes
wait for one short statement at a time, never for the whole purge. Cedula rows (and their check
counts, last results and change history) are never touched; settings refuse a retention shorter than the dashboard's
48 hours.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cedula.models import LookupAttempt

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    attempts_deleted: int
    snapshots_blanked: int
    batches: int


def in_batches(
    rows: Callable[[], QuerySet[Any]], apply: Callable[[list[int]], int], *, batch_size: int, pause_s: float = 0.0
) -> tuple[int, int]:
    """Apply `apply` to the ids of `rows()`, at most `batch_size` at a time, each batch in its own transaction.
    Returns (rows done, batches)."""
    done = batches = 0
    while True:
        ids = list(rows().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return done, batches
        with transaction.atomic():
            done += apply(ids)
        batches += 1
        if len(ids) < batch_size:
            return done, batches
        if pause_s:
            time.sleep(pause_s)  # let the worker's writes in between two batches


def retention_purge(
    *, now: dt.datetime | None = None, batch_size: int | None = None, pause_s: float = 0.0
) -> PurgeReport:
    now = now or timezone.now()
    size = batch_size or settings.RETENTION_BATCH_SIZE
    attempts_cutoff = now - dt.timedelta(days=settings.RETENTION_ATTEMPTS_DAYS)
    snapshots_cutoff = now - dt.timedelta(days=settings.RETENTION_SNAPSHOTS_DAYS)

    attempts, b1 = in_batches(
        lambda: LookupAttempt.objects.order_by().filter(started_at__lt=attempts_cutoff),
        lambda ids: LookupAttempt.objects.filter(pk__in=ids).delete()[0],
        batch_size=size,
        pause_s=pause_s,
    )
    snapshots, b2 = in_batches(
        lambda: LookupAttempt.objects.order_by().filter(started_at__lt=snapshots_cutoff).exclude(snapshot=""),
        lambda ids: LookupAttempt.objects.filter(pk__in=ids).update(snapshot=""),
        batch_size=size,
        pause_s=pause_s,
    )
    report = PurgeReport(attempts_deleted=attempts, snapshots_blanked=snapshots, batches=b1 + b2)
    logger.info(
        "retention_purged",
        attempts_deleted=attempts,
        snapshots_blanked=snapshots,
        batches=report.batches,
        batch_size=size,
    )
    return report
