"""python manage.py revalidate_cedulas [--older-than-days N] [--limit K] [--batch ID] [--dry-run]

What the scheduled re-validation does, by hand: idle rows whose last final answer is older than N days (default
REVALIDATE_AFTER_DAYS; 0 = any age), oldest first, at most K of them (default: what is left of today's
REVALIDATE_MAX_PER_DAY), optionally only those of import batch ID, go back in the queue at re-validation priority.
Rows in error are never picked. stdout carries exactly one JSON object: {"queued": n, "eligible": m} (m: rows old
enough, before the limit). Exit 0; 2 for a usage error.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cedula.models import ImportBatch, RevalidationRun
from cedula.services import revalidation


class Command(BaseCommand):
    help = "Vuelve a consultar las cédulas cuya última respuesta es más antigua que N días (la más antigua primero)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=None, help="por omisión REVALIDATE_AFTER_DAYS")
        parser.add_argument("--limit", type=int, default=None, help="por omisión lo que queda del cupo diario")
        parser.add_argument("--batch", type=int, default=None, help="solo las cédulas de esta importación")
        parser.add_argument("--dry-run", action="store_true", help="cuenta sin encolar nada")

    def handle(
        self,
        *args: Any,
        older_than_days: int | None,
        limit: int | None,
        batch: int | None,
        dry_run: bool,
        **options: Any,
    ) -> None:
        if older_than_days is not None and older_than_days < 0:
            raise CommandError("--older-than-days debe ser 0 o más.", returncode=2)
        if limit is not None and limit < 0:
            raise CommandError("--limit debe ser 0 o más.", returncode=2)
        if batch is not None and not ImportBatch.objects.filter(pk=batch).exists():
            raise CommandError(f"No existe la importación {batch}.", returncode=2)
        days = settings.REVALIDATE_AFTER_DAYS if older_than_days is None else older_than_days
        if older_than_days is None and days <= 0:
            # Switched off and no age given: nothing is old enough.
            self.stderr.write("REVALIDATE_AFTER_DAYS=0: la revalidación está apagada; use --older-than-days N.")
            self.stdout.write(json.dumps({"queued": 0, "eligible": 0}))
            return
        report = revalidation.cedulas_revalidate_due(
            older_than_days=days,
            limit=revalidation.revalidation_budget_left() if limit is None else limit,
            batch_id=batch,
            trigger=RevalidationRun.Trigger.COMMAND,
            dry_run=dry_run,
        )
        self.stdout.write(json.dumps({"queued": report.queued, "eligible": report.eligible}))
