"""Every read the console, the public pages and /healthz need."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Count, Q
from django.db.models.functions import Substr, TruncHour
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Task
from django_q.status import Stat

from cedula.models import BREAKER_PK, AlertState, Breaker, CedulaInfo, ImportBatch, LookupAttempt, Status
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
    scheduled = CedulaInfo.objects.filter(
        next_attempt_at__isnull=False, claimed_at__isnull=True, next_attempt_at__gt=now
    ).count()
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
    return ""


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
            else f"{breaker['consecutive_blocks']} bloqueos seguidos.",
            link="",
        )
    )
    return rows
