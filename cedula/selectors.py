"""Every read the console, the public pages and /healthz need."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from cedula.models import Breaker, CedulaInfo

if TYPE_CHECKING:
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
    from django_q.status import Stat

    stats = Stat.get_all()
    if not stats:
        return None
    newest = max(s.timestamp for s in stats)
    return max(0.0, (timezone.now() - newest).total_seconds())


def breaker_state(*, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    breaker = Breaker.objects.filter(pk=1).first() or Breaker(pk=1)
    resume_in = None
    if breaker.state == Breaker.State.OPEN and breaker.open_until:
        resume_in = max(0.0, (breaker.open_until - now).total_seconds())
    return {
        "state": breaker.state,
        "paused": breaker.paused,
        "paused_by": breaker.paused_by,
        "paused_at": breaker.paused_at.isoformat() if breaker.paused_at else None,
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


# --- Public side: a person's own lookup and what they may do with it -------------------------------------------------


def lookup_in_progress(info: CedulaInfo | None) -> bool:
    """A lookup is on its way: never answered yet, waiting in the queue (incl. a retry backoff) or held by a worker."""
    from cedula.models import Status

    return info is not None and (info.status == Status.PENDING or info.is_queued)


@dataclass(frozen=True)
class RefreshAllowance:
    allowed: bool
    # "allowed" | "checking" | "hourly_limit" | "daily_limit" | "no_cedula" | "disabled"
    reason: str
    # When the hourly/daily limits next leave room (None: room now, or never when refreshes are disabled).
    # While a lookup is in progress this still says when the limits would allow one.
    next_allowed_at: dt.datetime | None
    used_last_hour: int
    used_last_day: int


def _window_reopens_at(
    times_desc: list[dt.datetime], *, limit: int, window: dt.timedelta, now: dt.datetime
) -> dt.datetime | None:
    # Sliding window: room appears when the limit-th most recent request in it falls out of it.
    recent = [t for t in times_desc if t > now - window]
    if len(recent) < limit:
        return None
    return recent[limit - 1] + window


def refresh_allowance(*, user: User, now: dt.datetime | None = None) -> RefreshAllowance:
    """May `user` ask for a fresh lookup of their own cedula now? Limits count durable RefreshRequest rows over a
    sliding hour and a sliding 24 hours (settings.REFRESH_MAX_PER_HOUR / REFRESH_MAX_PER_DAY)."""
    from django.conf import settings

    from ops.accounts.models import RefreshRequest

    now = now or timezone.now()
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    times = list(
        RefreshRequest.objects.filter(user=user, requested_at__gt=now - max(hour, day), requested_at__lte=now)
        .order_by("-requested_at")
        .values_list("requested_at", flat=True)
    )
    used_hour = sum(1 for t in times if t > now - hour)
    used_day = len(times)

    def answer(reason: str, next_at: dt.datetime | None = None) -> RefreshAllowance:
        return RefreshAllowance(
            allowed=reason == "allowed",
            reason=reason,
            next_allowed_at=next_at,
            used_last_hour=used_hour,
            used_last_day=used_day,
        )

    info = cedula_for_user(user=user)
    if not user.cedula and info is None:
        return answer("no_cedula")
    max_hour, max_day = settings.REFRESH_MAX_PER_HOUR, settings.REFRESH_MAX_PER_DAY
    if max_hour <= 0 or max_day <= 0:
        return answer("disabled")
    hour_at = _window_reopens_at(times, limit=max_hour, window=hour, now=now)
    day_at = _window_reopens_at(times, limit=max_day, window=day, now=now)
    # Both counts only fall as time passes, so the later reopening is when both leave room.
    next_at = max((t for t in (hour_at, day_at) if t is not None), default=None)
    if lookup_in_progress(info):
        return answer("checking", next_at)
    if next_at is None:
        return answer("allowed")
    return answer("daily_limit" if day_at == next_at else "hourly_limit", next_at)


@dataclass(frozen=True)
class PublicStatus:
    """Everything the home/profile pages and /estado.json show a person about their own cedula."""

    info: CedulaInfo | None
    checking: bool
    refresh: RefreshAllowance


def public_status_for_user(*, user: User, now: dt.datetime | None = None) -> PublicStatus:
    now = now or timezone.now()
    info = cedula_for_user(user=user)
    return PublicStatus(info=info, checking=lookup_in_progress(info), refresh=refresh_allowance(user=user, now=now))


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
    from django.db.models import Count

    from cedula.models import LookupAttempt

    now = now or timezone.now()
    recent = LookupAttempt.objects.filter(started_at__gt=now - dt.timedelta(minutes=window_min), started_at__lte=now)
    by_outcome = dict(recent.values_list("outcome").annotate(n=Count("id")).order_by())
    by_kind = dict(
        recent.filter(outcome=LookupAttempt.Outcome.ERROR)
        .values_list("error_kind")
        .annotate(n=Count("id"))
        .order_by()
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
    from django.conf import settings

    from cedula.models import AlertState

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
