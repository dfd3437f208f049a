"""Every read the console, the public pages and /healthz need."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Count, Q, Sum
from django.db.models.functions import Substr, TruncHour
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Task
from django_q.status import Stat

from cedula.models import (
    BREAKER_PK,
    FINAL_STATUSES,
    AlertState,
    Breaker,
    CedulaChange,
    CedulaInfo,
    ImportBatch,
    LookupAttempt,
    RevalidationRun,
    Status,
)
from cedula.normalize import mask_cedula, scrub_text

if TYPE_CHECKING:  # types only: the domain never imports the accounts app at run time
    from ops.accounts.models import User


def cedula_for_user(*, user: User) -> CedulaInfo | None:
    return CedulaInfo.objects.filter(user=user).first()


def due_backlog(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return CedulaInfo.objects.filter(
        next_attempt_at__isnull=False, next_attempt_at__lte=now, claimed_at__isnull=True
    ).count()


def worker_heartbeat_age_s() -> float | None:
    """Seconds since a Django-Q2 cluster last reported (None when none ever did)."""
    return worker_health().heartbeat_age_s


def breaker_state(*, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    breaker = Breaker.objects.filter(pk=BREAKER_PK).first() or Breaker(pk=BREAKER_PK)
    resume_in = None
    if breaker.state == Breaker.State.OPEN and breaker.open_until:
        resume_in = max(0.0, (breaker.open_until - now).total_seconds())
    return {
        "state": breaker.state,
        "paused": breaker.paused,
        "paused_by": breaker.paused_by,
        "paused_at": breaker.paused_at.isoformat() if breaker.paused_at else None,
        "pause_reason": breaker.pause_reason,
        "consecutive_blocks": breaker.consecutive_blocks,
        "cooldown_s": breaker.cooldown_s,
        "resume_in_s": resume_in,
    }


@dataclass(frozen=True)
class SystemHealth:
    ok: bool
    database: bool
    worker_heartbeat_age_s: float | None
    due_backlog: int
    breaker: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def system_health(*, silent_after_s: float) -> SystemHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
    except Exception:
        return SystemHealth(ok=False, database=False, worker_heartbeat_age_s=None, due_backlog=0, breaker={})
    age = worker_heartbeat_age_s()
    worker_ok = age is not None and age <= silent_after_s
    return SystemHealth(
        ok=database and worker_ok,
        database=database,
        worker_heartbeat_age_s=age,
        due_backlog=due_backlog(),
        breaker=breaker_state(),
    )


# --- Console dashboard ----------------------------------------------------------------------------------------------
# Each read here is shaped for an index so the dashboard stays fast with millions of rows (bench/console_bench.py).

WORKER_LAST_SEEN_KEY = "cedula:worker_last_seen"


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


@dataclass(frozen=True)
class QueueCounts:
    due_now: int
    in_flight: int
    scheduled: int  # waiting for a retry backoff (or a future start)


def queue_counts(*, now: dt.datetime | None = None) -> QueueCounts:
    # Both partial indexes (cedula_due_idx, cedula_claimed_idx) hold only queued rows: these stay cheap.
    now = now or timezone.now()
    waiting = CedulaInfo.objects.filter(next_attempt_at__isnull=False, claimed_at__isnull=True)
    return QueueCounts(
        due_now=waiting.filter(next_attempt_at__lte=now).count(),
        in_flight=CedulaInfo.objects.filter(claimed_at__isnull=False).count(),
        scheduled=waiting.filter(next_attempt_at__gt=now).count(),
    )


@dataclass(frozen=True)
class HourlyOutcomes:
    hours: list[dt.datetime]  # UTC, oldest first, one per hour of the window (the current hour last)
    counts: dict[str, list[int]]  # outcome -> a count per hour

    @property
    def totals(self) -> list[int]:
        return [sum(col) for col in zip(*self.counts.values(), strict=True)] if self.counts else []

    @property
    def error_rates(self) -> list[float | None]:
        errors = self.counts.get("error", [0] * len(self.hours))
        return [round(e / t, 3) if t else None for e, t in zip(errors, self.totals, strict=True)]


def hourly_outcomes(*, hours: int = 48, now: dt.datetime | None = None) -> HourlyOutcomes:
    """Lookups per hour by outcome over the last `hours` hours (only that window is read)."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    current = now.replace(minute=0, second=0, microsecond=0)
    buckets = [current - dt.timedelta(hours=h) for h in range(hours - 1, -1, -1)]
    outcomes = LookupAttempt.Outcome.values
    # Naming every outcome lets SQLite answer from attempt_outcome_idx (outcome, started_at) without the table.
    qs = LookupAttempt.objects.order_by().filter(outcome__in=outcomes, started_at__gte=buckets[0])
    if connection.vendor == "sqlite":
        # SQLite stores UTC text: its first 13 characters are the hour. TruncHour would call Python once per row.
        qs = qs.annotate(hour=Substr("started_at", 1, 13, output_field=CharField()))
    else:
        qs = qs.annotate(hour=TruncHour("started_at", tzinfo=dt.UTC))
    counts = {outcome: [0] * hours for outcome in outcomes}
    index = {b: i for i, b in enumerate(buckets)}
    for outcome, hour, n in qs.values_list("outcome", "hour").annotate(n=Count("pk")):
        if isinstance(hour, str):
            hour = dt.datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)
        i = index.get(hour.astimezone(dt.UTC))
        if i is not None:
            counts[outcome][i] += n
    return HourlyOutcomes(hours=buckets, counts=counts)


