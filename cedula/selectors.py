"""Every read the console, the public pages and /healthz need."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, CharField, Count, IntegerField, Q, QuerySet, Sum, When
from django.db.models.functions import Substr, TruncHour
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Task
from django_q.status import Stat

from cedula import budget as rules
from cedula.budget import local_day_start
from cedula.gate_display import gate_banner
from cedula.models import (
    BREAKER_PK,
    FINAL_STATUSES,
    AlertState,
    Breaker,
    CedulaChange,
    CedulaInfo,
    ErrorKind,
    ImportBatch,
    LookupAttempt,
    Priority,
    RevalidationRun,
    Status,
)
from cedula.normalize import mask_cedula, scrub_text
from cedula.registry.failures import PROBED_CAUSES

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
    # The next probe runs by itself only for a cause a probe can clear (cedula.services.outage); the others wait for
    # the configuration or for "Probar ahora".
    next_probe_in = None
    if breaker.state == Breaker.State.HALF_OPEN or breaker.probe_requested:
        next_probe_in = 0.0
    elif breaker.state == Breaker.State.OPEN and (not breaker.cause or breaker.cause in PROBED_CAUSES):
        next_probe_in = resume_in or 0.0
    return {
        "state": breaker.state,
        "paused": breaker.paused,
        "paused_by": breaker.paused_by,
        "paused_at": breaker.paused_at.isoformat() if breaker.paused_at else None,
        "pause_reason": breaker.pause_reason,
        "consecutive_blocks": breaker.consecutive_blocks,
        "cooldown_s": breaker.cooldown_s,
        "resume_in_s": resume_in,
        # The gate (issue 23): its cause is a category (failures.Cause), never free text.
        # A confirming probe (one second, not an outage yet: cedula.services.outage) shows no cause.
        "cause": breaker.cause if breaker.state != Breaker.State.CLOSED and not breaker.confirming else "",
        "confirming": breaker.confirming,
        "cause_since": breaker.cause_since.isoformat() if breaker.cause_since and breaker.cause else None,
        "probes": breaker.probes if breaker.state != Breaker.State.CLOSED else 0,
        "next_probe_in_s": next_probe_in,
    }


# What a stranger may not read on /healthz: who paused lookups and their free-text reason (it may hold a phone
# number or a name). Staff (a verified staff session, or the METRICS_TOKEN) see them.
HEALTH_STAFF_ONLY_BREAKER_KEYS = frozenset({"paused_by", "paused_at", "pause_reason"})


@dataclass(frozen=True)
class SystemHealth:
    ok: bool
    database: bool
    worker_heartbeat_age_s: float | None
    due_backlog: int
    breaker: dict[str, Any]
    # Why lookups are not flowing, in categories anyone may read ("base de datos", "trabajador", "registro",
    # "pausa manual"...); empty when all is well.
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Everything, for staff."""
        return {**asdict(self), "reasons": list(self.reasons)}

    def public_dict(self) -> dict[str, Any]:
        """For anyone: healthy or not and why, in categories; no names, no free text."""
        body = self.as_dict()
        body["breaker"] = {k: v for k, v in self.breaker.items() if k not in HEALTH_STAFF_ONLY_BREAKER_KEYS}
        return body


def health_reasons(*, database: bool, worker_ok: bool, breaker: dict[str, Any]) -> tuple[str, ...]:
    """The categories of /healthz's "why" (issue 23 adds the gate's cause: registro / resolvedor)."""
    reasons = []
    if not database:
        reasons.append("base de datos")
    if not worker_ok:
        reasons.append("trabajador")
    if breaker.get("state") == Breaker.State.OPEN:
        # The gate's cause as a category: the registry's side, or our captcha solver's (cedula.registry.failures).
        reasons.append(
            "resolvedor de captcha" if str(breaker.get("cause", "")).startswith(("solver", "no_solver")) else "registro"
        )
    if breaker.get("paused"):
        reasons.append("pausa manual")
    return tuple(reasons)


