"""GET /healthz: database, worker heartbeat age, due backlog, breaker; 503 when the worker is silent too long."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_q.models import Task

pytestmark = pytest.mark.django_db


def _task_finished(ago_s: float) -> None:
    # Django-Q2 records every finished task; the last one is the worker's last sign of life once its heartbeat
    # (kept only seconds in the cache) is gone.
    stopped = timezone.now() - dt.timedelta(seconds=ago_s)
    Task.objects.create(
        id="t" * 32, name="lookup_next-1", func="cedula.tasks.lookup_next", started=stopped, stopped=stopped,
        success=True,
    )  # fmt: skip


def test_healthz_reports_database_heartbeat_backlog_and_breaker(client, cedula_factory, settings):
    settings.WORKER_SILENT_AFTER_S = 180
    _task_finished(ago_s=20)
    cedula_factory(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["database"] is True
    assert 19 <= body["worker_heartbeat_age_s"] < 60
    assert body["due_backlog"] == 1
    assert body["breaker"]["state"] == "closed" and body["breaker"]["paused"] is False


def test_healthz_is_503_when_the_worker_has_been_silent_too_long(client, settings):
    settings.WORKER_SILENT_AFTER_S = 180
    _task_finished(ago_s=600)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["worker_heartbeat_age_s"] >= 600


def test_healthz_is_503_when_no_worker_ever_reported(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["worker_heartbeat_age_s"] is None
