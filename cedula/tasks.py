"""Django-Q2 entry points. Thin and stable by name (Sentry groups by them): load ids, call services."""

from __future__ import annotations

from dataclasses import asdict

import structlog

from cedula import alerts, services
from cedula.services.captcha_balance import captcha_balance_read

logger = structlog.get_logger(__name__)


def lookup_next(ticket_id: int) -> int:
    """Run the most urgent due lookup for this ticket (see services.lookup_run_ticket)."""
    from cedula.registry.browser import get_runner  # heavy: Playwright loads only in the worker that runs lookups

    # cedula.signals binds task_id when Django-Q2 starts the task.
    task_id = structlog.contextvars.get_contextvars().get("task_id", "")
    with structlog.contextvars.bound_contextvars(ticket_id=ticket_id):
        runner = get_runner()
        return services.lookup_run_ticket(
            ticket_id=ticket_id, run_lookup=runner.lookup, task_id=task_id, run_probe=runner.probe_page
        )


def dispatch() -> int:
    """Safety net (scheduled each minute): reap what dead workers held and top the queue up."""
    return services.lookups_dispatch()


def check_error_rate() -> str | None:
    """Scheduled each minute: tell Sentry when the lookup error rate spikes, and when it recovers."""
    return alerts.error_rate_check()


def revalidate() -> int:
    """Scheduled hourly: re-queue the rows whose last final answer is too old, within today's budget."""
    return services.revalidation_run_scheduled().queued


def retention_purge() -> dict[str, int]:
    """Scheduled daily: delete old attempts, blank old failure snapshots, in short batches (services.retention)."""
    return asdict(services.retention_purge())


def check_stall() -> str | None:
    """Scheduled each minute: tell Sentry when rows are due but no lookup starts (the worker is alive, idle)."""
    return alerts.stall_check()


def check_page_changed() -> str | None:
    """Scheduled each minute: tell Sentry when unexpected_page answers dominate (the page changed shape)."""
    return alerts.page_changed_check()


def read_captcha_balance() -> str:
    """Scheduled every 15 min: read the captcha solver's balance (free), check the runway; nothing without a solver."""
    row = captcha_balance_read()
    return row.error_code or ("read" if row.solver else "no_solver")


def run_canary() -> str | None:
    """Scheduled (hourly by default) when REGISTRY_CANARY_CEDULA is set: look it up and compare the answer."""
    from cedula.registry.browser import get_runner  # heavy: Playwright, loaded by the worker only

    task_id = structlog.contextvars.get_contextvars().get("task_id", "")
    return services.canary_run(run_lookup=get_runner().lookup, task_id=task_id)


def import_previews_expire() -> int:
    """Scheduled hourly: import previews never confirmed go after IMPORT_PREVIEW_MAX_AGE_H hours."""
    return services.import_previews_expire()
