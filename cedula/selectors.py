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
