"""Outages of the registry and of our own side pause the pipeline; they never burn a row (issue 23).

A real `qcluster`, real Chromium, the real stand-in (dropping every connection, blocking, its solver refusing), the
real test database. Minutes of outage are scaled to seconds through settings (cooldowns of 1-4 s).
"""

from __future__ import annotations

import time

import pytest

from cedula import selectors
from cedula.models import Breaker, CedulaInfo, LookupAttempt, Status
from cedula.registry.simulator.outcomes import MALFORMED, demo_cedulas, expected_outcome
from cedula.registry.simulator.server import PATH
from tests.helpers.queue import all_settled, final_state, queue, wait_until

# Probes counted over seconds of outage: measured alone.
pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

GATE = {
    "REGISTRY_BREAKER_THRESHOLD": "3",
    "REGISTRY_BREAKER_COOLDOWN_S": "1",
    "REGISTRY_BREAKER_MAX_COOLDOWN_S": "4",
    "REGISTRY_MIN_GAP_S": "0.5",
    "LOOKUP_RETRY_DELAYS_S": "0.5,0.5,0.5",
}


def good_cedulas(n: int) -> list[str]:
    return sorted(demo_cedulas())[:n]


def gate_open_for(cause: str) -> bool:
    breaker = Breaker.objects.filter(pk=1).first()
    return breaker is not None and breaker.state != Breaker.State.CLOSED and breaker.cause == cause


def registry_requests(site, *, since: int = 0) -> list[dict]:
    return [r for r in site.requests[since:] if r["path"].rstrip("/") == PATH.rstrip("/")]


def assert_every_row_right(ids: list[int]) -> None:
    for info in CedulaInfo.objects.filter(pk__in=ids):
        assert final_state(info) == expected_outcome(info.cedula), info.cedula
        assert info.claimed_at is None and info.next_attempt_at is None


@pytest.mark.timeout(240)
def test_the_site_down_for_minutes_pauses_the_batch_probes_a_few_times_and_the_rows_finish_once_it_is_back(
    start_worker, registry_site_factory
):
    site = registry_site_factory()
    site.set_down(True)
    ids = queue(good_cedulas(10))
    start_worker(registry_url=site.url, **GATE)

    wait_until(lambda: gate_open_for("registry_down"), timeout=90, message="the gate never opened")
    opened = time.monotonic()
    time.sleep(20)  # "minutes" of outage, scaled: cooldowns of 1, 2, 4, 4, 4 ... s
    during = registry_requests(site)
    breaker = Breaker.objects.get(pk=1)
    site.set_down(False)

    # One request per 0.5 s gap would be 40 in these 20 s: the gate sent its threshold and then a probe per cooldown.
    assert 3 <= len(during) <= 3 + 12, len(during)
    assert breaker.probes >= 3 and breaker.cooldown_s == 4
    assert not CedulaInfo.objects.filter(pk__in=ids).exclude(attempts=0).exists()
    assert not CedulaInfo.objects.filter(pk__in=ids, status=Status.ERROR).exists()

    wait_until(lambda: all_settled(ids), timeout=120, message="the rows did not finish once the site was back")
    assert_every_row_right(ids)
    assert Breaker.objects.get(pk=1).state == Breaker.State.CLOSED
    assert not CedulaInfo.objects.filter(pk__in=ids, status=Status.ERROR).exists()
    # The outage is on record: the lookups that met it carry their cause.
    assert LookupAttempt.objects.filter(cause="registry_down").count() >= 2
    assert time.monotonic() - opened > 20


