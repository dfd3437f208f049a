"""Captcha spend, read: what the solves cost per attempt, per batch, per Bogotá day, the solver's balance and how long
it lasts at today's rate. Numbers only; the Spanish copy lives in cedula/admin/spend.py, the metrics at the end.

A solve is paid for when the solver returns it (`solved`), whether or not the page then takes it: the cost of any
span is its solved count times CAPTCHA_PRICE_PER_1000_USD / 1000. `used` were sent with a POST, `refused` the page
rejected, `wasted` expired or were dropped unused (docs/observability.md#captcha-spend).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from cedula.budget import local_day_start
from cedula.models import CaptchaBalance, ImportBatch, LookupAttempt
from cedula.registry.captcha import make_solver
from cedula.registry.parser import CaptchaSpend

KINDS = ("solved", "used", "refused", "wasted")
# Today's rate is today's spend over the hours gone since Bogotá midnight, but never over less than this: the first
# solve at 00:05 must not read as a day of 288 solves.
MIN_RATE_WINDOW_H = 1.0
# A day is closed (its sum cached) once it ended this long ago: a lookup started before midnight is recorded within
# its task's 120 s timeout, and its attempt counts on the day it started.
CLOSED_AFTER = dt.timedelta(minutes=10)
CLOSED_DAY_CACHE_S = 40 * 24 * 3600


def price_per_solve_usd() -> float:
    return float(settings.CAPTCHA_PRICE_PER_1000_USD) / 1000


def solver_configured() -> bool:
    return (
        make_solver(kind=settings.CAPTCHA_SOLVER, api_url=settings.CAPTCHA_API_URL, api_key=settings.CAPTCHA_API_KEY)
        is not None
    )


def attempt_spend_fields(spend: CaptchaSpend) -> dict[str, int]:
    """LookupAttempt's columns for a report's CaptchaSpend (services.outcomes writes them with the attempt)."""
    return {f"captcha_{kind}": max(0, int(getattr(spend, kind))) for kind in KINDS}


@dataclass(frozen=True)
class Spend:
    solved: int = 0
    used: int = 0
    refused: int = 0
    wasted: int = 0
    price_per_solve_usd: float = 0.0

    @property
    def cost_usd(self) -> float:
        return self.solved * self.price_per_solve_usd

    @property
    def lost(self) -> int:
        return self.refused + self.wasted

    @property
    def loss_rate(self) -> float | None:
        """Share of the paid solves that answered no lookup (refused or wasted); None before any solve."""
        return min(1.0, self.lost / self.solved) if self.solved else None

    @property
    def solves_per_accepted(self) -> float | None:
        """Solves paid for each token the page took: 1.0 when nothing is refused or wasted."""
        accepted = self.used - self.refused
        return self.solved / accepted if accepted > 0 else None


def attempt_spend(attempt: LookupAttempt) -> Spend:
    """One attempt's solves (its own page shows them)."""
    return Spend(
        solved=attempt.captcha_solved,
        used=attempt.captcha_used,
        refused=attempt.captcha_refused,
        wasted=attempt.captcha_wasted,
        price_per_solve_usd=price_per_solve_usd(),
    )


def _sum(attempts: QuerySet[LookupAttempt]) -> Spend:
    totals = attempts.aggregate(**{kind: Coalesce(Sum(f"captcha_{kind}"), 0) for kind in KINDS})
    return Spend(**{kind: int(totals[kind]) for kind in KINDS}, price_per_solve_usd=price_per_solve_usd())


def spend_between(*, start: dt.datetime, end: dt.datetime) -> Spend:
    """Attempts started in [start, end)."""
    return _sum(LookupAttempt.objects.filter(started_at__gte=start, started_at__lt=end))


def day_start(now: dt.datetime) -> dt.datetime:
    """Midnight of `now`'s Bogotá day (settings.TIME_ZONE)."""
    return local_day_start(timezone.localtime(now))


def spend_today(*, now: dt.datetime) -> Spend:
    return spend_between(start=day_start(now), end=now + dt.timedelta(seconds=1))