@dataclass(frozen=True)
class WorkerHealth:
    alive: bool  # a Django-Q2 cluster reported within its stat lifetime (a few seconds)
    clusters: int
    last_seen: dt.datetime | None  # last heartbeat, else the last finished task
    heartbeat_age_s: float | None
    tasks_queued: int
    failures_24h: int
    recent_failures: list[dict[str, Any]]


def worker_health(*, now: dt.datetime | None = None) -> WorkerHealth:
    """Django-Q2's view of the worker. Its heartbeat lives only seconds in the cache, so the last one seen is kept
    (and the last finished task is the fallback) to say how long a dead worker has been silent."""
    now = now or timezone.now()
    broker = get_broker()
    stats = Stat.get_all(broker=broker)
    last_seen = max((s.timestamp for s in stats), default=None)
    if last_seen is not None:
        cache.set(WORKER_LAST_SEEN_KEY, last_seen, None)
    else:
        last_seen = cache.get(WORKER_LAST_SEEN_KEY)
        last_task = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
        if last_task and (last_seen is None or last_task > last_seen):
            last_seen = last_task
    try:
        queued = broker.queue_size()
    except Exception:  # a broker that cannot answer is shown as unknown, not as an error page
        queued = -1
    since = now - dt.timedelta(hours=24)
    recent = list(
        Failure.objects.filter(stopped__gte=since)
        .order_by("-stopped")
        .values("id", "name", "func", "stopped", "result")[:5]
    )
    return WorkerHealth(
        alive=bool(stats),
        clusters=len(stats),
        last_seen=last_seen,
        heartbeat_age_s=max(0.0, (now - last_seen).total_seconds()) if last_seen else None,
        tasks_queued=queued,
        failures_24h=Failure.objects.filter(stopped__gte=since).count(),
        recent_failures=recent,
    )


def recent_lookup_failures(*, limit: int = 10) -> list[dict[str, Any]]:
    """The latest failed attempts, newest first, with the cedula masked (this list is shown on screen)."""
    rows = (
        LookupAttempt.objects.filter(outcome=LookupAttempt.Outcome.ERROR)
        .order_by("-started_at")
        .values("id", "started_at", "error_kind", "message", "cedula_id", "cedula__cedula")[:limit]
    )
    return [
        {
            "id": r["id"],
            "started_at": r["started_at"],
            "cedula_id": r["cedula_id"],
            "cedula": mask_cedula(r["cedula__cedula"]),
            "error_kind": r["error_kind"],
            "message": scrub_text(r["message"])[:200],
        }
        for r in rows
    ]


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
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


def import_batch_progress(*, limit: int = 5, ids: list[int] | None = None) -> list[BatchProgress]:
    """The latest import batches (or those in `ids`) and how far the lookups of their rows have got."""
    batches_qs = ImportBatch.objects.order_by("-created_at")
    batches = list(batches_qs.filter(pk__in=ids) if ids is not None else batches_qs[:limit])
    outstanding = Q(status=Status.PENDING) | Q(next_attempt_at__isnull=False) | Q(claimed_at__isnull=False)
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


