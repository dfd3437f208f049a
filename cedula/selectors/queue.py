"""The queue: rows waiting, due, in flight, by status and by priority.

Each read here is shaped for an index so the dashboard stays fast with millions of rows (bench/console_bench.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from cedula.models import (
    CedulaInfo,
    LookupAttempt,
    Status,
)


def status_counts() -> dict[str, int]:
    """Rows per status, every status present.

    Counting `active` (most of the table) entry by entry is most of the cost of a GROUP BY, while a bare COUNT(*) is
    answered from b-tree page headers. So: the other statuses from their cedula_status_idx ranges, active = the rest.
    """
    counts = dict.fromkeys(Status.values, 0)
    others = [s for s in Status.values if s != Status.ACTIVE]
    # Two statements, no transaction (an IMMEDIATE one would take SQLite's write lock): a row that changes status
    # in between skews `active` by one until the next refresh.
    total = CedulaInfo.objects.count()
    others_qs = CedulaInfo.objects.order_by().filter(status__in=others)
    for status, n in others_qs.values_list("status").annotate(n=Count("pk")):
        counts[status] = n
    counts[Status.ACTIVE] = total - sum(counts.values())
    return counts


def queued_status_counts(*, queued_total: int) -> dict[str, int]:
    """Queued rows (waiting or held by a worker) per status column: what the dashboard moves from a status's card
    to "En cola". `queued_total` is QueueCounts.total. The rows of every status but `pending` are counted from
    short ranges of cedula_waiting_status_idx (a partial index of the waiting rows) and of the tiny claimed index;
    pending rows, most of a large backlog, are the rest - never read one by one."""
    others = [s for s in Status.values if s != Status.PENDING]
    waiting = CedulaInfo.objects.order_by().in_queue().filter(status__in=others)
    # Held rows are a handful (LOOKUP_DISPATCH_DEPTH): read them off cedula_claimed_idx and count here. A GROUP BY
    # status would make SQLite scan the whole status index instead.
    # The range names cedula_claimed_idx's own column: without it SQLite scans the 1M-entry batch index (50 ms).
    claimed = CedulaInfo.objects.order_by().in_flight().filter(claimed_at__gt=CLAIMS_SINCE)
    counts: dict[str, int] = {}
    for status, n in waiting.values_list("status").annotate(n=Count("pk")):
        counts[status] = counts.get(status, 0) + n
    for status in claimed.values_list("status", flat=True)[:10_000]:
        if status != Status.PENDING:
            counts[status] = counts.get(status, 0) + 1
    counts[Status.PENDING] = max(0, queued_total - sum(counts.values()))
    return counts


@dataclass(frozen=True)
class QueueCounts:
    due_now: int  # waiting and due: taken as soon as the throttle and the breaker allow
    in_flight: int
    scheduled: int  # waiting for a later time (a retry backoff, or a future start)
    retries: int = 0  # waiting (due or not) after an attempt of this cycle failed

    @property
    def total(self) -> int:
        return self.due_now + self.in_flight + self.scheduled


# Earlier than any claim: a range on claimed_at that lets SQLite read cedula_claimed_idx (a handful of entries).
CLAIMS_SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _waiting_rows() -> QuerySet[CedulaInfo]:
    """Queued rows nobody holds, for counting off the partial cedula_due_idx.

    Without planner statistics (nothing runs ANALYZE on SQLite) SQLite would rather scan the 1M-entry covering
    cedula_batch_page_idx than the partial cedula_due_idx (108 ms against 21 ms a count at 1M rows). `priority >= 0`
    is always true, and names a column that cedula_due_idx holds and the batch index does not."""
    return CedulaInfo.objects.waiting().filter(priority__gte=0)


def queue_counts(*, now: dt.datetime | None = None) -> QueueCounts:
    # The partial indexes (cedula_due_idx, cedula_claimed_idx) hold only queued rows: cheap, when they are read.
    now = now or timezone.now()
    waiting = _waiting_rows()
    return QueueCounts(
        due_now=waiting.filter(next_attempt_at__lte=now).count(),
        in_flight=CedulaInfo.objects.in_flight().count(),
        scheduled=waiting.filter(next_attempt_at__gt=now).count(),
        retries=waiting.filter(attempts__gt=0).count(),
    )


def due_backlog_by_priority(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Rows due now and held by nobody, per priority (read off the partial cedula_due_idx)."""

    now = now or timezone.now()
    rows = CedulaInfo.objects.order_by().due(now=now).values_list("priority").annotate(n=Count("pk"))
    return dict(rows)


def in_flight_and_scheduled(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Rows held by a worker, rows waiting for a retry backoff (queue_counts without the due count, which
    due_backlog_by_priority already has)."""
    now = now or timezone.now()
    in_flight = CedulaInfo.objects.in_flight().count()
    scheduled = _waiting_rows().filter(next_attempt_at__gt=now).count()
    return in_flight, scheduled


def last_lookup_started_at() -> dt.datetime | None:
    """When a lookup last started: a claim held right now, else the newest attempt."""

    held = CedulaInfo.objects.in_flight().order_by("-claimed_at")
    claimed = held.values_list("claimed_at", flat=True).first()
    if claimed is not None:
        return claimed
    return LookupAttempt.objects.order_by("-started_at").values_list("started_at", flat=True).first()


def oldest_due_at(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """Since when the most overdue row has been waiting (None when nothing is due)."""
    now = now or timezone.now()
    rows = CedulaInfo.objects.due(now=now).order_by("next_attempt_at")
    return rows.values_list("next_attempt_at", flat=True).first()
