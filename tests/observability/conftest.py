from __future__ import annotations

import io
import json
import logging

import pytest
import sentry_sdk
import structlog

from ops.logging import build_formatter
from ops.sentry import init_sentry
from tests.helpers.observability import SentryCapture, record_lookups
from tests.helpers.sentry import SentryCaptureServer


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


@pytest.fixture
def stand_in():
    pytest.importorskip("playwright")
    from cedula.registry.simulator import start_simulator

    handle = start_simulator()
    yield handle
    handle.stop()


@pytest.fixture
def browser_runner(stand_in, settings):
    from cedula.registry.browser import BrowserConfig, BrowserRunner

    runner = BrowserRunner(BrowserConfig.from_settings(registry_url=stand_in.url))
    yield runner
    runner.close()
