"""Import batches: progress, a batch's page and its ETA.

Everything here reads indexes only (cedula_batch_page_idx, cedula_batch_queue_idx, cedula_due_idx, the attempts'
started_at): a 100,000-row batch page stays well under 300 ms on a million rows (bench/console_bench.py)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Min, Q, When
from django.utils import timezone

from cedula import budget as rules
from cedula.models import (
    CedulaInfo,
    ErrorKind,
    ImportBatch,
    LookupAttempt,
    Priority,
    Status,
)
from cedula.querysets import IDLE, IN_FLIGHT, IN_QUEUE, QUEUED
from cedula.selectors.budget import BudgetState, budget_state
from cedula.selectors.health import breaker_state


@dataclass(frozen=True)
class BatchProgress:
    id: int
    file_name: str
    created_at: dt.datetime
    total: int  # rows linked to the batch
    outstanding: int  # still pending, queued or held by a worker

    @property
    def done(self) -> int:
        return self.total - self.outstanding

    @property
    def percent(self) -> int | None:
        # None for a batch without rows of its own (every row was already known): there is nothing to be done.
        return int(100 * self.done / self.total) if self.total else None


def import_batch_progress(*, limit: int = 5, ids: list[int] | None = None) -> list[BatchProgress]:
    """The latest import batches (or those in `ids`) and how far the lookups of their rows have got."""
    batches_qs = ImportBatch.objects.order_by("-created_at")
    batches = list(batches_qs.filter(pk__in=ids) if ids is not None else batches_qs[:limit])
    # Paused rows (held) are still to do; rows cancelled by an operator (withdrawn, idle) are not.
    outstanding = Q(status=Status.PENDING) | QUEUED | Q(held=True)
    stats: dict[int, Any] = {
        row["import_batch_id"]: row
        for row in CedulaInfo.objects.order_by()
        .filter(import_batch_id__in=[b.pk for b in batches])
        .values("import_batch_id")
        .annotate(total=Count("pk"), outstanding=Count("pk", filter=outstanding))
    }
    return [
        BatchProgress(
            id=b.pk,
            file_name=b.file_name,
            created_at=b.created_at,
            total=stats.get(b.pk, {}).get("total", 0),
            outstanding=stats.get(b.pk, {}).get("outstanding", 0),
        )
        for b in batches
    ]


@dataclass(frozen=True)
class BatchWork:
    """The registry lookups a batch's rows have used since it was imported (one aggregate over their attempts)."""

    lookups: int  # attempts that reached the registry or tried to (a system failure is recorded, spends no retry)
    own_lookups: int  # of those, attempts that were the row's own (no system cause): what a row costs the batch
    retries: int  # of those, attempts after a row's first of its cycle
    rows_tried: int  # rows with at least one attempt
    first_at: dt.datetime | None
    last_at: dt.datetime | None  # the last attempt's start

    @property
    def per_row(self) -> float:
        """Lookups per row so far: what a row still queued is expected to cost (1.0 until there is evidence)."""
        if self.rows_tried < BatchWork.MIN_ROWS:
            return 1.0
        return max(1.0, self.own_lookups / self.rows_tried)

    MIN_ROWS = 5


RATIO_WINDOW = dt.timedelta(hours=1)


def batch_lookups_per_row(*, batch_id: int, now: dt.datetime | None = None) -> float:
    """What a row of the batch still to do is expected to cost in lookups: the batch's own lookups per row over the
    last hour (system failures excluded), 1.0 with fewer than BatchWork.MIN_ROWS rows seen. A bounded read (the
    attempts' started_at index; at most an hour of lookups), so the list of batches can ask it for each."""
    now = now or timezone.now()
    recent = LookupAttempt.objects.order_by().filter(
        started_at__gte=now - RATIO_WINDOW, cause="", cedula__import_batch_id=batch_id
    )
    agg = recent.aggregate(lookups=Count("pk"), rows=Count("cedula_id", distinct=True))
    if agg["rows"] < BatchWork.MIN_ROWS:
        return 1.0
    return max(1.0, agg["lookups"] / agg["rows"])


