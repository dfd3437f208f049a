"""What the worker is doing now: the rows held (with each lookup's step, from cedula.worker_now), what comes next in
the queue, and the last lookups with the throttle wait apart from the lookup's own time. Index reads only:
cedula_claimed_idx, cedula_due_idx in its order, the attempts' started_at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from cedula import worker_now
from cedula.models import CedulaInfo, LookupAttempt, Priority


@dataclass(frozen=True)
class InFlight:
    id: int
    cedula: str
    attempt: int
    worker: str
    started_at: dt.datetime  # when the worker claimed the row
    elapsed_s: float
    step: str  # a worker_now.STEP_LABELS key, "" when the worker has not said (an old worker, a cache miss)
    step_label: str
    step_s: float | None  # how long it has been at this step


@dataclass(frozen=True)
class NextUp:
    id: int
    cedula: str
    priority: str
    due_at: dt.datetime
    retry: bool  # an attempt of this cycle already failed


@dataclass(frozen=True)
class RecentLookup:
    attempt_id: int
    cedula_id: int
    cedula: str
    started_at: dt.datetime
    outcome: str
    outcome_label: str
    error_kind_label: str
    own_ms: int  # the lookup's own time: page, captcha, answer
    wait_ms: int  # the wait for the throttle's request slot (the politeness gap)


@dataclass(frozen=True)
class WorkingNow:
    in_flight: list[InFlight]
    next_up: list[NextUp]
    recent: list[RecentLookup]


def working_now(*, now: dt.datetime | None = None, next_n: int = 5, recent_n: int = 10) -> WorkingNow:
    now = now or timezone.now()
    held = list(
        CedulaInfo.objects.in_flight()
        .order_by("claimed_at")
        .values_list("pk", "cedula", "attempts", "claimed_by", "claimed_at")[:20]
    )
    live = worker_now.read([row[0] for row in held])
    wall = now.timestamp()
    in_flight = []
    for pk, cedula, attempts, claimed_by, claimed_at in held:
        entry = live.get(pk, {})
        step = entry.get("step", "")
        in_flight.append(
            InFlight(
                id=pk,
                cedula=cedula,
                attempt=entry.get("attempt", attempts),
                worker=claimed_by,
                started_at=claimed_at or now,
                elapsed_s=max(0.0, (now - claimed_at).total_seconds()) if claimed_at else 0.0,
                step=step,
                step_label=worker_now.STEP_LABELS.get(step, "Sin informe del trabajador"),
                step_s=max(0.0, wall - entry["step_at"]) if "step_at" in entry else None,
            )
        )
    priorities = dict(Priority.choices)
    next_up = [
        NextUp(
            id=pk, cedula=cedula, priority=str(priorities.get(priority, priority)), due_at=due or now, retry=tries > 0
        )
        for pk, cedula, priority, due, tries in CedulaInfo.objects.due(now=now)
        .order_by("-priority", "next_attempt_at", "id")
        .values_list("pk", "cedula", "priority", "next_attempt_at", "attempts")[:next_n]
    ]
    last = (
        LookupAttempt.objects.order_by("-started_at")
        .select_related("cedula")
        .only("pk", "started_at", "outcome", "error_kind", "duration_ms", "wait_ms", "cedula__cedula")[:recent_n]
    )
    recent = [
        RecentLookup(
            attempt_id=a.pk,
            cedula_id=a.cedula_id,
            cedula=a.cedula.cedula,
            started_at=a.started_at,
            outcome=a.outcome,
            outcome_label=a.get_outcome_display(),
            error_kind_label=a.get_error_kind_display() if a.error_kind else "",
            own_ms=max(0, a.duration_ms - a.wait_ms),
            wait_ms=a.wait_ms,
        )
        for a in last
    ]
    return WorkingNow(in_flight=in_flight, next_up=next_up, recent=recent)