def departamentos() -> list[str]:
    """Distinct non-empty departamentos, sorted. A recursive skip-scan over cedula_departamento_idx: one index seek
    per value (about 33) instead of reading a million index entries for DISTINCT."""
    table = CedulaInfo._meta.db_table
    sql = (
        f"WITH RECURSIVE d(v) AS ("  # noqa: S608 (table name from the model, no user input)
        f" SELECT MIN(departamento) FROM {table} WHERE departamento > ''"
        f" UNION ALL"
        f" SELECT (SELECT MIN(departamento) FROM {table} WHERE departamento > d.v) FROM d WHERE d.v IS NOT NULL"
        f") SELECT v FROM d WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


# --- Public side: a person's own lookup and what they may do with it -------------------------------------------------


def lookup_in_progress(info: CedulaInfo | None) -> bool:
    """A lookup is on its way: never answered yet, waiting in the queue (incl. a retry backoff) or held by a worker."""
    return info is not None and (info.status == Status.PENDING or info.is_queued)


# --- Observability: lookup error rate and what on-call was told -------------------------------------------------------


@dataclass(frozen=True)
class ErrorRate:
    window_min: int
    attempts: int
    errors: int
    errors_by_kind: dict[str, int]

    @property
    def rate(self) -> float:
        return self.errors / self.attempts if self.attempts else 0.0


def lookup_error_rate(*, window_min: int, now: dt.datetime | None = None) -> ErrorRate:
    """Share of registry requests (LookupAttempt rows) that ended in error over the last `window_min` minutes."""
    now = now or timezone.now()
    recent = LookupAttempt.objects.filter(started_at__gt=now - dt.timedelta(minutes=window_min), started_at__lte=now)
    by_outcome = dict(recent.values_list("outcome").annotate(n=Count("id")).order_by())
    by_kind = dict(
        recent.filter(outcome=LookupAttempt.Outcome.ERROR).values_list("error_kind").annotate(n=Count("id")).order_by()
    )
    return ErrorRate(
        window_min=window_min,
        attempts=sum(by_outcome.values()),
        errors=by_outcome.get(LookupAttempt.Outcome.ERROR, 0),
        errors_by_kind={kind or "unknown": n for kind, n in sorted(by_kind.items())},
    )


@dataclass(frozen=True)
class ErrorRateAlert:
    """The error-rate alert as on-call knows it. `firing`: an alert was sent and no recovery since.
    `last_rate`/`last_attempts`: what the latest scheduled check measured (`checked_at`)."""

    firing: bool
    last_sent_at: dt.datetime | None
    last_rate: float
    last_attempts: int
    checked_at: dt.datetime | None
    threshold: float
    window_min: int
    min_attempts: int
    cooldown_min: int

    @property
    def over_threshold(self) -> bool:
        return self.last_attempts >= self.min_attempts and self.last_rate > self.threshold


ERROR_RATE_ALERT_KEY = "error_rate"


def error_rate_alert_state() -> ErrorRateAlert:
    state = AlertState.objects.filter(pk=ERROR_RATE_ALERT_KEY).first()
    return ErrorRateAlert(
        firing=bool(state and state.firing),
        last_sent_at=state.last_sent_at if state else None,
        last_rate=state.last_rate if state else 0.0,
        last_attempts=state.last_attempts if state else 0,
        checked_at=state.updated_at if state else None,
        threshold=settings.ERROR_RATE_THRESHOLD,
        window_min=settings.ERROR_RATE_WINDOW_MIN,
        min_attempts=settings.ERROR_RATE_MIN_ATTEMPTS,
        cooldown_min=settings.ERROR_RATE_ALERT_COOLDOWN_MIN,
    )


# --- Freshness: re-validation and the change history (docs/revalidation.md) ------------------------------------------


def _revalidation_rows(*, older_than: dt.datetime, batch_id: int | None) -> Any:
    # The condition of cedula_revalidate_idx (idle rows), read in last_checked order. The status is excluded rather
    # than named: "status IN (final)" would lead SQLite to read cedula_status_only_idx and sort a million rows.
    not_final = [s for s in Status.values if s not in FINAL_STATUSES]
    qs = CedulaInfo.objects.filter(
        next_attempt_at__isnull=True,
        claimed_at__isnull=True,
        last_checked__lt=older_than,
    ).exclude(status__in=not_final)
    if batch_id is not None:
        qs = qs.filter(import_batch_id=batch_id)
    return qs


def revalidation_candidates(*, older_than: dt.datetime, limit: int, batch_id: int | None = None) -> list[int]:
    """Ids of idle rows whose last final answer is older than `older_than`, oldest answer first (rows in error,
    never answered or already queued are not candidates)."""
    if limit <= 0:
        return []
    qs = _revalidation_rows(older_than=older_than, batch_id=batch_id).order_by("last_checked", "id")
    return list(qs.values_list("pk", flat=True)[:limit])


def revalidation_eligible_count(*, older_than: dt.datetime, batch_id: int | None = None) -> int:
    return int(_revalidation_rows(older_than=older_than, batch_id=batch_id).count())


def revalidations_queued_today(*, now: dt.datetime | None = None) -> int:
    """Rows re-queued for re-validation since local (TIME_ZONE) midnight: what the daily budget has spent."""
    local = timezone.localtime(now or timezone.now())
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    total = RevalidationRun.objects.filter(ran_at__gte=midnight).aggregate(n=Sum("queued"))["n"]
    return int(total or 0)


def changes_by_kind(*, days: int = 7, now: dt.datetime | None = None) -> dict[str, int]:
    """Changes per kind over the last `days` days, every kind present (read from change_kind_idx alone)."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    counts = dict.fromkeys(CedulaChange.Kind.values, 0)
    rows = (
        CedulaChange.objects.order_by()
        .filter(kind__in=CedulaChange.Kind.values, changed_at__gte=since)
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    for kind, n in rows:
        counts[kind] = n
    return counts


def cedula_changes(*, info: CedulaInfo, limit: int = 50) -> list[CedulaChange]:
    """A row's change history, newest first."""
    return list(info.changes.select_related("attempt").order_by("-changed_at", "-id")[:limit])


def place_change_since(*, info: CedulaInfo, since: dt.datetime) -> CedulaChange | None:
    """The newest change after `since` that gave the row a different voting place (a new place, or a place again
    after another status), or None."""
    gained_place = Q(kind=CedulaChange.Kind.STATUS, new_status=Status.ACTIVE)
    return (
        info.changes.filter(Q(kind=CedulaChange.Kind.PLACE) | gained_place, changed_at__gt=since)
        .order_by("-changed_at", "-id")
        .first()
    )


# Set by cedula.registry.browser in the attempt's message when the page showed another answer than its JSON.
ANSWER_MISMATCH_NOTE = "vale la del JSON"


@dataclass(frozen=True)
class RegistryDrift:
    hours: int
    attempts: int  # attempts in the window
    with_fallback: int  # attempts that found some element of the page by a fallback way
    by_element: list[tuple[str, int]]  # "enviar:text" -> attempts, most frequent first
    mismatches: int  # attempts whose page showed another answer than the JSON (the JSON was recorded)
    last_fallback_at: dt.datetime | None


def registry_drift(*, hours: int = 24, now: dt.datetime | None = None) -> RegistryDrift:
    """How far the registry page has drifted from what the client expects, over the last `hours`."""
    now = now or timezone.now()
    window = LookupAttempt.objects.order_by().filter(started_at__gte=now - dt.timedelta(hours=hours))
    fallbacks = window.exclude(selector_fallbacks="")
    per_element: dict[str, int] = {}
    for value, n in fallbacks.values_list("selector_fallbacks").annotate(n=Count("pk")):
        for item in value.split(","):
            per_element[item] = per_element.get(item, 0) + n
    last = fallbacks.order_by("-started_at").values_list("started_at", flat=True).first()
    return RegistryDrift(
        hours=hours,
        attempts=window.count(),
        with_fallback=fallbacks.count(),
        by_element=sorted(per_element.items(), key=lambda kv: (-kv[1], kv[0])),
        mismatches=window.filter(message__contains=ANSWER_MISMATCH_NOTE).count(),
        last_fallback_at=last,
    )