def system_health(*, silent_after_s: float) -> SystemHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
    except Exception:
        return SystemHealth(
            ok=False, database=False, worker_heartbeat_age_s=None, due_backlog=0, breaker={}, reasons=("base de datos",)
        )
    age = worker_heartbeat_age_s()
    worker_ok = age is not None and age <= silent_after_s
    breaker = breaker_state()
    return SystemHealth(
        ok=database and worker_ok,
        database=database,
        worker_heartbeat_age_s=age,
        due_backlog=due_backlog(),
        breaker=breaker,
        reasons=health_reasons(database=database, worker_ok=worker_ok, breaker=breaker),
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


def queued_status_counts(*, queued_total: int) -> dict[str, int]:
    """Queued rows (waiting or held by a worker) per status column: what the dashboard moves from a status's card
    to "En cola". `queued_total` is QueueCounts.total. The rows of every status but `pending` are counted from
    short ranges of cedula_waiting_status_idx (a partial index of the waiting rows) and of the tiny claimed index;
    pending rows, most of a large backlog, are the rest - never read one by one."""
    others = [s for s in Status.values if s != Status.PENDING]
    waiting = CedulaInfo.objects.order_by().filter(next_attempt_at__isnull=False, status__in=others)
    # Held rows are a handful (LOOKUP_DISPATCH_DEPTH): read them off cedula_claimed_idx and count here. A GROUP BY
    # status would make SQLite scan the whole status index instead.
    # The range names cedula_claimed_idx's own column: without it SQLite scans the 1M-entry batch index (50 ms).
    claimed = CedulaInfo.objects.order_by().filter(claimed_at__isnull=False, claimed_at__gt=CLAIMS_SINCE)
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
    return CedulaInfo.objects.filter(next_attempt_at__isnull=False, claimed_at__isnull=True, priority__gte=0)


def queue_counts(*, now: dt.datetime | None = None) -> QueueCounts:
    # The partial indexes (cedula_due_idx, cedula_claimed_idx) hold only queued rows: cheap, when they are read.
    now = now or timezone.now()
    waiting = _waiting_rows()
    return QueueCounts(
        due_now=waiting.filter(next_attempt_at__lte=now).count(),
        in_flight=CedulaInfo.objects.filter(claimed_at__isnull=False).count(),
        scheduled=waiting.filter(next_attempt_at__gt=now).count(),
        retries=waiting.filter(attempts__gt=0).count(),
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


def recent_lookup_failures(*, limit: int = 10, scan: int = 200) -> list[dict[str, Any]]:
    """The cedulas that failed most recently, newest first, each once with its failed attempts among the latest
    `scan` failures (bounded read off attempt_outcome_idx). The cedula is masked: this list is shown on screen."""
    rows = (
        LookupAttempt.objects.filter(outcome=LookupAttempt.Outcome.ERROR)
        .order_by("-started_at")
        .values("id", "started_at", "error_kind", "message", "cedula_id", "cedula__cedula")[:scan]
    )
    by_cedula: dict[int, dict[str, Any]] = {}
    for r in rows:
        seen = by_cedula.get(r["cedula_id"])
        if seen is not None:
            seen["failures"] += 1
            continue
        if len(by_cedula) < limit:
            by_cedula[r["cedula_id"]] = {
                "id": r["id"],
                "started_at": r["started_at"],
                "cedula_id": r["cedula_id"],
                "cedula": mask_cedula(r["cedula__cedula"]),
                "error_kind": r["error_kind"],
                "message": scrub_text(r["message"]),
                "failures": 1,
            }
    return list(by_cedula.values())


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
    outstanding = (
        Q(status=Status.PENDING) | Q(next_attempt_at__isnull=False) | Q(claimed_at__isnull=False) | Q(held=True)
    )
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


# --- Batches: a batch's page, its ETA, and the daily budget ----------------------------------------------------------
# Everything here reads indexes only (cedula_batch_page_idx, cedula_batch_queue_idx, cedula_due_idx, the attempts'
# started_at): a 100,000-row batch page stays well under 300 ms on a million rows (bench/console_bench.py).

RECENT_RATE_SAMPLES = 30


@dataclass(frozen=True)
class BudgetState:
    """Today's use of the registry (Bogotá day) against the operator's promise."""

    max_per_day: int  # 0: no cap
    used_today: int
    quiet_hours: str  # "" when none
    in_quiet_hours: bool
    bulk_allowed: bool
    bulk_reopens_at: dt.datetime | None  # local time when bulk work may run again (None: it may now)
    interval_s: float  # seconds per lookup the ETAs plan with
    interval_observed: bool  # from the recent real rate (else from the gap)
    daily_capacity: int  # non-interactive lookups a whole day allows

    @property
    def percent_used(self) -> int | None:
        return min(100, int(100 * self.used_today / self.max_per_day)) if self.max_per_day else None


def lookups_used_today(*, now: dt.datetime | None = None) -> int:
    local = timezone.localtime(now or timezone.now())
    return LookupAttempt.objects.filter(started_at__gte=local_day_start(local)).count()


def recent_interval_s(*, now: dt.datetime | None = None) -> float | None:
    """The mean time between the starts of the latest back-to-back lookups (None without enough of them).

    What one lookup really costs end to end: the gap, or the browser's time when that is longer. Pauses in the work
    (nothing queued, the breaker open) are not lookups: an interval longer than a minute plus the gap is skipped."""
    now = now or timezone.now()
    starts = list(
        LookupAttempt.objects.filter(started_at__gte=now - dt.timedelta(hours=1), started_at__lte=now)
        .order_by("-started_at")
        .values_list("started_at", flat=True)[: RECENT_RATE_SAMPLES + 1]
    )
    limit = 60 + 3 * settings.REGISTRY_MIN_GAP_S
    gaps = [(a - b).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    gaps = [g for g in gaps if 0 <= g <= limit]
    if len(gaps) < 3:
        return None
    # The mean, not the median: a finish time is the sum of the intervals, and the slow ones count in full. But not an
    # outlier (a browser starting, a worker restart): those are dropped at three times the median.
    median = statistics.median(gaps)
    return statistics.fmean([g for g in gaps if g <= 3 * median])


def budget_state(*, now: dt.datetime | None = None) -> BudgetState:
    now = now or timezone.now()
    local = timezone.localtime(now)
    quiet = rules.parse_quiet_hours(settings.REGISTRY_QUIET_HOURS)
    used = lookups_used_today(now=now)
    max_per_day = settings.REGISTRY_MAX_PER_DAY
    observed = recent_interval_s(now=now)
    gap = float(settings.REGISTRY_MIN_GAP_S)
    interval = max(gap, observed or 0.0) or 1.0
    return BudgetState(
        max_per_day=max_per_day,
        used_today=used,
        quiet_hours=str(quiet) if quiet else "",
        in_quiet_hours=bool(quiet and quiet.contains(local)),
        bulk_allowed=rules.bulk_allowed(local=local, used_today=used, max_per_day=max_per_day, quiet=quiet),
        bulk_reopens_at=rules.bulk_reopens_at(local=local, used_today=used, max_per_day=max_per_day, quiet=quiet),
        interval_s=interval,
        interval_observed=observed is not None and observed > gap,
        daily_capacity=rules.daily_capacity(interval_s=interval, max_per_day=max_per_day, quiet=quiet),
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


def batch_eta(*, batch_id: int, now: dt.datetime | None = None, budget: BudgetState | None = None) -> BatchEta:
    """When the batch's last queued row will have been looked up, as the queue stands now.

    The batch is done when its last row in queue order (lowest priority, then latest next_attempt_at, then id) has run,
    so the lookups that must happen first are every queued row ordered before that one, plus what workers hold now.
    Each costs the planning interval (the gap, or the recent real rate when slower), within the daily budget and
    outside quiet hours. New work arriving later ahead of it (registrations) is not foreseen.
    """
    now = now or timezone.now()
    state = budget or budget_state(now=now)
    queued = CedulaInfo.objects.filter(next_attempt_at__isnull=False, claimed_at__isnull=True)
    mine = queued.filter(import_batch_id=batch_id)
    in_flight_mine = CedulaInfo.objects.filter(import_batch_id=batch_id, claimed_at__isnull=False).count()
    lowest = mine.order_by("priority").values_list("priority", flat=True).first()

    def answer(reason: str, rows_left: int, ahead: int, finish_at: dt.datetime | None) -> BatchEta:
        return BatchEta(
            rows_left=rows_left,
            work_ahead=ahead,
            lookups=rows_left + ahead,
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
    in_flight = CedulaInfo.objects.filter(claimed_at__isnull=False).count()
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
        lookups=rows_left + ahead,
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
    error_kinds: list[tuple[str, str, int]]  # (kind, label, rows) of rows whose last attempt failed, most first

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
            queued=Case(When(next_attempt_at__isnull=False, then=1), default=0, output_field=IntegerField()),
            claimed=Case(When(claimed_at__isnull=False, then=1), default=0, output_field=IntegerField()),
        )
        .values_list("status", "error_kind", "held", "queued", "claimed")
        .annotate(n=Count("pk"))
    )
    total = in_flight = queued = held = 0
    answered = dict.fromkeys(Status.values, 0)
    kinds: dict[str, int] = {}
    for status, error_kind, is_held, is_queued, is_claimed, n in rows:
        total += n
        if error_kind:
            kinds[error_kind] = kinds.get(error_kind, 0) + n
        if is_claimed:
            in_flight += n
        elif is_queued:
            queued += n
        elif is_held:
            held += n
        else:
            answered[status] += n
    labels = dict(ErrorKind.choices)
    error_kinds = sorted(((k, labels.get(k, k), n) for k, n in kinds.items()), key=lambda item: -item[2])
    return BatchPage(
        total=total, in_flight=in_flight, queued=queued, held=held, answered=answered, error_kinds=error_kinds
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


# --- On-call: what /metrics, the stall and page-changed alerts and the alerts panel read -----------------------------


def due_backlog_by_priority(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Rows due now and held by nobody, per priority (read off the partial cedula_due_idx)."""

    now = now or timezone.now()
    rows = (
        CedulaInfo.objects.order_by()
        .filter(next_attempt_at__isnull=False, claimed_at__isnull=True, next_attempt_at__lte=now)
        .values_list("priority")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def in_flight_and_scheduled(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Rows held by a worker, rows waiting for a retry backoff (queue_counts without the due count, which
    due_backlog_by_priority already has)."""
    now = now or timezone.now()
    in_flight = CedulaInfo.objects.filter(claimed_at__isnull=False).count()
    scheduled = _waiting_rows().filter(next_attempt_at__gt=now).count()
    return in_flight, scheduled


def worker_last_seen(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """The last Django-Q2 heartbeat (kept in the cache past its few seconds of life), else the last finished task.
    Cheaper than worker_health: no failure list, no broker queue size."""

    last_seen: dt.datetime | None = max((s.timestamp for s in Stat.get_all(broker=get_broker())), default=None)
    if last_seen is not None:
        cache.set(WORKER_LAST_SEEN_KEY, last_seen, None)
        return last_seen
    last_seen = cache.get(WORKER_LAST_SEEN_KEY)
    last_task: dt.datetime | None = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    if last_task and (last_seen is None or last_task > last_seen):
        last_seen = last_task
    return last_seen


@dataclass(frozen=True)
class OutcomeCount:
    outcome: str
    error_kind: str
    count: int


def lookup_outcomes(*, window_min: int, now: dt.datetime | None = None) -> list[OutcomeCount]:
    """Registry requests of the last `window_min` minutes by (outcome, error kind)."""

    now = now or timezone.now()
    rows = (
        LookupAttempt.objects.order_by()
        .filter(started_at__gt=now - dt.timedelta(minutes=window_min), started_at__lte=now)
        .values_list("outcome", "error_kind")
        .annotate(n=Count("pk"))
    )
    return [OutcomeCount(outcome=o, error_kind=k or "", count=n) for o, k, n in sorted(rows)]


def lookup_durations_ms(*, window_min: int, now: dt.datetime | None = None) -> list[int]:
    """Durations of the registry requests of the last `window_min` minutes, sorted (a few hundred an hour: one
    request per throttle gap)."""

    now = now or timezone.now()
    qs = LookupAttempt.objects.filter(started_at__gt=now - dt.timedelta(minutes=window_min), started_at__lte=now)
    return sorted(qs.values_list("duration_ms", flat=True))


def last_lookup_started_at() -> dt.datetime | None:
    """When a lookup last started: a claim held right now, else the newest attempt."""

    held = CedulaInfo.objects.filter(claimed_at__isnull=False).order_by("-claimed_at")
    claimed = held.values_list("claimed_at", flat=True).first()
    if claimed is not None:
        return claimed
    return LookupAttempt.objects.order_by("-started_at").values_list("started_at", flat=True).first()


def oldest_due_at(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """Since when the most overdue row has been waiting (None when nothing is due)."""
    now = now or timezone.now()
    rows = CedulaInfo.objects.filter(
        next_attempt_at__isnull=False, claimed_at__isnull=True, next_attempt_at__lte=now
    ).order_by("next_attempt_at")
    return rows.values_list("next_attempt_at", flat=True).first()


@dataclass(frozen=True)
class AlertStatus:
    """One alert as the dashboard panel and /metrics show it."""

    key: str  # the AlertState key: error_rate | stall | page_changed | canary
    alert: str  # the Sentry `alert` tag
    label: str  # Spanish, for the console
    firing: bool
    last_sent_at: dt.datetime | None
    checked_at: dt.datetime | None
    detail: dict[str, Any]


ALERT_LABELS = {
    "error_rate": ("error_rate", "Tasa de errores"),
    "stall": ("stall", "Cola detenida"),
    "page_changed": ("page_changed", "Página cambiada (respuestas inesperadas)"),
    "canary": ("page_changed", "Cédula de control"),
    "captcha_runway": ("captcha_runway", "Saldo de captchas"),  # i24b: cedula.services.captcha_balance
}


def alert_statuses() -> list[AlertStatus]:
    """Every alert's current state (the breaker, which is its own alert, is read from breaker_state)."""

    states = {s.pk: s for s in AlertState.objects.filter(pk__in=list(ALERT_LABELS))}
    out = []
    for key, (alert, label) in ALERT_LABELS.items():
        state = states.get(key)
        out.append(
            AlertStatus(
                key=key,
                alert=alert,
                label=label,
                firing=bool(state and state.firing),
                last_sent_at=state.last_sent_at if state else None,
                checked_at=state.updated_at if state else None,
                detail=dict(state.detail) if state else {},
            )
        )
    return out


def _alert_summary(key: str, detail: dict[str, Any], state: Any) -> str:
    """One line of Spanish for the alerts panel, from what the latest check measured."""
    if key == "error_rate":
        if state is None:
            return "Sin comprobaciones todavía."
        return f"{state.last_rate:.0%} de errores en {state.last_attempts} consultas (última comprobación)."
    if not detail:
        return "Sin comprobaciones todavía."
    if key == "stall":
        if not detail.get("due"):
            return "Nada pendiente."
        started = detail.get("last_started_min")
        since = "nunca" if started is None else f"hace {started:.0f} min"
        return f"{detail['due']} filas para ya; última consulta iniciada {since}."
    if key == "page_changed":
        return (
            f"{detail.get('share', 0):.0%} de páginas inesperadas en {detail.get('attempts', 0)} consultas "
            f"(umbral {detail.get('threshold', 0):.0%})."
        )
    if key == "canary":
        return f"Esperada «{detail.get('expected', '')}», recibida «{detail.get('got', '')}»."
    if key == "captcha_runway":
        return _runway_summary(detail)
    return ""


def _runway_summary(detail: dict[str, Any]) -> str:
    days, threshold = detail.get("runway_days"), detail.get("threshold_days", 0)
    if detail.get("reason") == "no_solver":
        return "Sin resolvedor de captcha configurado."
    if detail.get("reason") == "empty":
        return "Saldo agotado."
    if days is None:
        return "Hoy no se ha gastado nada."
    whole = int(days)
    span = "menos de un día" if whole < 1 else f"{whole} día" + ("" if whole == 1 else "s")
    return f"Alcanza para {span} al ritmo de hoy (alerta bajo {threshold:g} día{'' if threshold == 1 else 's'})."


@dataclass(frozen=True)
class AlertPanelRow:
    key: str
    label: str
    firing: bool
    last_sent_at: dt.datetime | None
    checked_at: dt.datetime | None
    summary: str
    link: str  # the console page to look at (a snapshot for the canary), or ""


def alert_panel(*, now: dt.datetime | None = None) -> list[AlertPanelRow]:
    """The dashboard's alerts panel: every alert on-call may hear of, with its current state."""

    now = now or timezone.now()
    states = {s.pk: s for s in AlertState.objects.filter(pk__in=list(ALERT_LABELS))}
    rows = []
    for key, (_alert, label) in ALERT_LABELS.items():
        state = states.get(key)
        detail = dict(state.detail) if state else {}
        link = ""
        if key == "canary" and detail.get("attempt_id"):
            link = reverse("admin:cedula_lookupattempt_change", args=[detail["attempt_id"]])
        if key == "canary" and not settings.REGISTRY_CANARY_CEDULA:
            summary = "Sin cédula de control configurada (REGISTRY_CANARY_CEDULA)."
        else:
            summary = _alert_summary(key, detail, state)
        rows.append(
            AlertPanelRow(
                key=key,
                label=label,
                firing=bool(state and state.firing),
                last_sent_at=state.last_sent_at if state else None,
                checked_at=state.updated_at if state else None,
                summary=summary,
                link=link,
            )
        )
    breaker = breaker_state(now=now)
    closed = breaker["state"] == Breaker.State.CLOSED
    rows.append(
        AlertPanelRow(
            key="breaker",
            label="Interruptor",
            firing=not closed,
            last_sent_at=None,
            checked_at=None,
            summary="Cerrado: las consultas salen."
            if closed
            else (gate_banner(breaker, now=now) or {}).get("headline", "Abierto: las consultas esperan."),
            link="",
        )
    )
    return rows