def batch_row_counts(*, ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per batch: (its rows, those still to do, those resting in error), in one pass over cedula_batch_page_idx."""
    outstanding = Q(status=Status.PENDING) | QUEUED | Q(held=True)
    errors = IDLE & Q(status=Status.ERROR, held=False)
    rows = (
        CedulaInfo.objects.order_by()
        .filter(import_batch_id__in=ids)
        .values("import_batch_id")
        .annotate(total=Count("pk"), left=Count("pk", filter=outstanding), errors=Count("pk", filter=errors))
    )
    return {r["import_batch_id"]: (r["total"], r["left"], r["errors"]) for r in rows}


def batch_work(*, batch_id: int, since: dt.datetime | None = None) -> BatchWork:
    attempts = LookupAttempt.objects.order_by().filter(cedula__import_batch_id=batch_id)
    if since is not None:
        attempts = attempts.filter(started_at__gte=since)
    agg = attempts.aggregate(
        lookups=Count("pk"),
        own=Count("pk", filter=Q(cause="")),
        retries=Count("pk", filter=Q(attempt__gt=1)),
        rows=Count("cedula_id", distinct=True),
        first=Min("started_at"),
        last=Max("started_at"),
    )
    return BatchWork(
        lookups=agg["lookups"],
        own_lookups=agg["own"],
        retries=agg["retries"],
        rows_tried=agg["rows"],
        first_at=agg["first"],
        last_at=agg["last"],
    )


@dataclass(frozen=True)
class BatchEta:
    rows_left: int  # the batch's rows queued or held by a worker
    work_ahead: int  # other queued rows that run before the batch's last one (higher priority, or older at its own)
    lookups: int  # what must run before the batch is done: rows_left + work_ahead
    finish_at: dt.datetime | None  # Bogotá time; None when it cannot finish as things stand (see `reason`)
    # "done" | "estimated" | "paused" (the batch) | "stopped" (lookups paused by hand)
    reason: str
    budget: BudgetState


def batch_eta(
    *, batch_id: int, now: dt.datetime | None = None, budget: BudgetState | None = None, per_row: float = 1.0
) -> BatchEta:
    """When the batch's last queued row will have been looked up, as the queue stands now.

    The batch is done when its last row in queue order (lowest priority, then latest next_attempt_at, then id) has run,
    so the lookups that must happen first are every queued row ordered before that one, plus what workers hold now.
    Each costs the planning interval (the gap, or the recent real rate when slower), within the daily budget and
    outside quiet hours. A row of the batch still to do costs `per_row` lookups, the batch's own lookups per row so far
    (BatchWork.per_row): retries to come are counted, and the estimate corrects itself as the batch runs. New work
    arriving later ahead of it (registrations) is not foreseen.
    """
    now = now or timezone.now()
    state = budget or budget_state(now=now)
    queued = CedulaInfo.objects.waiting()
    mine = queued.filter(import_batch_id=batch_id)
    in_flight_mine = CedulaInfo.objects.in_flight().filter(import_batch_id=batch_id).count()
    lowest = mine.order_by("priority").values_list("priority", flat=True).first()

    def answer(reason: str, rows_left: int, ahead: int, finish_at: dt.datetime | None) -> BatchEta:
        return BatchEta(
            rows_left=rows_left,
            work_ahead=ahead,
            lookups=math.ceil(rows_left * per_row) + ahead,
            finish_at=finish_at,
            reason=reason,
            budget=state,
        )

    paused = ImportBatch.objects.filter(pk=batch_id, paused_at__isnull=False).exists()
    if lowest is None:
        if paused:
            return answer("paused", in_flight_mine, 0, None)
        if not in_flight_mine:
            return answer("done", 0, 0, None)
        return answer("estimated", in_flight_mine, 0, timezone.localtime(now + dt.timedelta(seconds=state.interval_s)))
    last = mine.filter(priority=lowest).order_by("-next_attempt_at", "-id").values_list("next_attempt_at", "id").first()
    assert last is not None
    last_at, last_id = last
    before = queued.filter(
        Q(priority__gt=lowest)
        | Q(priority=lowest, next_attempt_at__lt=last_at)
        | Q(priority=lowest, next_attempt_at=last_at, id__lte=last_id)
    ).count()
    rows_mine = mine.count()
    in_flight = CedulaInfo.objects.in_flight().count()
    ahead = before - rows_mine + (in_flight - in_flight_mine)
    rows_left = rows_mine + in_flight_mine
    if breaker_state(now=now)["paused"]:
        return answer("stopped", rows_left, ahead, None)
    start = now
    breaker = breaker_state(now=now)
    if breaker["resume_in_s"]:
        start = now + dt.timedelta(seconds=breaker["resume_in_s"])
    # The last row may wait for its retry backoff past the point the work ahead is done.
    start_local = timezone.localtime(start)
    quiet = rules.parse_quiet_hours(state.quiet_hours) if state.quiet_hours else None
    finish = rules.finish_time(
        local=start_local,
        lookups=math.ceil(rows_left * per_row) + ahead,
        interval_s=state.interval_s,
        used_today=state.used_today,
        max_per_day=state.max_per_day if lowest < Priority.INTERACTIVE else 0,
        quiet=quiet if lowest < Priority.INTERACTIVE else None,
    )
    finish = max(finish, timezone.localtime(last_at) + dt.timedelta(seconds=state.interval_s))
    return answer("estimated", rows_left, ahead, finish)


@dataclass(frozen=True)
class BatchPage:
    """Everything a batch's page shows, from one aggregate over the batch's rows."""

    total: int
    in_flight: int  # held by a worker now
    queued: int  # waiting in the queue (due or in a retry backoff)
    held: int  # out of the queue while the batch is paused
    answered: dict[str, int]  # idle rows by final answer / error / withdrawn
    # (kind, label, rows), most first: of the rows resting in error (they add up to the "Error" count), and of the
    # queued rows whose last attempt of this cycle failed and that wait for a retry.
    error_kinds: list[tuple[str, str, int]]
    retry_kinds: list[tuple[str, str, int]]

    @property
    def outstanding(self) -> int:
        return self.in_flight + self.queued + self.held

    @property
    def done(self) -> int:
        return self.total - self.outstanding

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


def batch_page(*, batch_id: int) -> BatchPage:
    rows = (
        CedulaInfo.objects.order_by()
        .filter(import_batch_id=batch_id)
        .annotate(
            queued=Case(When(IN_QUEUE, then=1), default=0, output_field=IntegerField()),
            claimed=Case(When(IN_FLIGHT, then=1), default=0, output_field=IntegerField()),
        )
        .values_list("status", "error_kind", "held", "queued", "claimed")
        .annotate(n=Count("pk"))
    )
    total = in_flight = queued = held = 0
    answered = dict.fromkeys(Status.values, 0)
    kinds: dict[str, int] = {}
    retrying: dict[str, int] = {}
    for status, error_kind, is_held, is_queued, is_claimed, n in rows:
        total += n
        if is_claimed:
            in_flight += n
        elif is_queued:
            queued += n
            if error_kind:
                retrying[error_kind] = retrying.get(error_kind, 0) + n
        elif is_held:
            held += n
        else:
            answered[status] += n
            if status == Status.ERROR:
                kinds[error_kind or "unknown"] = kinds.get(error_kind or "unknown", 0) + n
    labels = {**dict(ErrorKind.choices), "unknown": "Sin tipo"}

    def ranked(counts: dict[str, int]) -> list[tuple[str, str, int]]:
        return sorted(((k, labels.get(k, k), n) for k, n in counts.items()), key=lambda item: -item[2])

    return BatchPage(
        total=total,
        in_flight=in_flight,
        queued=queued,
        held=held,
        answered=answered,
        error_kinds=ranked(kinds),
        retry_kinds=ranked(retrying),
    )
