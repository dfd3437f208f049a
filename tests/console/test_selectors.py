"""The dashboard's reads (cedula/selectors.py, console section)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from cedula import selectors
from cedula.models import Status

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


def test_status_counts_list_every_status_even_when_empty(cedula_factory):
    cedula_factory(status=Status.ACTIVE)

    counts = selectors.status_counts()

    assert counts == {"pending": 0, "active": 1, "cancelled": 0, "not_found": 0, "error": 0, "withdrawn": 0}


@time_machine.travel(NOW, tick=False)
def test_hourly_outcomes_bucket_the_last_48_hours_and_ignore_older_attempts(cedula_factory, attempt_factory):
    info = cedula_factory()
    attempt_factory(info, outcome="active", started_at=NOW - dt.timedelta(minutes=10))  # current hour
    attempt_factory(info, outcome="error", started_at=NOW - dt.timedelta(minutes=20))  # current hour
    attempt_factory(info, outcome="active", started_at=NOW - dt.timedelta(hours=3))
    attempt_factory(info, outcome="active", started_at=NOW - dt.timedelta(hours=49))  # outside

    series = selectors.hourly_outcomes(hours=48, now=NOW)

    assert len(series.hours) == 48 and series.hours[-1] == NOW.replace(minute=0)
    assert series.counts["active"][-1] == 1 and series.counts["error"][-1] == 1
    assert series.counts["active"][-4] == 1
    assert sum(series.totals) == 3
    assert series.error_rates[-1] == 0.5 and series.error_rates[0] is None


@time_machine.travel(NOW, tick=False)
def test_queue_counts_split_due_in_flight_and_scheduled(cedula_factory):
    cedula_factory(next_attempt_at=NOW - dt.timedelta(seconds=5))
    cedula_factory(next_attempt_at=NOW + dt.timedelta(seconds=60), attempts=1)
    cedula_factory(claimed_at=NOW, claim_token="x")
    cedula_factory(status=Status.ACTIVE)

    assert selectors.queue_counts(now=NOW) == selectors.QueueCounts(due_now=1, in_flight=1, scheduled=1, retries=1)


def test_batch_progress_counts_rows_no_longer_pending_or_queued(cedula_factory, batch_factory):
    batch = batch_factory()
    cedula_factory(status=Status.ACTIVE, import_batch=batch)
    cedula_factory(status=Status.ERROR, import_batch=batch, next_attempt_at=timezone.now())  # retrying: not done
    cedula_factory(status=Status.PENDING, import_batch=batch)
    cedula_factory(status=Status.NOT_FOUND, import_batch=batch)

    [progress] = selectors.import_batch_progress(limit=5)

    assert (progress.total, progress.done, progress.percent) == (4, 2, 50)


def test_departamentos_lists_each_value_once_in_order(cedula_factory):
    for dep in ["META", "CAUCA", "", "CAUCA", "ANTIOQUIA"]:
        cedula_factory(departamento=dep)

    assert selectors.departamentos() == ["ANTIOQUIA", "CAUCA", "META"]


def test_recent_failures_mask_the_cedula_and_scrub_the_message(cedula_factory, attempt_factory):
    info = cedula_factory(cedula="1012345678")
    attempt_factory(info, message="Rechazo para 1012345678")
    attempt_factory(info, outcome="active")

    [failure] = selectors.recent_lookup_failures(limit=10)

    assert failure["cedula"] == "***5678"
    assert "1012345678" not in failure["message"]


def test_a_worker_that_never_reported_is_not_alive(db):
    health = selectors.worker_health()

    assert (health.alive, health.last_seen, health.heartbeat_age_s) == (False, None, None)
