"""Every outcome through every page behaviour of the stand-in, one at a time and all together (real Chromium).

One stand-in and one browser for the module: the stand-in switches behaviour between groups (pytest runs the tests of
one behaviour together), and one throwaway lookup after each switch makes sure the page opened ahead of time (the
client's spares) was served with the new behaviour.
"""

from __future__ import annotations

import dataclasses

import pytest

from cedula.registry.browser import BrowserConfig, BrowserRunner
from cedula.registry.parser import LookupReport
from cedula.registry.simulator import Behaviours, demo_cedulas, expected_outcome, outcome_for, start_simulator
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
ACTIVE = next(c for c, o in DEMO.items() if o.status == "active")
CANCELLED = next(c for c, o in DEMO.items() if o.status == "cancelled")
NOT_FOUND = next(c for c, o in DEMO.items() if o.status == "not_found")

BEHAVIOURS = {
    "plain": Behaviours(),
    "placeholder": Behaviours(placeholder=True),
    "interstitial": Behaviours(interstitial=True),
    "form_delay": Behaviours(form_delay_s=Behaviours.REALISTIC_FORM_DELAY_S),
    "render_delay": Behaviours(render_delay_s=Behaviours.REALISTIC_RENDER_DELAY_S),
    "wrapped": Behaviours(wrapped=True),
    "renamed": Behaviours(renamed=True),
    "realistic": Behaviours.realistic(),
}
CEDULAS = {
    "active": ACTIVE,
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
# What the renamed page makes the client fall back on: the number input by its label, the select by its name, the
# button by its text, the answer area by its other id.
RENAMED_FALLBACKS = {"nuip:label", "tipo:name", "enviar:text"}


def outcome_of(report: LookupReport) -> str:
    result = report.result
    return result.status if result.status != "error" else f"error:{result.error_kind}"


@pytest.fixture(scope="module")
def site():
    site = start_simulator(min_gap_s=0.0)
    yield site
    site.stop()


@pytest.fixture(scope="module")
def runner(site):
    # The slow fault answers after ~4 s: the answer bound must be longer.
    runner = BrowserRunner(BrowserConfig.from_settings(registry_url=site.url, answer_timeout_s=7.0, budget_s=30.0))
    yield runner
    runner.close()


@pytest.fixture(scope="module", params=list(BEHAVIOURS), ids=list(BEHAVIOURS))
def behaviour(request, site, runner) -> Behaviours:
    chosen = BEHAVIOURS[request.param]
    site.set_behaviours(chosen)
    for _ in range(runner.config.prewarm_pages):  # uses up the pages opened ahead under the previous behaviour
        runner.lookup(ACTIVE)
    return chosen


@pytest.mark.parametrize("cedula", list(CEDULAS.values()), ids=list(CEDULAS))
def test_every_outcome_is_recorded_right_through_each_page_behaviour(behaviour, runner, cedula):
    report = runner.lookup(cedula)

    assert outcome_of(report) == expected_outcome(cedula), (report.result, report.html[:300])
    result = report.result
    if result.status in ("active", "cancelled"):
        expected = outcome_for(cedula)
        fields = ("departamento", "municipio", "puesto", "direccion", "mesa", "novedad", "resolucion", "fecha_novedad")
        assert {f: getattr(result, f) for f in fields} == {f: getattr(expected, f) or None for f in fields}
    if result.status != "error" or result.error_kind in ("unexpected_page", "expired"):
        # The JSON's answer, corroborated by the page once it had rendered: no note on the attempt.
        assert "[" not in result.message, result.message
    if behaviour.renamed:
        assert RENAMED_FALLBACKS <= set(report.selector_fallbacks)
    else:
        assert report.selector_fallbacks == ()
    assert cedula not in result.message


def test_a_hung_post_is_a_timeout_in_each_page_behaviour(behaviour, runner):
    config = runner.client.config
    runner.client.config = dataclasses.replace(config, answer_timeout_s=1.0)  # read per lookup: no need for 7 s here
    try:
        report = runner.lookup(HANG)
    finally:
        runner.client.config = config
    assert outcome_of(report) == "error:timeout"


def test_the_flaky_cedula_is_blocked_once_then_recovers_in_each_page_behaviour(behaviour, runner):
    assert outcome_of(runner.lookup(FLAKY)) == "error:blocked"
    assert outcome_of(runner.lookup(FLAKY)) == expected_outcome(FLAKY) == "active"