def day_spend(*, day: dt.date, now: dt.datetime) -> Spend:
    """One Bogotá day's spend. A day over for CLOSED_AFTER is summed once and kept in the cache: a month of attempts
    at the politeness bound is half a million rows, which a dashboard refreshed every 30 s must not re-add."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=timezone.get_current_timezone())
    end = start + dt.timedelta(days=1)
    if now - end < CLOSED_AFTER:
        return spend_between(start=start, end=min(end, now + dt.timedelta(seconds=1)))
    key = f"captcha-spend-day:{day.isoformat()}"
    counts = cache.get(key)
    if counts is None:
        spend = spend_between(start=start, end=end)
        counts = [getattr(spend, kind) for kind in KINDS]
        cache.set(key, counts, timeout=CLOSED_DAY_CACHE_S)
    return Spend(**dict(zip(KINDS, map(int, counts), strict=True)), price_per_solve_usd=price_per_solve_usd())


def _total(spends: Iterable[Spend]) -> Spend:
    listed = list(spends)
    return Spend(
        **{kind: sum(getattr(spend, kind) for spend in listed) for kind in KINDS},
        price_per_solve_usd=price_per_solve_usd(),
    )


def spend_this_month(*, now: dt.datetime) -> Spend:
    """The Bogotá calendar month so far: its closed days from the cache, today from the attempts."""
    today = timezone.localtime(now).date()
    return _total(day_spend(day=today.replace(day=n), now=now) for n in range(1, today.day + 1))


@dataclass(frozen=True)
class DaySpend:
    day: dt.date  # a Bogotá calendar day
    spend: Spend


def spend_by_day(*, days: int, now: dt.datetime) -> list[DaySpend]:
    """The last `days` Bogotá days, oldest first, today included; days without attempts count zero."""
    today = timezone.localtime(now).date()
    return [
        DaySpend(day=day, spend=day_spend(day=day, now=now))
        for day in (today - dt.timedelta(days=n) for n in range(days - 1, -1, -1))
    ]


# --- per batch ------------------------------------------------------------------------------------------------------


def batch_spend(*, batch_id: int) -> Spend:
    """The solves of the batch's rows' attempts since the batch was imported (a row imported again into a later batch
    brings its older attempts along; they belong to the batch that queued them)."""
    created_at = ImportBatch.objects.filter(pk=batch_id).values_list("created_at", flat=True).first()
    if created_at is None:
        return Spend(price_per_solve_usd=price_per_solve_usd())
    return _sum(LookupAttempt.objects.filter(cedula__import_batch_id=batch_id, started_at__gte=created_at))


@dataclass(frozen=True)
class BatchSpend:
    so_far: Spend
    rows_left: int
    solves_per_row: float  # solves each remaining row is expected to cost (refused and wasted ones included)
    basis: str  # where solves_per_row comes from: "batch" | "recent" (last 30 days) | "price" (no solve seen yet)
    solver: bool  # a solver is configured (without one nothing is spent, and captcha pages fail)

    @property
    def to_finish_usd(self) -> float:
        return self.rows_left * self.solves_per_row * self.so_far.price_per_solve_usd if self.solver else 0.0


def batch_spend_estimate(*, batch_id: int, rows_left: int, now: dt.datetime | None = None) -> BatchSpend:
    """Spend so far and to finish: each row left costs one accepted token, times the solves paid per accepted token
    observed on this batch (else over the last 30 days, else 1: the price alone)."""
    now = now or timezone.now()
    so_far = batch_spend(batch_id=batch_id)
    ratio, basis = so_far.solves_per_accepted, "batch"
    if ratio is None:
        recent = _total(day.spend for day in spend_by_day(days=30, now=now))  # closed days come from the cache
        ratio, basis = recent.solves_per_accepted, "recent"
    if ratio is None:
        ratio, basis = 1.0, "price"
    return BatchSpend(so_far=so_far, rows_left=rows_left, solves_per_row=ratio, basis=basis, solver=solver_configured())


# --- balance and runway ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Runway:
    """How long the balance lasts at today's rate. `reason`: "no_solver", "unread" (no good reading yet), "empty"
    (balance <= 0), "no_spend" (nothing spent today: today's rate never runs it out), "rate" (days is set)."""

    reason: str
    days: float | None = None
    rate_per_day_usd: float = 0.0


def runway(*, balance_usd: float | None, spent_today_usd: float, now: dt.datetime, solver: bool = True) -> Runway:
    if not solver:
        return Runway(reason="no_solver")
    if balance_usd is None:
        return Runway(reason="unread")
    if balance_usd <= 0:
        return Runway(reason="empty", days=0.0)
    if spent_today_usd <= 0:
        return Runway(reason="no_spend")
    elapsed_h = max(MIN_RATE_WINDOW_H, (now - day_start(now)).total_seconds() / 3600)
    rate = spent_today_usd / elapsed_h * 24
    return Runway(reason="rate", days=balance_usd / rate, rate_per_day_usd=rate)


def balance_row() -> CaptchaBalance | None:
    return CaptchaBalance.objects.filter(pk=1).first()


@dataclass(frozen=True)
class SpendPanel:
    solver: bool
    today: Spend
    month: Spend
    balance: CaptchaBalance | None
    runway: Runway
    price_per_1000_usd: float
    alert_days: float

    @property
    def runway_low(self) -> bool:
        days = self.runway.days
        return bool(self.alert_days) and days is not None and days < self.alert_days


def spend_panel(*, now: dt.datetime | None = None) -> SpendPanel:
    now = now or timezone.now()
    solver = solver_configured()
    today = spend_today(now=now)
    row = balance_row()
    return SpendPanel(
        solver=solver,
        today=today,
        month=spend_this_month(now=now),
        balance=row,
        runway=runway(
            balance_usd=row.balance_usd if row else None, spent_today_usd=today.cost_usd, now=now, solver=solver
        ),
        price_per_1000_usd=float(settings.CAPTCHA_PRICE_PER_1000_USD),
        alert_days=float(settings.CAPTCHA_RUNWAY_ALERT_DAYS),
    )


# --- /metrics (cedula.metrics yields these) -------------------------------------------------------------------------


def spend_metrics(*, now: dt.datetime) -> Iterator[Metric]:
    panel = spend_panel(now=now)
    for name, span, spend in (
        ("cedula_captcha_solves_today", "today (Bogotá day)", panel.today),
        ("cedula_captcha_solves_month", "this calendar month (Bogotá)", panel.month),
    ):
        solves = GaugeMetricFamily(name, f"Captcha solves {span} by kind (solved are paid).", labels=["kind"])
        for kind in KINDS:
            solves.add_metric([kind], getattr(spend, kind))
        yield solves
    yield GaugeMetricFamily(
        "cedula_captcha_spend_today_usd", "Captcha spend today (Bogotá day), USD.", value=panel.today.cost_usd
    )
    yield GaugeMetricFamily(
        "cedula_captcha_spend_month_usd", "Captcha spend this calendar month, USD.", value=panel.month.cost_usd
    )
    yield GaugeMetricFamily(
        "cedula_captcha_price_per_1000_usd", "CAPTCHA_PRICE_PER_1000_USD.", value=panel.price_per_1000_usd
    )
    balance = panel.balance.balance_usd if panel.balance and panel.balance.balance_usd is not None else math.nan
    yield GaugeMetricFamily(
        "cedula_captcha_balance_usd", "The solver's balance at its last good reading (NaN: none).", value=balance
    )
    read_at = panel.balance.read_at if panel.balance else None
    yield GaugeMetricFamily(
        "cedula_captcha_balance_age_seconds",
        "Seconds since the balance was last read successfully (NaN: never).",
        value=max(0.0, (now - read_at).total_seconds()) if read_at else math.nan,
    )
    days = panel.runway.days
    if days is None:
        days = math.inf if panel.runway.reason == "no_spend" else math.nan
    yield GaugeMetricFamily(
        "cedula_captcha_runway_days",
        "Days the balance lasts at today's rate (+Inf: nothing spent today; NaN: no solver or no reading).",
        value=days,
    )
    yield GaugeMetricFamily(
        "cedula_captcha_runway_low",
        "1 while the runway is under CAPTCHA_RUNWAY_ALERT_DAYS.",
        value=1.0 if panel.runway_low else 0.0,
    )
