"""The Django-Q2 worker as the console and /metrics see it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Task
from django_q.status import Stat

WORKER_LAST_SEEN_KEY = "cedula:worker_last_seen"


@dataclass(frozen=True)
class WorkerHealth:
    alive: bool  # a Django-Q2 cluster reported within its stat lifetime (a few seconds)
    clusters: int
    last_seen: dt.datetime | None  # last heartbeat, else the last finished task
    heartbeat_age_s: float | None
    tasks_queued: int
    failures_24h: int
    recent_failures: list[dict[str, Any]]


def worker_health(*, now: dt.datetime | None = None) -> WorkerHealth:
    """Django-Q2's view of the worker. Its heartbeat lives only seconds in the cache, so the last one seen is kept
    (and the last finished task is the fallback) to say how long a dead worker has been silent."""
    now = now or timezone.now()
    broker = get_broker()
    stats = Stat.get_all(broker=broker)
    last_seen = _last_seen(stats)
    try:
        queued = broker.queue_size()
    except Exception:  # a broker that cannot answer is shown as unknown, not as an error page
        queued = -1
    since = now - dt.timedelta(hours=24)
    recent = list(
        Failure.objects.filter(stopped__gte=since)
        .order_by("-stopped")
        .values("id", "name", "func", "stopped", "result")[:5]
    )
    return WorkerHealth(
        alive=bool(stats),
        clusters=len(stats),
        last_seen=last_seen,
        heartbeat_age_s=max(0.0, (now - last_seen).total_seconds()) if last_seen else None,
        tasks_queued=queued,
        failures_24h=Failure.objects.filter(stopped__gte=since).count(),
        recent_failures=recent,
    )


def worker_last_seen(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """The last Django-Q2 heartbeat (kept in the cache past its few seconds of life), else the last finished task.
    Cheaper than worker_health: no failure list, no broker queue size."""
    return _last_seen(Stat.get_all(broker=get_broker()))


def _last_seen(stats: list[Stat]) -> dt.datetime | None:
    """The one reading of "when did the worker last show up": the newest heartbeat (remembered in the cache, since a
    heartbeat lives seconds), else the remembered one or the last finished task, whichever is later."""
    last_seen: dt.datetime | None = max((s.timestamp for s in stats), default=None)
    if last_seen is not None:
        cache.set(WORKER_LAST_SEEN_KEY, last_seen, None)
        return last_seen
    last_seen = cache.get(WORKER_LAST_SEEN_KEY)
    last_task: dt.datetime | None = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    if last_task and (last_seen is None or last_task > last_seen):
        last_seen = last_task
    return last_seen
