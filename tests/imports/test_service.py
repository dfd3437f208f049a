"""services.cedula_import_rows / cedula_import_preview against the database."""

from __future__ import annotations

import pytest

from cedula import services
from cedula.importing import SourceRow
from cedula.models import CedulaInfo, ImportBatch, Priority, Source, Status

pytestmark = pytest.mark.django_db


def rows(*values: str) -> list[SourceRow]:
    return [SourceRow(number, value) for number, value in enumerate(values, start=2)]


def test_new_cedulas_are_created_and_queued_at_bulk_priority(user_factory, django_capture_on_commit_callbacks):
    staff = user_factory(is_staff=True)

    with django_capture_on_commit_callbacks() as callbacks:
        report = services.cedula_import_rows(rows=rows("1.234.567", "80123456"), file_name="junio.csv", user=staff)

    assert report.imported and not report.blocked
    assert (report.new, report.existing, report.invalid, report.duplicates) == (2, 0, 0, 0)
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.created_by, batch.file_name, batch.total_rows, batch.new_rows) == (staff, "junio.csv", 2, 2)
    for info in CedulaInfo.objects.filter(cedula__in=["1234567", "80123456"]):
        assert info.status == Status.PENDING
        assert info.source == Source.IMPORT
        assert info.priority == Priority.BULK
        assert info.next_attempt_at is not None
        assert info.import_batch == batch
    assert services.lookups_dispatch in callbacks


def test_known_cedulas_are_skipped_by_default(cedula_factory):
    known = cedula_factory(cedula="1234567", status=Status.ACTIVE, next_attempt_at=None, departamento="ANTIOQUIA")

    report = services.cedula_import_rows(rows=rows("1234567", "7654321"), file_name="f.csv", user=None)

    assert (report.new, report.existing, report.requeued) == (1, 1, 0)
    known.refresh_from_db()
    assert known.next_attempt_at is None
    assert known.import_batch is None
    assert known.departamento == "ANTIOQUIA"


def test_requeue_existing_queues_idle_known_cedulas_and_leaves_queued_ones_in_place(cedula_factory):
    idle = cedula_factory(cedula="1111111", status=Status.ACTIVE, next_attempt_at=None, priority=Priority.STAFF)
    queued = cedula_factory(cedula="2222222", priority=Priority.INTERACTIVE)
    services.cedula_request_lookup(cedula=queued.cedula, priority=Priority.INTERACTIVE, source=Source.ADMIN)
    queued.refresh_from_db()
    queued_at = queued.next_attempt_at

    report = services.cedula_import_rows(
        rows=rows("1111111", "2222222"), file_name="f.csv", user=None, requeue_existing=True
    )

    assert (report.existing, report.requeued) == (2, 1)
    idle.refresh_from_db()
    queued.refresh_from_db()
    assert idle.next_attempt_at is not None and idle.priority == Priority.BULK and idle.status == Status.ACTIVE
    assert queued.next_attempt_at == queued_at and queued.priority == Priority.INTERACTIVE
    assert ImportBatch.objects.get(pk=report.batch_id).requeued_rows == 1


def test_an_invalid_row_blocks_the_whole_file_and_the_database_is_unchanged(cedula_factory):
    cedula_factory(cedula="1111111", status=Status.ACTIVE, next_attempt_at=None)
    before = list(CedulaInfo.objects.values())

    report = services.cedula_import_rows(
        rows=rows("7654321", "abc", "1111111"), file_name="f.csv", user=None, requeue_existing=True
    )

    assert report.blocked and not report.imported and report.batch_id is None
    assert (report.new, report.existing, report.invalid) == (1, 1, 1)
    assert report.invalid_rows[0].number == 3
    assert list(CedulaInfo.objects.values()) == before
    assert not ImportBatch.objects.exists()


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rejected_ones():
    report = services.cedula_import_rows(
        rows=rows("7654321", "abc", "12", "7.654.321"), file_name="f.csv", user=None, skip_invalid=True
    )

    assert report.imported
    assert (report.total_rows, report.new, report.duplicates, report.invalid) == (4, 1, 1, 2)
    assert [(r.number, r.value) for r in report.invalid_rows] == [(3, "abc"), (4, "12")]
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.total_rows, batch.new_rows, batch.duplicate_rows, batch.invalid_rows) == (4, 1, 1, 2)
    assert list(CedulaInfo.objects.values_list("cedula", flat=True)) == ["7654321"]


def test_the_preview_counts_what_the_import_would_do_and_writes_nothing(cedula_factory):
    cedula_factory(cedula="1111111", next_attempt_at=None)

    report = services.cedula_import_preview(
        rows=rows("1111111", "2222222", "2.222.222", "x"), file_name="f.csv", requeue_existing=True
    )

    assert not report.imported and report.blocked
    assert (report.new, report.existing, report.requeued, report.duplicates, report.invalid) == (1, 1, 1, 1, 1)
    assert [r.value for r in report.new_sample] == ["2222222"]
    assert [r.value for r in report.existing_sample] == ["1111111"]
    assert CedulaInfo.objects.count() == 1
    assert not ImportBatch.objects.exists()


def test_an_import_runs_a_fixed_number_of_queries_whatever_the_row_count(cedula_factory, django_assert_max_num_queries):
    for n in range(50):
        cedula_factory(cedula=str(5_000_000 + n), next_attempt_at=None)
    values = [str(5_000_000 + n) for n in range(3000)]

    with django_assert_max_num_queries(12):
        report = services.cedula_import_rows(rows=rows(*values), file_name="f.csv", user=None, requeue_existing=True)

    assert (report.new, report.existing, report.requeued) == (2950, 50, 50)
    assert CedulaInfo.objects.count() == 3000


def test_rows_are_created_in_file_order_so_the_queue_follows_the_file():
    services.cedula_import_rows(rows=rows("9999999", "1111111", "5555555"), file_name="f.csv", user=None)

    assert list(CedulaInfo.objects.order_by("id").values_list("cedula", flat=True)) == [
        "9999999",
        "1111111",
        "5555555",
    ]
