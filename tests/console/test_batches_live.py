"""Batches against the real thing: a real `qcluster`, the stand-in registry, real Chromium in the console."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from cedula import selectors, services
from cedula.importing import SourceRow
from cedula.models import CedulaInfo, ImportBatch, LookupAttempt, Status

# ETAs against the real finish: measured alone (make test runs `serial` tests one at a time).
pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, timeout: float, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s: {message}")


def import_batch(n: int, *, first: int = 81_000_000) -> ImportBatch:
    # Cedulas outside the stand-in's demo and fault lists: each gets one final answer.
    rows = [SourceRow(i + 2, str(first + i)) for i in range(n)]
    report = services.cedula_import_rows(rows=rows, file_name="lote.csv", user=None)
    return ImportBatch.objects.get(pk=report.batch_id)


def attempts_of(batch: ImportBatch) -> int:
    return LookupAttempt.objects.filter(cedula__import_batch=batch).count()


def test_cancel_then_retry_of_a_batch_with_a_worker_running_loses_no_row_and_looks_none_up_twice(
    start_worker, settings
):
    settings.REGISTRY_MIN_GAP_S = 0.5
    batch = import_batch(12)
    start_worker()
    wait_until(lambda: attempts_of(batch) >= 3, timeout=120, message="the worker did not start on the batch")

    cancelled = services.batch_cancel_pending(batch=batch, by=None)

    assert cancelled >= 1
    # Whatever a worker held when the batch was cancelled finishes; nothing else of the batch runs.
    wait_until(lambda: not CedulaInfo.objects.filter(import_batch=batch, claimed_at__isnull=False).exists(), 60)
    settled = attempts_of(batch)
    time.sleep(3)
    assert attempts_of(batch) == settled
    withdrawn = list(
        CedulaInfo.objects.filter(import_batch=batch, status=Status.WITHDRAWN).values_list("pk", flat=True)
    )
    # Every cancelled row never answered is withdrawn (a row cancelled while in a retry keeps its error).
    assert len(withdrawn) == cancelled
    assert not LookupAttempt.objects.filter(cedula__in=withdrawn).exists()

    # "Consultar ahora" on the cancelled rows of the batch (the changelist filter status=withdrawn + batch).
    requeued = services.cedulas_queue_matching(rows=CedulaInfo.objects.filter(pk__in=withdrawn))
    assert requeued == len(withdrawn)

    rows = CedulaInfo.objects.filter(import_batch=batch)
    wait_until(
        lambda: (
            not rows.filter(next_attempt_at__isnull=False).exists()
            and not rows.filter(claimed_at__isnull=False).exists()
            and not rows.filter(status__in=[Status.PENDING, Status.WITHDRAWN]).exists()
        ),
        timeout=180,
        message="the batch did not finish after the retry",
    )
    per_row = dict(rows.annotate(n=Count("lookup_attempts")).values_list("cedula", "n"))
    assert len(per_row) == 12
    assert set(per_row.values()) == {1}, per_row  # no row lost, none looked up twice
    assert set(rows.values_list("status", flat=True)) <= {Status.ACTIVE, Status.CANCELLED, Status.NOT_FOUND}


def _estimate_then_finish(batch):
    """The batch's ETA asked now, then the wait for its last lookup: (eta, estimated s, real s) from the asking."""
    asked_at = timezone.now()
    eta = selectors.batch_eta(batch_id=batch.pk)
    rows = CedulaInfo.objects.filter(import_batch=batch)
    wait_until(
        lambda: (
            not rows.filter(next_attempt_at__isnull=False).exists()
            and not rows.filter(claimed_at__isnull=False).exists()
        ),
        timeout=300,
        message="the batch did not finish",
    )
    last = LookupAttempt.objects.filter(cedula__import_batch=batch).order_by("-started_at").first()
    finished_at = last.started_at + dt.timedelta(milliseconds=last.duration_ms)
    assert eta.reason == "estimated" and eta.finish_at is not None
    return eta, (eta.finish_at - asked_at).total_seconds(), (finished_at - asked_at).total_seconds()


