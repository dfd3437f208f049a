"""Freshness: re-validation and the change history (docs/revalidation.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from cedula.models import (
    FINAL_STATUSES,
    CedulaChange,
    CedulaInfo,
    RevalidationRun,
    Status,
)


def _revalidation_rows(*, older_than: dt.datetime, batch_id: int | None) -> Any:
    # The condition of cedula_revalidate_idx (idle rows), read in last_checked order. The status is excluded rather
    # than named: "status IN (final)" would lead SQLite to read cedula_status_only_idx and sort a million rows.
    not_final = [s for s in Status.values if s not in FINAL_STATUSES]
    qs = CedulaInfo.objects.idle().filter(last_checked__lt=older_than).exclude(status__in=not_final)
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
