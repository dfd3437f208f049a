"""What the client takes for the answer (real Chromium, real stand-in): the JSON of the page's own POST, corroborated
by the rendered answer area once it holds an answer, whatever the page shows in between."""

from __future__ import annotations

import dataclasses
import time

import pytest
from structlog.testing import capture_logs

from cedula.registry.browser import BrowserConfig, BrowserRunner
from cedula.registry.simulator import Behaviours, demo_cedulas, outcome_for, start_simulator
from cedula.registry.simulator.outcomes import EXPIRED_MESSAGE, render_answer

pytestmark = [pytest.mark.integration, pytest.mark.serial]  # render waits bounded in seconds

DEMO = demo_cedulas()
ACTIVE = next(c for c, o in DEMO.items() if o.status == "active")
CANCELLED = next(c for c, o in DEMO.items() if o.status == "cancelled")
NOT_FOUND = next(c for c, o in DEMO.items() if o.status == "not_found")
# A placeholder written before the POST and an answer rendered late: what a client reading the answer area as soon as
# the POST finished took for the answer (issue 12).
SLOW_PAINTER = Behaviours(placeholder=True, render_delay_s=0.4)


def outcome_of(report) -> str:
    result = report.result
    return result.status if result.status != "error" else f"error:{result.error_kind}"


@pytest.fixture(scope="module")
def site():
    site = start_simulator(min_gap_s=0.0)
    yield site
    site.stop()


@pytest.fixture(scope="module")
def runner(site):
    runner = BrowserRunner(BrowserConfig.from_settings(registry_url=site.url, answer_timeout_s=7.0, budget_s=30.0))
    yield runner
    runner.close()


@pytest.fixture
def behave(site, runner):
    """behave(Behaviours(...)): the stand-in behaves so from the next lookup on (the client's spare page included)."""

    def switch(behaviours: Behaviours) -> None:
        site.set_behaviours(behaviours)
        for _ in range(runner.config.prewarm_pages):  # uses up the pages opened ahead under the previous one
            runner.lookup(ACTIVE)

    yield switch
    site.set_behaviours(Behaviours())


@pytest.mark.parametrize("cedula", [ACTIVE, CANCELLED, NOT_FOUND], ids=["active", "cancelled", "not_found"])
def test_a_placeholder_still_showing_when_the_post_answers_is_never_taken_for_the_answer(behave, runner, cedula):
    # Fails against the client before issue 12 (git show 67e3ae8:cedula/registry/browser.py): it read "Consultando…"
    # from the answer area and recorded error/unexpected_page.
    behave(SLOW_PAINTER)

    report = runner.lookup(cedula)

    expected = outcome_for(cedula)
    assert report.result.status == expected.status, report.result
    assert (report.result.municipio, report.result.novedad) == (expected.municipio or None, expected.novedad or None)
    assert "Consultando" not in report.html


def test_the_answer_waits_for_the_page_to_render_it_and_keeps_what_was_rendered(behave, runner):
    behave(SLOW_PAINTER)

    started = time.monotonic()
    report = runner.lookup(ACTIVE)

    assert time.monotonic() - started >= SLOW_PAINTER.render_delay_s  # it did wait for the rendering
    assert report.result.status == "active"
    assert "<table" in report.html and "Consultando" not in report.html  # the rendered answer, for snapshots
    assert "[" not in report.result.message  # corroborated: no note


def test_when_the_page_shows_another_answer_than_its_json_the_json_wins_and_the_attempt_says_so(behave, runner):
    # The page's script renders "not found" while the JSON says the person votes at a puesto.
    behave(Behaviours(dom_message=render_answer(NOT_FOUND, outcome_for(NOT_FOUND))))

    with capture_logs() as logs:
        report = runner.lookup(ACTIVE)

    assert report.result.status == "active"
    assert report.result.municipio == outcome_for(ACTIVE).municipio
    assert "la página mostró otra respuesta (not_found); vale la del JSON" in report.result.message
    mismatch = [e for e in logs if e["event"] == "registry_answer_mismatch"]
    assert mismatch == [
        {
            "event": "registry_answer_mismatch",
            "log_level": "warning",
            "cedula": "***" + ACTIVE[-4:],
            "json_answer": "active",
            "dom_answer": "not_found",
            "recorded": "active",
        }
    ]


