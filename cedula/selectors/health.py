"""/healthz: the database, the worker's heartbeat, the gate (breaker) and the due backlog."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from cedula.models import (
    BREAKER_PK,
    Breaker,
    CedulaInfo,
)
from cedula.registry.failures import PROBED_CAUSES
from cedula.selectors.sources import source_view
from cedula.selectors.worker import worker_health


def due_backlog(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return CedulaInfo.objects.due(now=now).count()


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
    # The registry's page in use (cedula.registry.sources) and why: {"in_use", "first", "reason"}.
    source: dict[str, Any] = field(default_factory=dict)
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
    view = source_view()
    return SystemHealth(
        source={"in_use": view.current, "first": view.on_first, "reason": view.reason if not view.on_first else ""},
        ok=database and worker_ok,
        database=database,
        worker_heartbeat_age_s=age,
        due_backlog=due_backlog(),
        breaker=breaker,
        reasons=health_reasons(database=database, worker_ok=worker_ok, breaker=breaker),
    )
