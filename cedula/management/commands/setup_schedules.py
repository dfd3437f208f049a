"""Periodic jobs, declared here and nowhere else. Idempotent: run it on every deploy (`make run` does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Q
from django_q.models import Schedule

# name -> (dotted task, minutes between runs). Names are stable: they are the upsert key.
SCHEDULES: dict[str, tuple[str, int]] = {
    # Safety net: reap rows held by dead workers and top the broker up (normally each lookup re-dispatches).
    "lookups-dispatch": ("cedula.tasks.dispatch", 1),
    # On-call hears of an error-rate spike (and of the recovery) through Sentry.
    "lookups-error-rate": ("cedula.tasks.check_error_rate", 1),
    # Freshness: rows whose last final answer is older than REVALIDATE_AFTER_DAYS go back in the queue, below bulk
    # work, at most REVALIDATE_MAX_PER_DAY a day (hourly: rows that
    # become old during the day are picked up while the day's budget lasts).
    "lookups-revalidate": ("cedula.tasks.revalidate", 60),
    # Personal data kept no longer than needed: old attempts and failure snapshots go (docs/security.md).
    "retention-purge": ("cedula.tasks.retention_purge", 24 * 60),
    # Uploads previewed and never confirmed leave the disk after IMPORT_PREVIEW_MAX_AGE_H hours.
    "imports-previews-expire": ("cedula.tasks.import_previews_expire", 60),
    "accounts-refresh-requests-purge": ("ops.accounts.tasks.refresh_requests_purge", 24 * 60),
    # On-call hears of a queue that has work but starts no lookup (the worker alive, doing nothing).
    "lookups-stall": ("cedula.tasks.check_stall", 1),
    # On-call hears of a registry page that changed shape (unexpected_page answers dominate).
    "lookups-page-changed": ("cedula.tasks.check_page_changed", 1),
    # The captcha solver's balance (a free call) and the runway alert; does nothing while no solver is configured.
    "captcha-balance": ("cedula.tasks.read_captcha_balance", 15),
}
# Declared only when REGISTRY_CANARY_CEDULA is set; every REGISTRY_CANARY_EVERY_MIN minutes.
CANARY_SCHEDULE = ("registry-canary", "cedula.tasks.run_canary")


def declared_schedules() -> dict[str, tuple[str, int]]:
    """SCHEDULES plus those switched on by settings."""
    from django.conf import settings

    declared = dict(SCHEDULES)
    if settings.REGISTRY_CANARY_CEDULA:
        name, func = CANARY_SCHEDULE
        declared[name] = (func, max(1, settings.REGISTRY_CANARY_EVERY_MIN))
    return declared


class Command(BaseCommand):
    help = "Create or update the Django-Q2 schedules the pipeline needs; remove stale ones we own."

    def handle(self, *args: Any, **options: Any) -> None:
        declared = declared_schedules()
        for name, (func, minutes) in declared.items():
            _, created = Schedule.objects.update_or_create(
                name=name,
                defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
            )
            self.stdout.write(f"{'created' if created else 'updated'} schedule {name}: {func} every {minutes} min")
        stale = Schedule.objects.filter(Q(func__startswith="cedula.") | Q(func__startswith="ops.accounts.")).exclude(
            name__in=declared
        )
        for schedule in stale:
            self.stdout.write(f"removed stale schedule {schedule.name}")
        stale.delete()
