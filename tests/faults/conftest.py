"""Fixtures the fault tests share."""

from __future__ import annotations

import pytest

from tests.helpers.observability import SentryCapture
from tests.helpers.sentry import SentryCaptureServer


@pytest.fixture
def local_sentry():
    """The real local Sentry server, with this process's SDK pointed at it (as tests/observability does)."""
    import sentry_sdk

    from ops.sentry import init_sentry

    server = SentryCaptureServer().start()
    init_sentry(dsn=server.dsn, environment="test", release="ops-test@1")
    try:
        yield SentryCapture(server)
    finally:
        sentry_sdk.flush(timeout=5)
        sentry_sdk.get_client().close()
        server.stop()
