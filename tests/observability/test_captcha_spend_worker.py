"""Captcha spend end to end: a real `qcluster` worker, real Chromium, the stand-in in captcha mode and its solver."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cedula import captcha_spend, tasks
from cedula.models import CaptchaBalance, LookupAttempt
from cedula.registry.simulator.outcomes import demo_cedulas, expected_outcome
from tests.helpers.queue import all_settled, queue, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_against_a_captcha_page_records_each_solve_on_its_attempt(
    start_worker, registry_site_factory, settings
):
    site = registry_site_factory(min_gap_s=0.0, captcha=True)
    solver = {"CAPTCHA_SOLVER": "2captcha", "CAPTCHA_API_URL": site.base_url, "CAPTCHA_API_KEY": site.solver_key}
    for name, value in solver.items():
        setattr(settings, name, value)
    cedulas = sorted(demo_cedulas())[:2]
    ids = queue(cedulas)

    start_worker(registry_url=site.url, **solver)
    wait_until(lambda: all_settled(ids), timeout=120, message="the captcha lookups did not settle")

    attempts = list(LookupAttempt.objects.filter(cedula_id__in=ids).select_related("cedula"))
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.outcome == expected_outcome(attempt.cedula.cedula)
        assert (attempt.captcha_solved, attempt.captcha_used, attempt.captcha_refused, attempt.captcha_wasted) == (
            1,
            1,
            0,
            0,
        )
    # One task submitted to the solver per lookup, and the spend adds up from the attempts.
    assert len([r for r in site.requests if r["path"] == "/in.php"]) == 2
    today = captcha_spend.spend_today(now=timezone.now())
    assert (today.solved, today.used) == (2, 2)
    assert today.cost_usd == pytest.approx(2 * settings.CAPTCHA_PRICE_PER_1000_USD / 1000)

    assert tasks.read_captcha_balance() == "read"
    assert CaptchaBalance.objects.get(pk=1).balance_usd == 10.0
    assert captcha_spend.spend_panel().runway.reason == "rate"
