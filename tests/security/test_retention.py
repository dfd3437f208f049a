"""Old personal data goes away on its own: attempts after RETENTION_ATTEMPTS_DAYS, snapshots after
RETENTION_SNAPSHOTS_DAYS, in short batches; the dashboard's 48 h and the cedula rows are untouched."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cedula import selectors
from cedula.models import CedulaInfo, LookupAttempt
from cedula.services.retention import retention_purge
from ops.accounts.models import RefreshRequest
from ops.accounts.services import refresh_requests_purge

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def attempt(row, *, days_ago: float, snapshot: str = "", outcome: str = "error") -> LookupAttempt:
    return LookupAttempt.objects.create(
        cedula=row,
        started_at=NOW - dt.timedelta(days=days_ago),
        outcome=outcome,
        error_kind="timeout" if outcome == "error" else "",
        snapshot=snapshot,
    )


def test_the_purge_deletes_old_attempts_and_blanks_old_snapshots_only(frozen, cedula_factory, settings):
    settings.RETENTION_ATTEMPTS_DAYS = 365
    settings.RETENTION_SNAPSHOTS_DAYS = 30
    row = cedula_factory(check_count=4)
    ancient = attempt(row, days_ago=366)
    year_old_kept = attempt(row, days_ago=364, snapshot="<html>vieja</html>")
    month_old = attempt(row, days_ago=31, snapshot="<html>mes</html>")
    fresh = attempt(row, days_ago=29, snapshot="<html>reciente</html>")
    today = attempt(row, days_ago=0.5, outcome="active")

    report = retention_purge()

    assert report.attempts_deleted == 1 and report.snapshots_blanked == 2
    assert not LookupAttempt.objects.filter(pk=ancient.pk).exists()
    kept = {a.pk: a.snapshot for a in LookupAttempt.objects.all()}
    assert kept == {year_old_kept.pk: "", month_old.pk: "", fresh.pk: "<html>reciente</html>", today.pk: ""}
    row.refresh_from_db()
    assert row.check_count == 4 and CedulaInfo.objects.filter(pk=row.pk).exists()


def test_the_dashboards_48_hours_are_the_same_before_and_after_the_purge(frozen, cedula_factory, settings):
    settings.RETENTION_ATTEMPTS_DAYS = 3
    settings.RETENTION_SNAPSHOTS_DAYS = 3
    row = cedula_factory()
    for hours in (1, 5, 30, 47):
        attempt(row, days_ago=hours / 24, snapshot="x")
    attempt(row, days_ago=10)
    before = selectors.hourly_outcomes(now=timezone.now())

    report = retention_purge()

    assert report.attempts_deleted == 1
    assert selectors.hourly_outcomes(now=timezone.now()) == before


def test_the_purge_works_in_batches_of_the_configured_size(frozen, cedula_factory, settings):
    settings.RETENTION_ATTEMPTS_DAYS = 365
    row = cedula_factory()
    for n in range(5):
        attempt(row, days_ago=400 + n)
    attempt(row, days_ago=1)

    with CaptureQueriesContext(connection) as queries:
        report = retention_purge(batch_size=2)

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("DELETE")]
    attempt_deletes = [sql for sql in deletes if "lookupattempt" in sql.lower()]
    assert report.attempts_deleted == 5
    assert len(attempt_deletes) == 3  # 2 + 2 + 1: never one statement over every old row
    for sql in attempt_deletes:
        ids = re.search(r"IN \(([^)]*)\)", sql, re.IGNORECASE)
        assert ids and len(ids.group(1).split(",")) <= 2, sql
    assert LookupAttempt.objects.count() == 1


def test_each_batch_commits_on_its_own(frozen, cedula_factory, settings):
    """A batch is its own transaction: an interrupted purge keeps what it already did (nothing long-held)."""
    settings.RETENTION_ATTEMPTS_DAYS = 365
    row = cedula_factory()
    for n in range(4):
        attempt(row, days_ago=400 + n)

    with CaptureQueriesContext(connection) as queries:
        retention_purge(batch_size=2)

    sql = [q["sql"].upper() for q in queries.captured_queries]
    savepoints = [s for s in sql if s.startswith("SAVEPOINT") or s.startswith("BEGIN")]
    assert len(savepoints) >= 2  # one per batch (savepoints inside the test's transaction)


def test_old_refresh_requests_go_too(frozen, user_factory):
    person = user_factory()
    old = RefreshRequest.objects.create(user=person, requested_at=NOW - dt.timedelta(days=3))
    recent = RefreshRequest.objects.create(user=person, requested_at=NOW - dt.timedelta(hours=20))

    deleted = refresh_requests_purge(batch_size=1)

    assert deleted == 1
    assert list(RefreshRequest.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk


def test_the_scheduled_task_runs_the_purge(frozen, cedula_factory):
    from cedula import tasks

    row = cedula_factory()
    attempt(row, days_ago=1000)

    result = tasks.retention_purge()

    assert result["attempts_deleted"] == 1 and result["batches"] >= 1


def test_the_purge_is_logged_with_its_counts(frozen, cedula_factory):
    from structlog.testing import capture_logs

    row = cedula_factory()
    attempt(row, days_ago=1000)

    with capture_logs() as logs:
        retention_purge()

    (event,) = [e for e in logs if e["event"] == "retention_purged"]
    assert event["attempts_deleted"] == 1


def test_settings_refuse_a_retention_shorter_than_the_dashboard_window(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "RETENTION_ATTEMPTS_DAYS": "1", "OPS_IGNORE_DOTENV": "1", "VAR_DIR": str(tmp_path),
           "LOG_DIR": str(tmp_path)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0 and "RETENTION_" in result.stderr
