"""The second source through real Chromium and the stand-in: every outcome, both key cases, the captcha, the faults,
and the same answer as the census page for the same cedula (issue 22)."""

from __future__ import annotations

import dataclasses

import pytest

from cedula.registry.browser import BrowserConfig, BrowserRunner
from cedula.registry.failures import Cause
from cedula.registry.parser import RESULT_FIELDS, LookupReport
from cedula.registry.simulator import demo_cedulas, expected_outcome, outcome_for, start_simulator
from cedula.registry.simulator.outcomes import (
    BLOCKED,
    DROPPED,
    FLAKY,
    HANG,
    MALFORMED,
    SERVER_ERROR,
    SLOW,
    STALE_TOKEN,
)

pytestmark = pytest.mark.integration

DEMO = demo_cedulas()
ACTIVE = [c for c, o in DEMO.items() if o.status == "active"]
CANCELLED = next(c for c, o in DEMO.items() if o.status == "cancelled")
NOT_FOUND = next(c for c, o in DEMO.items() if o.status == "not_found")
# The stand-in spells every key in upper case for odd numbers, lower case for even ones: one of each.
ODD_ACTIVE = next(c for c in ACTIVE if int(c) % 2)
EVEN_ACTIVE = next(c for c in ACTIVE if not int(c) % 2)
CEDULAS = {
    "active_upper_keys": ODD_ACTIVE,
    "active_lower_keys": EVEN_ACTIVE,
    "cancelled": CANCELLED,
    "not_found": NOT_FOUND,
    "hashed": "52000000",
    "server_error": SERVER_ERROR,
    "malformed": MALFORMED,
    "slow": SLOW,
    "blocked": BLOCKED,
    "expired": STALE_TOKEN,
    "dropped": DROPPED,
}


def outcome_of(report: LookupReport) -> str:
    result = report.result
    return result.status if result.status != "error" else f"error:{result.error_kind}"


def fields_of(result) -> dict:
    return {name: getattr(result, name) for name in RESULT_FIELDS}


@pytest.fixture(scope="module")
def site():
    site = start_simulator(min_gap_s=0.0)
    yield site
    site.stop()


@pytest.fixture(scope="module")
def runner(site):
    config = BrowserConfig.from_settings(
        registry_url=site.url, consultacenso_url=site.consultacenso_url, answer_timeout_s=7.0, budget_s=30.0
    )
    runner = BrowserRunner(config)
    yield runner
    runner.close()


@pytest.mark.parametrize("cedula", list(CEDULAS.values()), ids=list(CEDULAS))
def test_every_outcome_through_consultacenso(site, runner, cedula):
    before = len(site.lookups(source="consultacenso"))
    report = runner.lookup(cedula, source="consultacenso")

    assert outcome_of(report) == expected_outcome(cedula), (report.result, report.html[:300])
    assert report.source == "consultacenso"
    assert len(site.lookups(source="consultacenso")) == before + 1  # it asked the second source, once
    if report.result.status in ("active", "cancelled"):
        expected = outcome_for(cedula)
        assert fields_of(report.result) == {name: getattr(expected, name) or None for name in RESULT_FIELDS}
    assert report.selector_fallbacks == ()
    assert cedula not in report.result.message


def test_a_hung_answer_is_a_timeout_and_the_flaky_cedula_recovers(site, runner):
    config = runner.client.config
    runner.client.config = dataclasses.replace(config, answer_timeout_s=1.0)
    try:
        assert outcome_of(runner.lookup(HANG, source="consultacenso")) == "error:timeout"
    finally:
        runner.client.config = config
    site.set_behaviours(site.behaviours)  # forgets the flaky cedula's first ask
    assert outcome_of(runner.lookup(FLAKY, source="consultacenso")) == "error:blocked"
    assert outcome_of(runner.lookup(FLAKY, source="consultacenso")) == "active"


def test_the_same_cedula_reads_the_same_on_both_sources(runner):
    cedulas = [*ACTIVE[:4], CANCELLED, NOT_FOUND, *(str(52_000_000 + n * 7919) for n in range(6))]
    for cedula in cedulas:
        wsp = runner.lookup(cedula, source="wsp").result
        census = runner.lookup(cedula, source="consultacenso").result
        assert (wsp.status, fields_of(wsp)) == (census.status, fields_of(census)), cedula


def test_a_changed_or_unreachable_source_reads_as_such_and_leaves_the_other_working(site, runner):
    site.set_source("wsp", "changed")
    try:
        changed = runner.lookup(ACTIVE[0], source="wsp")
        assert outcome_of(changed) == "error:unexpected_page"
        assert changed.result.cause == ""  # a page that changed shape is not an outage: the source switch decides
        assert outcome_of(runner.lookup(ACTIVE[0], source="consultacenso")) == "active"
    finally:
        site.set_source("wsp", "ok")
    site.set_source("consultacenso", "down")
    try:
        down = runner.probe_page("consultacenso")
        assert down is not None and down.cause == Cause.REGISTRY_DOWN
        assert runner.probe_page("wsp") is None
    finally:
        site.set_source("consultacenso", "ok")
    assert runner.probe_page("consultacenso") is None


def test_the_captcha_is_solved_and_sent_on_consultacenso():
    site = start_simulator(captcha=True, solve_delay_s=0.1)
    config = BrowserConfig.from_settings(
        registry_url=site.url,
        consultacenso_url=site.consultacenso_url,
        captcha_solver="2captcha",
        captcha_api_url=site.base_url,
        captcha_api_key=site.solver_key,
        captcha_first_poll_s=0.1,
        captcha_poll_s=0.1,
        budget_s=30.0,
    )
    runner = BrowserRunner(config)
    try:
        reports = [runner.lookup(cedula, source="consultacenso") for cedula in ACTIVE[:3]]
        assert [outcome_of(r) for r in reports] == ["active"] * 3
        assert sum(r.captcha.used for r in reports) == 3
        answers = [r["answer"] for r in site.lookups(source="consultacenso")]
        assert answers == ["active"] * 3  # every token the page saw was accepted: none reused, none missing
    finally:
        runner.close()
        site.stop()
