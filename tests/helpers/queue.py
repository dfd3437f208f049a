"""Waiting on a real worker's results: rows queued through the service, polled until they settle."""

from __future__ import annotations

import time

from cedula import services
from cedula.models import CedulaInfo, Priority, Source, Status


def wait_until(predicate, timeout: float, interval: float = 0.3, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s: {message}")


def final_state(info: CedulaInfo) -> str:
    return f"error:{info.error_kind}" if info.status == Status.ERROR else info.status


def settled_count(ids) -> int:
    """Rows with a final status and nothing scheduled (no retry due, no lookup wanted)."""
    rows = CedulaInfo.objects.filter(pk__in=ids, next_attempt_at__isnull=True)
    return rows.exclude(status=Status.PENDING).count()


def all_settled(ids) -> bool:
    return settled_count(ids) == len(set(ids))


def queue(cedulas, priority=Priority.BULK, source=Source.IMPORT):
    return [services.cedula_request_lookup(cedula=c, priority=priority, source=source).pk for c in cedulas]
