"""Import previews: the reading of an uploaded file kept on the server between the preview and its confirmation.

The preview writes the reading to VAR_DIR/import-previews/<key>.json and an ImportPreview row; the confirm form sends
back the key alone. Confirming claims the row with one conditional UPDATE inside the import's transaction, so of four
confirmations at once exactly one imports and the others are told it was done. Previews never confirmed go after
IMPORT_PREVIEW_MAX_AGE_H hours: on every new upload and from a scheduled task.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cedula.importing import ImportFileError, ParsedFile, clean_file_name, parsed_from_json, parsed_json_chunks
from cedula.models import ImportPreview
from cedula.services.imports import ImportReport, cedula_import_rows

if TYPE_CHECKING:
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConfirmOutcome:
    status: str  # "imported" | "blocked" | "already" (confirmed before) | "missing" (unknown, expired or unreadable)
    file_name: str = ""
    batch_id: int | None = None
    report: ImportReport | None = None
    parsed: ParsedFile | None = None


def preview_dir() -> Path:
    return Path(settings.VAR_DIR) / "import-previews"


def _preview_path(key: str) -> Path:
    return preview_dir() / f"{key}.json"


def import_preview_create(*, parsed: ParsedFile, file_name: str, user: User | None) -> ImportPreview:
    import_previews_expire()
    key = secrets.token_urlsafe(24)  # letters, digits, - and _: a safe file name
    path = _preview_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as out:
        out.writelines(parsed_json_chunks(parsed))
    partial.replace(path)
    preview = ImportPreview.objects.create(key=key, created_by=user, file_name=clean_file_name(file_name))
    logger.info("import_preview_created", preview_id=preview.pk, rows=len(parsed.rows))
    return preview


def import_preview_confirm(*, key: str, user: User, requeue_existing: bool, skip_invalid: bool) -> ConfirmOutcome:
    preview = ImportPreview.objects.filter(key=key, created_by=user).first() if key else None
    if preview is None:
        return ConfirmOutcome(status="missing")
    if preview.confirmed_at is not None:
        return ConfirmOutcome(status="already", file_name=preview.file_name, batch_id=preview.batch_id)
    try:
        parsed = parsed_from_json(_preview_path(preview.key).read_bytes())
    except (OSError, ImportFileError):
        return ConfirmOutcome(status="missing", file_name=preview.file_name)
    with transaction.atomic():
        # The claim and the import commit together: a confirmation that loses the race finds confirmed_at set.
        claimed = ImportPreview.objects.filter(pk=preview.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
        if not claimed:
            preview.refresh_from_db()
            logger.info("import_preview_already_confirmed", preview_id=preview.pk, batch_id=preview.batch_id)
            return ConfirmOutcome(status="already", file_name=preview.file_name, batch_id=preview.batch_id)
        report = cedula_import_rows(
            rows=parsed.rows,
            file_name=preview.file_name,
            user=user,
            requeue_existing=requeue_existing,
            skip_invalid=skip_invalid,
        )
        if report.blocked:
            # Nothing was written; the claim goes too, so the operator can tick "solo las válidas" and confirm again.
            transaction.set_rollback(True)
            return ConfirmOutcome(status="blocked", file_name=preview.file_name, report=report, parsed=parsed)
        ImportPreview.objects.filter(pk=preview.pk).update(batch_id=report.batch_id)
        transaction.on_commit(lambda: _preview_path(preview.key).unlink(missing_ok=True))
    return ConfirmOutcome(
        status="imported", file_name=preview.file_name, batch_id=report.batch_id, report=report, parsed=parsed
    )


def import_previews_expire(*, now: dt.datetime | None = None) -> int:
    """Remove previews older than IMPORT_PREVIEW_MAX_AGE_H (their rows and readings) and stray readings as old."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.IMPORT_PREVIEW_MAX_AGE_H)
    stale = ImportPreview.objects.filter(created_at__lt=cutoff)
    keys = list(stale.values_list("key", flat=True))
    stale.delete()
    for key in keys:
        _preview_path(key).unlink(missing_ok=True)
    strays = 0
    if preview_dir().is_dir():
        # A reading with no row (a process killed between the two writes) goes by the file's age.
        for path in preview_dir().iterdir():
            try:
                old = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC) < cutoff
            except FileNotFoundError:
                continue
            if old:
                path.unlink(missing_ok=True)
                strays += 1
    if keys or strays:
        logger.info("import_previews_expired", removed=len(keys), strays=strays)
    return len(keys) + strays