@pytest.mark.timeout(240)
def test_the_solver_account_empty_then_refilled_pauses_and_resumes_without_a_row_in_error(
    start_worker, registry_site_factory
):
    site = registry_site_factory(captcha=True, solve_delay_s=0.2)
    site.set_solver_error("ERROR_ZERO_BALANCE")
    ids = queue(good_cedulas(8))
    start_worker(
        registry_url=site.url,
        CAPTCHA_SOLVER="2captcha",
        CAPTCHA_API_URL=site.base_url,
        CAPTCHA_API_KEY=site.solver_key,
        **GATE,
    )

    wait_until(lambda: gate_open_for("solver_balance"), timeout=90, message="the gate never opened")
    refused_when_open = len([r for r in site.requests if r["path"] == "/in.php"])
    time.sleep(10)
    refused = [r for r in site.requests if r["path"] == "/in.php"]
    balance_probes = [r for r in site.requests if r["path"] == "/res.php"]
    posts = [r for r in registry_requests(site) if r["method"] == "POST"]
    site.set_solver_error(None)  # refilled

    # Before the first refusal comes back the pipeline has asked for the due rows' solves at once (one per row at
    # most); once the gate is open, balance calls only: not one more solve while the account is empty.
    assert len(refused) <= len(ids), len(refused)
    assert len(refused) == refused_when_open
    assert balance_probes and not posts  # no POST without a captcha answer
    assert not CedulaInfo.objects.filter(pk__in=ids).exclude(attempts=0).exists()
    wait_until(lambda: all_settled(ids), timeout=150, message="the rows did not finish once the account was refilled")
    assert_every_row_right(ids)
    assert not CedulaInfo.objects.filter(pk__in=ids, status=Status.ERROR).exists()


@pytest.mark.timeout(180)
def test_a_captcha_page_with_no_solver_configured_pauses_with_that_reason_and_no_row_in_error(
    start_worker, registry_site_factory
):
    site = registry_site_factory(captcha=True)
    ids = queue(good_cedulas(5))
    start_worker(registry_url=site.url, CAPTCHA_SOLVER="none", **GATE)

    wait_until(lambda: gate_open_for("no_solver"), timeout=90, message="the gate never opened")
    time.sleep(6)  # several cooldowns: a cause only the configuration clears is not probed

    state = selectors.breaker_state()
    assert state["cause"] == "no_solver" and state["next_probe_in_s"] is None
    assert not [r for r in registry_requests(site) if r["method"] == "POST"]
    loads = len(registry_requests(site))
    time.sleep(4)
    assert len(registry_requests(site)) == loads  # nothing more while it waits for the configuration
    assert CedulaInfo.objects.filter(pk__in=ids, status=Status.PENDING).count() == len(ids)
    assert not CedulaInfo.objects.filter(pk__in=ids).exclude(attempts=0).exists()


@pytest.mark.timeout(180)
def test_one_malformed_cedula_among_good_ones_ends_in_error_alone_while_the_others_flow(
    start_worker, registry_site_factory
):
    site = registry_site_factory()
    ids = queue([MALFORMED, *good_cedulas(6)])
    start_worker(registry_url=site.url, **GATE)

    wait_until(lambda: all_settled(ids), timeout=150, message="the batch did not settle")

    assert_every_row_right(ids)
    errors = CedulaInfo.objects.filter(pk__in=ids, status=Status.ERROR)
    assert [info.cedula for info in errors] == [MALFORMED]
    assert LookupAttempt.objects.filter(cedula__cedula=MALFORMED).count() == 4  # the first try and 3 retries
    assert not LookupAttempt.objects.exclude(cause="").exists()
    assert Breaker.objects.get(pk=1).state == Breaker.State.CLOSED and not Breaker.objects.get(pk=1).probes


@pytest.mark.timeout(180)
def test_a_registry_that_blocks_us_opens_the_gate_and_the_rows_finish_when_it_stops(
    start_worker, registry_site_factory
):
    site = registry_site_factory()
    site.set_blocking(True)
    ids = queue(good_cedulas(6))
    start_worker(registry_url=site.url, **GATE)

    wait_until(lambda: gate_open_for("blocked"), timeout=90, message="the gate never opened")
    time.sleep(5)
    site.set_blocking(False)

    wait_until(lambda: all_settled(ids), timeout=120, message="the rows did not finish once the block ended")
    assert_every_row_right(ids)
    assert not CedulaInfo.objects.filter(pk__in=ids, status=Status.ERROR).exists()
