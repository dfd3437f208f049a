"""Re-validation: which rows come back, in what order, how many a day, and behind which work."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cedula import services, tasks
from cedula.models import CedulaInfo, ImportBatch, Priority, RevalidationRun, Source, Status
from cedula.services import revalidation

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 15, 0, tzinfo=dt.UTC)  # 10:00 in Bogota


def answered(cedula_factory, days_ago: float, *, status: str = Status.ACTIVE, **fields) -> CedulaInfo:
    return cedula_factory(status=status, last_checked=NOW - dt.timedelta(days=days_ago), check_count=1, **fields)


def queued_ids() -> list[int]:
    return list(
        CedulaInfo.objects.filter(next_attempt_at__isnull=False)
        .order_by("-priority", "next_attempt_at", "id")
        .values_list("pk", flat=True)
    )


def claim_order() -> list[int]:
    order = []
    while (claim := services.lookup_claim_next()) is not None:
        order.append(claim.cedula_id)
    return order


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_only_rows_answered_longer_ago_than_the_setting_come_back_oldest_first(settings, cedula_factory):
    settings.REVALIDATE_AFTER_DAYS = 90
    fresh = answered(cedula_factory, 30)
    old = answered(cedula_factory, 100, status=Status.CANCELLED)
    oldest = answered(cedula_factory, 300, status=Status.NOT_FOUND)
    older = answered(cedula_factory, 200)

    report = revalidation.revalidation_run_scheduled()

    assert report.queued == 3
    assert queued_ids() == [oldest.pk, older.pk, old.pk]
    fresh.refresh_from_db()
    assert fresh.next_attempt_at is None
    assert set(CedulaInfo.objects.filter(next_attempt_at__isnull=False).values_list("priority", flat=True)) == {
        Priority.REVALIDATION
    }
    assert claim_order() == [oldest.pk, older.pk, old.pk]


def test_rows_in_error_never_answered_or_already_queued_are_not_picked(settings, cedula_factory):
    answered(cedula_factory, 200, status=Status.ERROR, error_kind="timeout")
    cedula_factory(status=Status.PENDING)
    queued = answered(cedula_factory, 200, next_attempt_at=NOW + dt.timedelta(minutes=1))
    held = answered(cedula_factory, 200, claimed_at=NOW, claim_token="x")

    assert revalidation.revalidation_run_scheduled().queued == 0
    queued.refresh_from_db()
    held.refresh_from_db()
    assert queued.priority == Priority.BULK and queued.next_attempt_at == NOW + dt.timedelta(minutes=1)
    assert held.next_attempt_at is None


def test_the_daily_budget_caps_the_runs_of_a_day_and_refills_at_bogota_midnight(settings, cedula_factory):
    settings.REVALIDATE_MAX_PER_DAY = 3
    rows = [answered(cedula_factory, 100 + i) for i in range(5)]

    assert revalidation.revalidation_run_scheduled().queued == 3
    # Those three are looked up again; the next hourly run of the same day finds budget for none.
    CedulaInfo.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=None, last_checked=NOW)
    assert revalidation.revalidation_run_scheduled().queued == 0
    # 23:59 in Bogota is still the same day (04:59 UTC the next day)...
    with time_machine.travel(dt.datetime(2026, 6, 16, 4, 59, tzinfo=dt.UTC), tick=False):
        assert revalidation.revalidation_run_scheduled().queued == 0
    # ...00:01 in Bogota is a new one.
    with time_machine.travel(dt.datetime(2026, 6, 16, 5, 1, tzinfo=dt.UTC), tick=False):
        assert revalidation.revalidation_run_scheduled().queued == 2
    assert CedulaInfo.objects.filter(pk__in=[r.pk for r in rows[:2]], next_attempt_at__isnull=False).count() == 2
    assert list(RevalidationRun.objects.order_by("id").values_list("queued", flat=True)) == [3, 2]


def test_zero_days_turns_the_scheduled_job_off(settings, cedula_factory):
    settings.REVALIDATE_AFTER_DAYS = 0
    answered(cedula_factory, 1000)

    assert tasks.revalidate() == 0
    assert not CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists()


def test_registrations_and_bulk_imports_run_before_re_validation(cedula_factory, user_factory):
    old = [answered(cedula_factory, 200 + i) for i in range(3)]
    revalidation.revalidation_run_scheduled()
    bulk = services.cedula_request_lookup(cedula="55555555", priority=Priority.BULK, source=Source.IMPORT)
    user = user_factory(cedula="44444444")  # the registration signal queues it on commit
    registration = services.cedula_register_for_user(user=user)

    assert registration.priority == Priority.INTERACTIVE
    assert claim_order() == [registration.pk, bulk.pk, old[2].pk, old[1].pk, old[0].pk]


def test_a_person_who_registers_with_a_row_waiting_for_re_validation_jumps_ahead(cedula_factory, user_factory):
    waiting = answered(cedula_factory, 200, cedula="33333333")
    other = answered(cedula_factory, 300)
    revalidation.revalidation_run_scheduled()

    services.cedula_register_for_user(user=user_factory(cedula="33333333"))

    waiting.refresh_from_db()
    assert waiting.priority == Priority.INTERACTIVE
    assert claim_order() == [waiting.pk, other.pk]


def test_the_console_revalidates_selected_rows_of_any_age_but_not_errors(cedula_factory):
    recent = answered(cedula_factory, 1)
    failed = answered(cedula_factory, 1, status=Status.ERROR)

    assert revalidation.cedulas_revalidate(ids=[recent.pk, failed.pk], requested_by="ops@example.com") == 1
    recent.refresh_from_db()
    assert recent.priority == Priority.REVALIDATION and recent.next_attempt_at is not None
    run = RevalidationRun.objects.get()
    assert (run.trigger, run.requested_by, run.queued) == ("console", "ops@example.com", 1)


def test_a_whole_import_batch_can_be_revalidated(cedula_factory):
    batch = ImportBatch.objects.create(file_name="lote.csv")
    mine = [answered(cedula_factory, 1, import_batch=batch) for _ in range(3)]
    answered(cedula_factory, 1)

    assert revalidation.batches_revalidate(batch_ids=[batch.pk], requested_by="ops") == 3
    assert set(queued_ids()) == {r.pk for r in mine}


def run_command(*args: str) -> dict:
    out = StringIO()
    call_command("revalidate_cedulas", *args, stdout=out, stderr=StringIO())
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_the_command_prints_one_json_object_and_honours_age_limit_and_batch(cedula_factory):
    batch = ImportBatch.objects.create(file_name="lote.csv")
    in_batch = [answered(cedula_factory, 100 + i, import_batch=batch) for i in range(3)]
    answered(cedula_factory, 400)
    answered(cedula_factory, 10)

    assert run_command("--dry-run") == {"queued": 4, "eligible": 4}
    assert not CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists()
    assert run_command("--batch", str(batch.pk), "--limit", "2") == {"queued": 2, "eligible": 3}
    assert set(queued_ids()) == {in_batch[2].pk, in_batch[1].pk}
    assert run_command("--older-than-days", "5") == {"queued": 3, "eligible": 3}


def test_the_command_defaults_to_what_is_left_of_the_daily_budget(settings, cedula_factory):
    settings.REVALIDATE_MAX_PER_DAY = 2
    for i in range(4):
        answered(cedula_factory, 100 + i)

    assert run_command() == {"queued": 2, "eligible": 4}
    assert run_command() == {"queued": 0, "eligible": 2}
    assert run_command("--limit", "5") == {"queued": 2, "eligible": 2}


@pytest.mark.parametrize("args", [["--limit", "-1"], ["--older-than-days", "-3"], ["--batch", "999"]])
def test_bad_arguments_are_a_usage_error_with_exit_code_2(args):
    with pytest.raises(CommandError) as excinfo:
        call_command("revalidate_cedulas", *args, stdout=StringIO())
    assert excinfo.value.returncode == 2


def test_an_unknown_option_exits_2_from_the_shell():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "manage.py", "revalidate_cedulas", "--limit", "many"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DEBUG": "1", "SECRET_KEY": "x"},
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""


def test_the_pick_reads_the_revalidation_index():
    from django.db import connection

    from cedula.selectors import freshness

    qs = (
        freshness._revalidation_rows(older_than=timezone.now(), batch_id=None)
        .order_by("last_checked", "id")
        .values_list("pk", flat=True)[:2000]
    )
    if connection.vendor != "sqlite":
        pytest.skip("the plan is checked on SQLite")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "cedula_revalidate_idx" in plan
    assert "TEMP B-TREE" not in plan
