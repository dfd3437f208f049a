"""A pytest plugin, loaded with `-p tests.xdist_redis` before Django reads its settings (make test does): under
pytest-xdist each worker gets a Redis database of its own for the broker and the cache (Q_REDIS_URL's number minus
one minus the worker's index), as it gets a test database of its own, so tests running side by side never share a
queue. Without xdist or without Q_REDIS_URL it changes nothing. The worker processes a test starts inherit the
environment, so they use the same database as their test."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("Q_REDIS_URL", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and url):
        return
    base, _, number = url.rpartition("/")
    first = int(number) if number.isdigit() else 0
    own = first - 1 - int(worker[2:])
    if own < 0:
        raise pytest.UsageError(f"Q_REDIS_URL {url}: no Redis database left for xdist worker {worker}")
    os.environ["Q_REDIS_URL"] = f"{base}/{own}"