def test_a_page_that_never_renders_the_answer_leaves_the_json_answer_noted_as_not_corroborated(behave, runner):
    behave(Behaviours(placeholder=True, render_delay_s=10.0))
    config = runner.client.config
    runner.client.config = dataclasses.replace(config, render_wait_s=1.0)
    try:
        with capture_logs() as logs:
            started = time.monotonic()
            report = runner.lookup(CANCELLED)
            elapsed = time.monotonic() - started
    finally:
        runner.client.config = config

    assert report.result.status == "cancelled"
    assert "la página no mostró la respuesta a tiempo" in report.result.message
    assert 1.0 <= elapsed < 5.0  # bounded by render_wait_s, not by the page
    assert any(e["event"] == "registry_answer_unconfirmed" and e["reason"] == "not_rendered" for e in logs)


def test_the_expired_answer_is_read_from_the_json_even_as_the_page_reloads_itself(behave, runner):
    behave(Behaviours.realistic())

    report = runner.lookup("1000000006")

    assert outcome_of(report) == "error:expired"
    assert EXPIRED_MESSAGE in report.html


def test_renamed_elements_are_found_by_their_fallbacks_and_each_fallback_is_logged(behave, runner):
    behave(Behaviours(renamed=True))

    with capture_logs() as logs:
        report = runner.lookup(ACTIVE)

    assert report.result.status == "active"
    assert report.selector_fallbacks == ("nuip:label", "tipo:name", "enviar:text", "success:alt-id")
    fallbacks = [(e["element"], e["way"]) for e in logs if e["event"] == "registry_selector_fallback"]
    assert fallbacks == [("nuip", "label"), ("tipo", "name"), ("enviar", "text"), ("success", "alt-id")]
    assert all(e["cedula"] == "***" + ACTIVE[-4:] for e in logs if e["event"] == "registry_selector_fallback")


def test_the_plain_page_needs_no_fallback(behave, runner):
    behave(Behaviours())

    with capture_logs() as logs:
        report = runner.lookup(ACTIVE)

    assert report.selector_fallbacks == ()
    assert not [e for e in logs if e["event"] == "registry_selector_fallback"]


def test_a_page_without_the_form_is_an_unexpected_page_with_its_html_never_a_timeout(site):
    # The stand-in's 404 page: a 200-ish page that is simply not the form.
    runner = BrowserRunner(
        BrowserConfig.from_settings(registry_url=site.base_url + "/otra/", form_timeout_s=1.0, budget_s=20.0)
    )
    try:
        started = time.monotonic()
        report = runner.lookup(ACTIVE)
        elapsed = time.monotonic() - started
    finally:
        runner.close()

    assert outcome_of(report) == "error:unexpected_page"
    assert "formulario" in report.result.message
    assert "Not Found" in report.html  # what the page held, for the redacted snapshot
    assert elapsed < 10.0


def test_a_block_page_where_the_form_belongs_is_blocked(site):
    runner = BrowserRunner(BrowserConfig.from_settings(registry_url=site.url, stealth=False, budget_s=20.0))
    try:
        report = runner.lookup(ACTIVE)
    finally:
        runner.close()
    assert outcome_of(report) == "error:blocked"


def test_a_spare_page_older_than_its_limit_is_replaced_by_a_fresh_one(site, monkeypatch):
    # One page opened ahead, so the count of page loads tells a used spare (1 new load: the next spare) from a
    # discarded one (2: this lookup's own page, then the next spare).
    own = BrowserRunner(BrowserConfig.from_settings(registry_url=site.url, answer_timeout_s=7.0, prewarm_pages=1))
    try:
        own.lookup(ACTIVE)  # a spare is now open

        def loads() -> list[dict]:
            return [r for r in site.requests if r["method"] == "GET" and r["path"] == "/censo/consultar/"]

        before = len(loads())
        monkeypatch.setattr(own.client, "config", dataclasses.replace(own.client.config, page_max_age_s=0.0))

        report = own.lookup(CANCELLED)

        deadline = time.monotonic() + 10
        while len(loads()) - before < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the next spare opens in the background
        assert report.result.status == "cancelled"
        assert len(loads()) - before == 2
    finally:
        own.close()
