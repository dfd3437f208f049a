"""Reads of the public site about a person: their own cedula's status and whether they may refresh it.

The refresh allowance lives here, with its model (RefreshRequest): the domain (cedula) never imports the accounts app.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from cedula.models import CedulaInfo
from cedula.selectors import cedula_for_user, lookup_in_progress
from ops.accounts.models import RefreshRequest, User


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
