"""Django-Q2 entry points. Thin and stable by name (Sentry groups by them): load ids, call services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict

import structlog
from django.conf import settings

from cedula import alerts, services, worker_now
from cedula.registry.parser import LookupReport, LookupResult
from cedula.services.captcha_balance import captcha_balance_read

logger = structlog.get_logger(__name__)


def _run_lookup() -> Callable[[str], LookupReport]:
    """The registry client as the services call it: the request slot is taken through the throttle as the POST
    leaves, and the client plans pages and captchas ahead for the lookups due within a token's safe age."""
    from cedula.registry.browser import get_runner  # heavy: Playwright loads only in the worker that runs lookups

    runner = get_runner()

    def run(cedula: str) -> LookupReport:
        due = services.lookups_due_soon(within_s=settings.CAPTCHA_SAFE_AGE_S)
        return runner.lookup(
            cedula, take_slot=_take_slot, due_after=due, on_step=worker_now.step, source=services.source_in_use()
        )

    return run


def _run_probe() -> Callable[[], LookupResult | None]:
    """The open gate's page probe: the page of the source in use loaded, no solve, no POST (cedula.services.probe)."""
    from cedula.registry.browser import get_runner  # heavy: Playwright loads only in the worker that runs lookups

    runner = get_runner()
    return lambda: runner.probe_page(services.source_in_use())


def _run_source_probe() -> Callable[[str], LookupResult | None]:
    """The probe of a source the worker left, to move back to it: its page loaded, no solve, no POST."""
    from cedula.registry.browser import get_runner  # heavy: Playwright loads only in the worker that runs lookups

    return get_runner().probe_page


def _take_slot(max_wait_s: float, sent_at: float | None = None, lead_s: float = 0.0) -> bool:
    if sent_at is not None:
        services.throttle_mark_request_sent(at=dt.datetime.fromtimestamp(sent_at, tz=dt.UTC))
        return True
    return services.throttle_take_request_slot(max_wait_s=max_wait_s, lead_s=lead_s)


def lookup_next(ticket_id: int) -> int:
    """Run the most urgent due lookup for this ticket (see services.lookup_run_ticket)."""
    # cedula.signals binds task_id when Django-Q2 starts the task.
    task_id = structlog.contextvars.get_contextvars().get("task_id", "")
    with structlog.contextvars.bound_contextvars(ticket_id=ticket_id):
        return services.lookup_run_ticket(
            ticket_id=ticket_id,
            run_lookup=_run_lookup(),
            task_id=task_id,
            run_probe=_run_probe(),
            run_source_probe=_run_source_probe(),
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
    task_id = structlog.contextvars.get_contextvars().get("task_id", "")
    return services.canary_run(run_lookup=_run_lookup(), task_id=task_id)


def import_previews_expire() -> int:
    """Scheduled hourly: import previews never confirmed go after IMPORT_PREVIEW_MAX_AGE_H hours."""
    return services.import_previews_expire()
