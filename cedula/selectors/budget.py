"""Today's use of the registry against the daily budget and the planning interval."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from cedula import budget as rules
from cedula.budget import local_day_start
from cedula.models import CedulaInfo, LookupAttempt

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
    """The day's use of the registry (a Bogotá day): recorded attempts plus the lookups workers hold now. The one count
    the budget gate decides with and the dashboard shows, so a budget is never overrun by the lookups in flight and
    the two never disagree."""
    local = timezone.localtime(now or timezone.now())
    recorded = LookupAttempt.objects.filter(started_at__gte=local_day_start(local)).count()
    return recorded + CedulaInfo.objects.in_flight().count()


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
