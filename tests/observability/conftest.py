from __future__ import annotations

import io
import itertools
import json
import logging

import pytest
import sentry_sdk
import structlog
from django_q.signals import pre_execute

from cedula import services
from cedula.models import CedulaInfo
from cedula.registry.parser import LookupReport, LookupResult
from ops.logging import build_formatter
from ops.sentry import init_sentry
from tests.observability.capture import SentryCaptureServer

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


@pytest.fixture
def sentry_capture():
    """Sentry switched on the way settings do it (ops.sentry.init_sentry), pointed at a real local server."""
    server = SentryCaptureServer().start()
    init_sentry(dsn=server.dsn, environment="test", release="ops-test@1")
    for scope in (sentry_sdk.get_isolation_scope(), sentry_sdk.get_current_scope()):
        scope.clear_breadcrumbs()
    try:
        yield SentryCapture(server)
    finally:
        sentry_sdk.flush(timeout=5)
        sentry_sdk.get_client().close()
        server.stop()


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


@pytest.fixture
def lookups(db, settings):
    # The breaker would stop claims after 5 blocks; the error-rate tests want the raw stream of attempts.
    settings.REGISTRY_BREAKER_THRESHOLD = 10_000
    # Retries far away, so each claim takes the row just queued and not an earlier one coming due again.
    settings.LOOKUP_RETRY_DELAYS_S = [86_400, 86_400, 86_400]
    return record_lookups


class LogOutput:
    """What the configured pipeline renders (processors, scrubber, renderer), captured as JSON and console text."""

    def __init__(self) -> None:
        self.json_stream = io.StringIO()
        self.console_stream = io.StringIO()
        self.handlers = [logging.StreamHandler(self.json_stream), logging.StreamHandler(self.console_stream)]
        self.handlers[0].setFormatter(build_formatter("json"))
        self.handlers[1].setFormatter(build_formatter("console"))

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.json_stream.getvalue().splitlines() if line.strip()]

    def events(self, name: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == name]

    def text(self) -> str:
        return self.json_stream.getvalue() + self.console_stream.getvalue()


@pytest.fixture
def log_output():
    output = LogOutput()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in output.handlers:
        root.addHandler(handler)
    try:
        yield output
    finally:
        for handler in output.handlers:
            root.removeHandler(handler)
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()


def bind_task_like_django_q(task_id: str, name: str) -> None:
    """What Django-Q2 does before it runs a task: send pre_execute (cedula.signals binds the task context)."""
    pre_execute.send(sender="django_q", func="cedula.tasks.lookup_next", task={"id": task_id, "name": name})


@pytest.fixture
def stand_in():
    pytest.importorskip("playwright")
    from cedula.registry.simulator.server import start_simulator

    handle = start_simulator()
    yield handle
    handle.stop()


@pytest.fixture
def browser_runner(stand_in, settings):
    from cedula.registry.browser import BrowserConfig, BrowserRunner

    runner = BrowserRunner(BrowserConfig.from_settings(registry_url=stand_in.url))
    yield runner
    runner.close()