def test_the_batch_eta_is_within_a_quarter_of_the_real_finish(start_worker, settings):
    settings.REGISTRY_MIN_GAP_S = 1.0
    batch = import_batch(28, first=82_000_000)
    start_worker()
    # The estimate plans with the recent real rate: let the worker show it first.
    wait_until(lambda: attempts_of(batch) >= 8, timeout=180, message="the worker did not start on the batch")

    eta, estimated, real = _estimate_then_finish(batch)
    print(f"eta: estimated {estimated:.1f} s, real {real:.1f} s, interval {eta.budget.interval_s:.2f} s")
    assert abs(estimated - real) <= 0.25 * real, (estimated, real, eta)


def test_an_operator_opens_a_batch_page_cancels_the_rest_and_watches_the_counts_change(
    live_server, browser_page, staff_in
):
    operator = staff_in("Operadores")
    batch = import_batch(7, first=83_000_000)
    done = CedulaInfo.objects.filter(import_batch=batch).order_by("pk")[:2]
    CedulaInfo.objects.filter(pk__in=[r.pk for r in done]).update(
        status=Status.ACTIVE, next_attempt_at=None, last_checked=timezone.now()
    )
    url = live_server.url + reverse("admin:cedula_importbatch_change", args=[batch.pk])

    page = browser_page.new_page()
    page.goto(
        live_server.url
        + reverse("admin:login")
        + "?next="
        + reverse("admin:cedula_importbatch_change", args=[batch.pk])
    )
    page.fill('input[name="username"]', operator.email)
    page.fill('input[name="password"]', "clave-segura-123")
    page.click('[type="submit"]')
    page.wait_for_url(url)

    count = lambda key: page.locator(f'[data-testid="batch-count-{key}"]').inner_text().strip()  # noqa: E731
    assert count("queued") == "5" and count("active") == "2"
    assert page.locator('[data-testid="batch-eta"]').get_attribute("data-eta-reason") == "estimated"

    page.click('[data-testid="batch-action-cancel"]')
    assert page.locator('[data-testid="confirm-count"]').inner_text().strip() == "5"
    page.click('[data-testid="confirm-submit"]')
    page.wait_for_url(url)

    assert count("queued") == "0" and count("active") == "2" and count("withdrawn") == "5"
    assert page.locator('[data-testid="batch-eta"]').get_attribute("data-eta-reason") == "done"
    assert "Sin consultar (cancelada por el operador)" in page.locator('[data-testid="batch-states"]').text_content()
    assert "Cancelar pendientes" in page.locator('[data-testid="batch-events"]').text_content()


def test_the_batch_eta_holds_when_every_lookup_needs_a_captcha(start_worker, registry_site_factory, settings):
    # Each solve takes three gaps: the pipeline solves ahead, so the worker keeps the pace the estimate plans with.
    settings.REGISTRY_MIN_GAP_S = 1.0
    site = registry_site_factory(captcha=True, solve_delay_s=3.0)
    batch = import_batch(28, first=83_000_000)
    start_worker(
        registry_url=site.url,
        CAPTCHA_SOLVER="2captcha",
        CAPTCHA_API_URL=site.base_url,
        CAPTCHA_API_KEY=site.solver_key,
        CAPTCHA_FIRST_POLL_S="2.5",
        CAPTCHA_POLL_S="0.5",
    )
    wait_until(lambda: attempts_of(batch) >= 8, timeout=180, message="the worker did not start on the batch")

    eta, estimated, real = _estimate_then_finish(batch)
    rows = CedulaInfo.objects.filter(import_batch=batch)
    print(f"eta with captcha: estimated {estimated:.1f} s, real {real:.1f} s")
    assert abs(estimated - real) <= 0.25 * real, (estimated, real, eta)
    assert set(rows.values_list("status", flat=True)) <= {Status.ACTIVE, Status.CANCELLED, Status.NOT_FOUND}
    assert site.counts()["solver_solved"] - site.counts()["solver_accepted"] <= 1  # nothing solved for nobody
