"""Registry requests (LookupAttempt rows): outcomes per hour, failures, error rate, durations, page drift."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import CharField, Count
from django.db.models.functions import Substr, TruncHour
from django.utils import timezone

from cedula.models import (
    LookupAttempt,
)
from cedula.normalize import mask_cedula, scrub_text


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
