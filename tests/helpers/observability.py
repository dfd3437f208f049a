"""Observability helpers: Sentry's events read back from a real local server, lookups recorded the way a worker
records them, a task context bound the way Django-Q2 binds it."""

from __future__ import annotations

import itertools

import sentry_sdk
from django_q.signals import pre_execute

from cedula import services
from cedula.models import CedulaInfo
from cedula.registry.parser import LookupReport, LookupResult
from tests.helpers.sentry import SentryCaptureServer

BLOCK_PAGE = "<html><body>The requested URL was rejected. Your support ID is: 4455667788</body></html>"


class SentryCapture:
    def __init__(self, server: SentryCaptureServer) -> None:
        self.server = server

    def events(self) -> list[dict]:
        sentry_sdk.flush(timeout=5)
        return self.server.events()

    def raw(self) -> bytes:
        sentry_sdk.flush(timeout=5)
        return self.server.raw()

    def clear(self) -> None:
        sentry_sdk.flush(timeout=5)
        self.server.clear()


_cedulas = itertools.count(1_234_500_000)


def report(status: str, error_kind: str | None = None, *, duration_ms: int = 1200) -> LookupReport:
    if status == "error":
        result = LookupResult(status="error", error_kind=error_kind, message=f"{error_kind} answer")
        return LookupReport(result=result, html=BLOCK_PAGE, duration_ms=duration_ms)
    result = LookupResult(status=status, departamento="BOGOTA D.C.", municipio="BOGOTA D.C.", mesa="013")
    return LookupReport(result=result, html="<table id='consulta'></table>", duration_ms=duration_ms)


def record_lookups(reports: list[LookupReport], *, task_id: str = "") -> list[str]:
    """Real LookupAttempt rows the way a worker writes them: queue a row, claim it, record the registry's answer.
    Returns the cedulas used (each attempt is a different person)."""
    used = []
    for rep in reports:
        cedula = str(next(_cedulas))
        info = CedulaInfo.objects.create(cedula=cedula)
        services.cedulas_queue_now(ids=[info.pk])
        claim = services.lookup_claim_next()
        assert claim is not None and claim.cedula_id == info.pk, "the row must be claimable"
        services.lookup_record_outcome(cedula_id=info.pk, claim_token=claim.token, report=rep, task_id=task_id)
        used.append(cedula)
    return used


def bind_task_like_django_q(task_id: str, name: str) -> None:
    """What Django-Q2 does before it runs a task: send pre_execute (cedula.signals binds the task context)."""
    pre_execute.send(sender="django_q", func="cedula.tasks.lookup_next", task={"id": task_id, "name": name})
