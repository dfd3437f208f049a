"""Which of the registry's pages is in use, why, and what each answered lately (the console, /metrics, /healthz).
The writes are cedula.services.sources'."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from cedula.models import SOURCE_PK, LookupAttempt, SourceInUse


@dataclass(frozen=True)
class SourceView:
    current: str
    configured: tuple[str, ...]  # REGISTRY_SOURCES, in order
    reason: str  # SourceInUse.Reason
    reason_label: str
    detail: str
    since: dt.datetime | None
    next_probe_at: dt.datetime | None
    last_probe_at: dt.datetime | None
    last_probe_said: str
    switches: int

    @property
    def on_first(self) -> bool:
        return self.current == self.configured[0]


def source_view(*, now: dt.datetime | None = None) -> SourceView:
    now = now or timezone.now()
    configured = tuple(settings.REGISTRY_SOURCES)
    row = SourceInUse.objects.filter(pk=SOURCE_PK).first() or SourceInUse(current=configured[0])
    # The settings name another list than the row's source: the worker moves to the first one at its next lookup.
    current = row.current if row.current in configured else configured[0]
    return SourceView(
        current=current,
        configured=configured,
        reason=row.reason,
        reason_label=SourceInUse.Reason(row.reason).label if row.reason else "",
        detail=row.detail,
        since=row.since,
        next_probe_at=row.next_probe_at if current != configured[0] else None,
        last_probe_at=row.last_probe_at,
        last_probe_said=row.last_probe_said,
        switches=row.switches,
    )


def source_attempts_24h(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Attempts recorded in the last 24 h per configured source (the dashboard's card; /healthz and /metrics do not
    need the count)."""
    now = now or timezone.now()
    by_source = dict(
        LookupAttempt.objects.filter(started_at__gte=now - dt.timedelta(hours=24))
        .exclude(source="")
        .values_list("source")
        .annotate(n=Count("id"))
        .values_list("source", "n")
    )
    return {name: by_source.get(name, 0) for name in settings.REGISTRY_SOURCES}
