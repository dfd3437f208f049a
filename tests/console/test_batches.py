"""Batches: the operator-cancelled state, pause/resume, order among bulk batches, the batch page and its ETA."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cedula import selectors, services
from cedula.models import BatchEvent, CedulaInfo, LookupAttempt, Priority, Status

pytestmark = pytest.mark.django_db

BOGOTA = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture
def batch_with_rows(cedula_factory, batch_factory):
    def make(n=4, *, file_name="lote.csv", at=None, **fields):
        batch = batch_factory(file_name=file_name)
        at = at or timezone.now() - dt.timedelta(minutes=1)
        rows = [cedula_factory(import_batch=batch, next_attempt_at=at, **fields) for _ in range(n)]
        return batch, rows

    return make


def test_cancelling_a_batch_keeps_answers_and_marks_never_answered_rows_as_withdrawn(batch_with_rows, cedula_factory):
    batch, rows = batch_with_rows(2)
    answered = cedula_factory(
        import_batch=batch, status=Status.ACTIVE, municipio="CALI", next_attempt_at=timezone.now()
    )
    finished = cedula_factory(import_batch=batch, status=Status.NOT_FOUND)

    count = services.batch_cancel_pending(batch=batch, by=None)

    assert count == 3
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.WITHDRAWN and not row.is_queued
        assert row.get_status_display() == "Sin consultar (cancelada por el operador)"
        assert not selectors.lookup_in_progress(row)
    answered.refresh_from_db()
    assert answered.status == Status.ACTIVE and answered.municipio == "CALI" and not answered.is_queued
    finished.refresh_from_db()
    assert finished.status == Status.NOT_FOUND
    assert BatchEvent.objects.get(batch=batch).action == BatchEvent.Action.CANCEL


def test_no_count_or_eta_takes_a_cancelled_row_for_pending_work(batch_with_rows):
    batch, _rows = batch_with_rows(3)
    services.batch_cancel_pending(batch=batch, by=None)

    counts = selectors.status_counts()
    progress = selectors.import_batch_progress(ids=[batch.pk])[0]
    page = selectors.batch_page(batch_id=batch.pk)
    eta = selectors.batch_eta(batch_id=batch.pk)

    assert counts[Status.PENDING] == 0 and counts[Status.WITHDRAWN] == 3
    assert progress.outstanding == 0 and progress.percent == 100
    assert page.outstanding == 0 and page.answered[Status.WITHDRAWN] == 3
    assert selectors.queue_counts().due_now == 0
    assert eta.reason == "done" and eta.rows_left == 0


def test_a_cancelled_row_can_be_queued_again_and_reads_as_pending(batch_with_rows):
    batch, rows = batch_with_rows(2)
    services.batch_cancel_pending(batch=batch, by=None)

    queued = services.cedulas_queue_matching(rows=CedulaInfo.objects.filter(import_batch=batch))

    assert queued == 2
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.PENDING and row.next_attempt_at is not None


def test_a_row_held_by_a_worker_is_not_cancelled(batch_with_rows):
    batch, rows = batch_with_rows(2)
    claim = services.lookup_claim_next()

    services.batch_cancel_pending(batch=batch, by=None)

    held = CedulaInfo.objects.get(pk=claim.cedula_id)
    assert held.claimed_at is not None and held.status == Status.PENDING


def test_pausing_a_batch_takes_its_rows_out_of_the_queue_and_resuming_puts_back_exactly_those(
    batch_with_rows, cedula_factory
):
    batch, rows = batch_with_rows(3)
    idle_error = cedula_factory(import_batch=batch, status=Status.ERROR)

    assert services.batch_pause(batch=batch, by=None) == 3
    batch.refresh_from_db()
    assert batch.is_paused
    assert services.lookup_claim_next() is None
    page = selectors.batch_page(batch_id=batch.pk)
    assert page.held == 3 and page.queued == 0 and page.outstanding == 3
    assert selectors.batch_eta(batch_id=batch.pk).reason == "paused"

    assert services.batch_resume(batch=batch, by=None) == 3
    batch.refresh_from_db()
    assert not batch.is_paused
    assert CedulaInfo.objects.filter(import_batch=batch, next_attempt_at__isnull=False).count() == 3
    idle_error.refresh_from_db()
    assert idle_error.next_attempt_at is None


def test_moving_a_batch_ahead_or_behind_changes_the_order_among_bulk_work_only(batch_with_rows, cedula_factory):
    old = timezone.now() - dt.timedelta(hours=1)
    first, first_rows = batch_with_rows(2, file_name="primero.csv", at=old)
    second, second_rows = batch_with_rows(2, file_name="segundo.csv", at=old + dt.timedelta(minutes=5))
    person = cedula_factory(priority=Priority.INTERACTIVE, next_attempt_at=timezone.now())

    services.batch_move(batch=second, ahead=True, by=None)
    order = [services.lookup_claim_next().cedula_id for _ in range(5)]

    # A person still goes first; then the second batch in its file order, then the first.
    assert order == [person.pk, *[r.pk for r in second_rows], *[r.pk for r in first_rows]]


def test_moving_a_batch_behind_puts_it_after_the_other_batches(batch_with_rows):
    old = timezone.now() - dt.timedelta(hours=1)
    first, first_rows = batch_with_rows(2, file_name="primero.csv", at=old)
    second, second_rows = batch_with_rows(2, file_name="segundo.csv", at=old + dt.timedelta(minutes=5))

    services.batch_move(batch=first, ahead=False, by=None)
    order = [services.lookup_claim_next().cedula_id for _ in range(4)]

    assert order == [*[r.pk for r in second_rows], *[r.pk for r in first_rows]]


def test_retrying_a_batchs_errors_queues_only_its_failed_rows(batch_with_rows, cedula_factory):
    batch, _rows = batch_with_rows(1)
    failed = cedula_factory(import_batch=batch, status=Status.ERROR, error_kind="timeout")
    other = cedula_factory(status=Status.ERROR, error_kind="timeout")

    assert services.batch_retry_errors(batch=batch, by=None) == 1

    failed.refresh_from_db()
    other.refresh_from_db()
    assert failed.next_attempt_at is not None and other.next_attempt_at is None


def test_the_eta_counts_the_batch_the_work_ahead_and_the_gap(settings, batch_with_rows, cedula_factory):
    settings.REGISTRY_MIN_GAP_S = 5
    now = timezone.now()
    older, _ = batch_with_rows(10, file_name="antes.csv", at=now - dt.timedelta(hours=2))
    batch, _ = batch_with_rows(20, file_name="mio.csv", at=now - dt.timedelta(hours=1))
    _newer, _ = batch_with_rows(30, file_name="despues.csv", at=now - dt.timedelta(minutes=1))
    for _ in range(5):
        cedula_factory(priority=Priority.STAFF, next_attempt_at=now)

    eta = selectors.batch_eta(batch_id=batch.pk, now=now)

    assert eta.reason == "estimated"
    assert eta.rows_left == 20 and eta.work_ahead == 15 and eta.lookups == 35
    assert eta.finish_at == timezone.localtime(now + dt.timedelta(seconds=35 * 5))
    assert eta.finish_at.utcoffset() == dt.timedelta(hours=-5)  # Bogotá time


def test_the_eta_follows_the_recent_real_rate_when_it_is_slower_than_the_gap(settings, batch_with_rows, cedula_factory):
    settings.REGISTRY_MIN_GAP_S = 5
    now = timezone.now()
    done = cedula_factory(status=Status.ACTIVE)
    for i in range(10):
        LookupAttempt.objects.create(cedula=done, started_at=now - dt.timedelta(seconds=12 * i), outcome="active")
    batch, _ = batch_with_rows(10)

    eta = selectors.batch_eta(batch_id=batch.pk, now=now)

    assert eta.budget.interval_s == pytest.approx(12)
    assert eta.budget.interval_observed
    assert eta.finish_at == timezone.localtime(now + dt.timedelta(seconds=120))


def test_the_eta_waits_out_quiet_hours_and_the_daily_budget(settings, batch_with_rows):
    settings.REGISTRY_MIN_GAP_S = 10
    settings.REGISTRY_QUIET_HOURS = "22-06"
    settings.REGISTRY_MAX_PER_DAY = 100
    at = dt.datetime(2026, 3, 2, 21, 50, tzinfo=BOGOTA)  # 10 minutes before quiet hours
    with time_machine.travel(at, tick=False):
        batch, _ = batch_with_rows(250, at=timezone.now() - dt.timedelta(minutes=1))

        eta = selectors.batch_eta(batch_id=batch.pk)

    # 60 before 22:00; 100 on the 3rd from 06:00; 90 on the 4th from 06:00 (15 minutes).
    assert eta.finish_at == dt.datetime(2026, 3, 4, 6, 15, tzinfo=BOGOTA)
    assert eta.budget.daily_capacity == 100


def test_the_batch_page_shows_states_progress_eta_and_error_kinds(admin_client, batch_with_rows, cedula_factory):
    batch, _ = batch_with_rows(3)
    cedula_factory(import_batch=batch, status=Status.ACTIVE)
    cedula_factory(import_batch=batch, status=Status.ERROR, error_kind="blocked")
    cedula_factory(import_batch=batch, status=Status.ERROR, error_kind="blocked")

    page = admin_client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk])).content.decode()

    assert 'data-testid="batch-count-queued">3<' in page
    assert 'data-testid="batch-count-active">1<' in page
    assert 'data-testid="batch-error-blocked">2<' in page
    assert 'data-testid="batch-done">3<' in page and 'data-testid="batch-total">6<' in page
    assert 'data-eta-reason="estimated"' in page and "hora de Bogotá" in page


def test_a_batch_action_is_recorded_with_who_and_how_many(admin_client, admin_user, batch_with_rows):
    batch, _ = batch_with_rows(4)
    url = reverse("admin:cedula_importbatch_action", args=[batch.pk, "cancel"])

    confirm = admin_client.get(url).content.decode()
    admin_client.post(url, {"confirmar": "1"})

    assert 'data-testid="confirm-count">4<' in confirm
    event = BatchEvent.objects.get(batch=batch)
    assert (event.action, event.rows, event.by) == ("cancel", 4, admin_user)
    page = admin_client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk])).content.decode()
    assert "Cancelar pendientes" in page and admin_user.email in page


def test_the_batch_export_has_the_results_of_the_batch_only(admin_client, batch_with_rows, cedula_factory):
    batch, rows = batch_with_rows(2)
    cedula_factory(cedula="55555555")

    response = admin_client.get(reverse("admin:cedula_importbatch_export", args=[batch.pk, "csv"]))

    body = response.content.decode("utf-8-sig")
    assert response["Content-Disposition"].endswith('-resultados.csv"')
    assert all(r.cedula in body for r in rows) and "55555555" not in body


# --- actions on the whole filter ---------------------------------------------------------------------------------


def test_an_action_on_the_whole_filter_counts_first_then_acts_on_every_matching_row(admin_client, cedula_factory):
    for _ in range(60):  # more than a changelist page
        cedula_factory(status=Status.ERROR, error_kind="timeout")
    for _ in range(3):
        cedula_factory(status=Status.ERROR, error_kind="blocked")
    cedula_factory(status=Status.ACTIVE)
    query = "error_kind__exact=timeout&status__exact=error"
    url = reverse("admin:cedula_cedulainfo_filter_action", args=["retry_failed"]) + "?" + query

    confirm = admin_client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        done = admin_client.post(url, {"confirmar": "1"})

    assert 'data-testid="confirm-count">60<' in confirm
    assert CedulaInfo.objects.filter(next_attempt_at__isnull=False).count() == 60
    assert not CedulaInfo.objects.filter(error_kind="blocked", next_attempt_at__isnull=False).exists()
    # The filter stays in the URL: back on the same bookmarkable view.
    assert done["Location"] == reverse("admin:cedula_cedulainfo_changelist") + "?" + query
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    # No statement reads the matching rows into Python: only the changelist's own capped count and first page.
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and '"cedula_cedulainfo"' in q["sql"]]
    assert all("COUNT(" in sql or "LIMIT" in sql for sql in reads), reads


def test_cancel_on_the_whole_filter_takes_matching_rows_out_of_the_queue(admin_client, cedula_factory):
    now = timezone.now()
    mine = [cedula_factory(source="import", next_attempt_at=now) for _ in range(3)]
    other = cedula_factory(source="registration", next_attempt_at=now)
    url = reverse("admin:cedula_cedulainfo_filter_action", args=["cancel_pending"]) + "?source__exact=import"

    admin_client.post(url, {"confirmar": "1"})

    assert all(CedulaInfo.objects.get(pk=r.pk).status == Status.WITHDRAWN for r in mine)
    other.refresh_from_db()
    assert other.next_attempt_at is not None and other.status == Status.PENDING


def test_a_search_is_part_of_the_filter(admin_client, cedula_factory):
    target = cedula_factory(cedula="1234567", status=Status.ERROR)
    cedula_factory(status=Status.ERROR)
    url = reverse("admin:cedula_cedulainfo_filter_action", args=["retry_failed"]) + "?q=1.234.567"

    confirm = admin_client.get(url).content.decode()
    admin_client.post(url, {"confirmar": "1"})

    assert 'data-testid="confirm-count">1<' in confirm and "1.234.567" in confirm
    assert list(CedulaInfo.objects.filter(next_attempt_at__isnull=False).values_list("pk", flat=True)) == [target.pk]


# --- Django-Q2 schedules page ----------------------------------------------------------------------------------------


def test_the_schedules_page_shows_last_run_result_and_next_run_in_bogota_time(admin_client):
    from django_q.models import Schedule, Task

    stopped = dt.datetime(2026, 3, 2, 15, 4, 5, tzinfo=dt.UTC)
    task = Task.objects.create(
        id="t1", name="lookups-dispatch-x", func="cedula.tasks.dispatch", started=stopped, stopped=stopped,
        success=True, result=3,
    )  # fmt: skip
    Schedule.objects.create(
        name="lookups-dispatch", func="cedula.tasks.dispatch", schedule_type="I", minutes=1, task=task.id,
        next_run=stopped + dt.timedelta(minutes=1),
    )  # fmt: skip

    page = admin_client.get(reverse("admin:django_q_schedule_changelist")).content.decode()

    assert "última ejecución" in page and "resultado" in page and "próxima ejecución" in page
    assert "02/03/2026 10:04:05" in page  # 15:04:05 UTC is 10:04:05 in Bogotá
    assert "02/03/2026 10:05:05" in page
    assert "Correcta" in page
    assert reverse("admin:django_q_schedule_run_now", args=[Schedule.objects.get().pk]) in page


def test_run_now_runs_the_job_through_the_queue_once(admin_client):
    from django_q.brokers import get_broker
    from django_q.models import Schedule

    schedule = Schedule.objects.create(name="x", func="cedula.tasks.dispatch", schedule_type="I", minutes=1)
    next_run = schedule.next_run

    admin_client.post(reverse("admin:django_q_schedule_run_now", args=[schedule.pk]), {"_form_submitted": "on"})

    broker = get_broker()
    assert broker.queue_size() == 1
    schedule.refresh_from_db()
    assert schedule.next_run == next_run


def test_the_batch_page_is_linked_from_the_dashboard_the_changelist_filter_and_the_import_result(
    admin_client, batch_with_rows
):
    batch, _ = batch_with_rows(1)
    url = reverse("admin:cedula_importbatch_change", args=[batch.pk])

    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    changelist = admin_client.get(
        reverse("admin:cedula_cedulainfo_changelist") + f"?import_batch__id__exact={batch.pk}"
    ).content.decode()

    assert f'href="{url}"' in dashboard
    assert 'data-testid="batch-page-link"' in changelist and f'href="{url}"' in changelist


def test_the_import_result_links_to_the_new_batch_page(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cedula.models import ImportBatch

    preview = admin_client.post(
        reverse("admin:cedula_cedulainfo_import"),
        {"import_file": SimpleUploadedFile("lote.csv", b"cedula\n1234567\n7654321\n")},
    )
    fields = {
        name: preview.context["confirm_form"][name].value()
        for name in ("import_file_name", "original_file_name", "format", "resource")
    }
    done = admin_client.post(
        reverse("admin:cedula_cedulainfo_process_import"), {k: v for k, v in fields.items() if v is not None},
        follow=True,
    )  # fmt: skip

    batch = ImportBatch.objects.get()
    page = done.content.decode()
    assert 'data-testid="import-batch-link"' in page
    assert reverse("admin:cedula_importbatch_change", args=[batch.pk]) in page


@pytest.mark.parametrize(
    "query",
    [
        "last_checked_from_0=2026-01-01&last_checked_from_1=00:00",
        "departamento=CAUCA",
        "import_batch__id__exact=1&source__exact=import",
        "",
    ],
)
def test_the_confirmation_describes_any_filter_of_the_list(admin_client, cedula_factory, query):
    cedula_factory(status=Status.ERROR, departamento="CAUCA", last_checked=timezone.now())
    url = reverse("admin:cedula_cedulainfo_filter_action", args=["queue_now"]) + ("?" + query if query else "")

    response = admin_client.get(url)

    assert response.status_code == 200
    assert 'data-testid="confirm-count"' in response.content.decode()


def test_a_filter_the_list_cannot_read_sends_the_action_back_to_the_list(admin_client, cedula_factory):
    cedula_factory(status=Status.ERROR)
    url = reverse("admin:cedula_cedulainfo_filter_action", args=["retry_failed"]) + "?nonsense__field=1"

    confirm = admin_client.get(url)
    done = admin_client.post(url, {"confirmar": "1"})

    assert confirm.status_code == 302 and confirm["Location"].endswith("?e=1")
    assert done.status_code == 302
    assert not CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists()


def test_an_action_on_the_whole_filter_logs_who_did_it_without_the_search(admin_client, admin_user, cedula_factory):
    from structlog.testing import capture_logs

    cedula_factory(cedula="1234567", status=Status.ERROR)
    url = reverse("admin:cedula_cedulainfo_filter_action", args=["retry_failed"]) + "?q=1234567"

    with capture_logs() as logs:
        admin_client.post(url, {"confirmar": "1"})

    event = next(e for e in logs if e["event"] == "cedulas_action")
    assert (event["action"], event["rows"], event["user_id"]) == ("retry_failed", 1, admin_user.pk)
    assert "1234567" not in str(logs)
