"""Imports: a file of cedulas becomes queued rows at bulk priority.

A file of 100,000 cedulas is read once (cedula.importing, pure), classified in memory, compared with the table in one
query and written with bulk inserts in one transaction (cedula.services.import_sql): nothing runs a query per row.
Invalid rows block the whole file unless the caller asks to skip them; a blocked file writes nothing, not even its
ImportBatch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from django.db import transaction
from django.utils import timezone

from cedula.importing import Classified, DuplicateRow, InvalidRow, SourceRow, classify_rows, clean_file_name
from cedula.models import AuditRecord, CedulaInfo, ImportBatch, Priority
from cedula.services.audit import audit_record
from cedula.services.dispatch import lookups_dispatch
from cedula.services.import_sql import cedula_sets, insert_queued_cedulas, known_cedulas

if TYPE_CHECKING:  # types only: the domain never imports the accounts app at run time
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)

IMPORT_SAMPLE_SIZE = 10


@dataclass(frozen=True)
class ImportReport:
    file_name: str
    total_rows: int
    new: int
    existing: int
    requeued: int  # known cedulas queued again (only idle ones; a queued row keeps its place)
    duplicates: int
    invalid: int
    imported: bool  # False: nothing was written (a preview, or invalid rows blocked the file)
    blocked: bool
    batch_id: int | None
    new_sample: tuple[SourceRow, ...]
    existing_sample: tuple[SourceRow, ...]
    duplicate_sample: tuple[DuplicateRow, ...]
    invalid_rows: tuple[InvalidRow, ...]  # the first ROWS_KEPT: the row report and the rejected-rows CSV

    def counts(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "total_rows": self.total_rows,
            "new": self.new,
            "existing": self.existing,
            "requeued": self.requeued,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "imported": self.imported,
            "blocked": self.blocked,
            "batch_id": self.batch_id,
        }


def _import_report(
    *,
    file_name: str,
    classified: Classified,
    known: dict[str, bool],
    requeue_existing: bool,
    imported: bool,
    blocked: bool,
    new: int | None = None,
    requeued: int | None = None,
    batch_id: int | None = None,
) -> ImportReport:
    valid = classified.valid
    new_sample = list(
        itertools.islice(
            (SourceRow(number, cedula) for cedula, number in valid.items() if cedula not in known), IMPORT_SAMPLE_SIZE
        )
    )
    existing_sample = sorted(SourceRow(valid[cedula], cedula) for cedula in known)[:IMPORT_SAMPLE_SIZE]
    would_requeue = sum(known.values()) if requeue_existing else 0
    return ImportReport(
        file_name=file_name,
        total_rows=classified.total,
        new=len(classified.valid) - len(known) if new is None else new,
        existing=len(known),
        requeued=would_requeue if requeued is None else requeued,
        duplicates=classified.duplicate_count,
        invalid=classified.invalid_count,
        imported=imported,
        blocked=blocked,
        batch_id=batch_id,
        new_sample=tuple(new_sample),
        existing_sample=tuple(existing_sample),
        duplicate_sample=tuple(classified.duplicates[:IMPORT_SAMPLE_SIZE]),
        invalid_rows=tuple(classified.invalid),
    )


def cedula_import_preview(
    *, rows: Iterable[SourceRow], file_name: str, requeue_existing: bool = False, skip_invalid: bool = False
) -> ImportReport:
    """What `cedula_import_rows` would do with these rows, writing nothing."""
    classified = classify_rows(rows)
    known = known_cedulas(list(classified.valid))
    return _import_report(
        file_name=file_name,
        classified=classified,
        known=known,
        requeue_existing=requeue_existing,
        imported=False,
        blocked=bool(classified.invalid) and not skip_invalid,
    )


def cedula_import_rows(
    *,
    rows: Iterable[SourceRow],
    file_name: str,
    user: User | None,
    requeue_existing: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import a file's cedulas: new ones are created and queued at bulk priority, known ones skipped or re-queued.

    All or nothing: any invalid row blocks the file (nothing written) unless `skip_invalid`.
    """
    classified = classify_rows(rows)
    if classified.invalid and not skip_invalid:
        report = _import_report(
            file_name=file_name,
            classified=classified,
            known=known_cedulas(list(classified.valid)),
            requeue_existing=requeue_existing,
            imported=False,
            blocked=True,
        )
        logger.info("import_blocked", file_name=file_name, **_log_counts(report))
        return report

    cedulas = list(classified.valid)
    with transaction.atomic():
        # Inside the transaction: SQLite's IMMEDIATE mode holds the write lock, so the known set cannot go stale.
        known = known_cedulas(cedulas)
        batch = ImportBatch.objects.create(created_by=user, file_name=clean_file_name(file_name))
        now = timezone.now()
        insert_queued_cedulas((c for c in cedulas if c not in known), batch=batch, now=now)
        new = CedulaInfo.objects.filter(import_batch=batch).count()
        # A known row the file names is now the staff's too, whoever created it (a person who registered).
        for match in cedula_sets(list(known)):
            CedulaInfo.objects.filter(match, staff_listed=False).update(staff_listed=True, updated_at=now)
        requeued = 0
        if requeue_existing:
            idle = [cedula for cedula, is_idle in known.items() if is_idle]
            for match in cedula_sets(idle):
                requeued += (
                    CedulaInfo.objects.idle()
                    .filter(match)
                    .update(next_attempt_at=now, attempts=0, priority=Priority.BULK, updated_at=now)
                )
        report = _import_report(
            file_name=file_name,
            classified=classified,
            known=known,
            requeue_existing=requeue_existing,
            imported=True,
            blocked=False,
            new=new,
            requeued=requeued,
            batch_id=batch.pk,
        )
        batch.total_rows = report.total_rows
        batch.new_rows = report.new
        batch.existing_rows = report.existing
        batch.requeued_rows = report.requeued
        batch.duplicate_rows = report.duplicates
        batch.invalid_rows = report.invalid
        batch.save(
            update_fields=["total_rows", "new_rows", "existing_rows", "requeued_rows", "duplicate_rows", "invalid_rows"]
        )
        if report.new or report.requeued:
            transaction.on_commit(lookups_dispatch)
    logger.info("import_finished", file_name=file_name, batch_id=batch.pk, **_log_counts(report))
    return report


def cedula_import_audit(
    *, report: ImportReport, file_name: str, actor: User | None, ip: str | None, via: str
) -> AuditRecord:
    """The audit record of one import, the console's and the command's alike (`via` says which): the batch, the rows
    of the file, what became of them, and `failure` when invalid rows blocked it."""
    return audit_record(
        actor=actor,
        ip=ip,
        action="cedula.import",
        target=ImportBatch.objects.filter(pk=report.batch_id).first() if report.batch_id else file_name,
        count=report.total_rows,
        outcome="failure" if report.blocked else "success",
        details={
            "file_name": file_name,
            "via": via,
            "new": report.new,
            "requeued": report.requeued,
            "invalid": report.invalid,
        },
    )


def _log_counts(report: ImportReport) -> dict[str, int]:
    return {
        "total_rows": report.total_rows,
        "new": report.new,
        "existing": report.existing,
        "requeued": report.requeued,
        "duplicates": report.duplicates,
        "invalid": report.invalid,
    }
